"""`faceorg review list|answer` and `people accept-suggestions` on a scanned folder of real faces (the real
models on LFW photos): one person left in two groups is asked about, different people are not, and the
answers (yes, no, skip) change the library, last through a full regrouping and undo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from faceorg.cli.main import main
from faceorg.store import open_library
from faceorg.store.models import Assignment, AssignmentSource, Person

PEOPLE = {"Colin_Powell": 8, "Tony_Blair": 6, "Donald_Rumsfeld": 6}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def owners(db: Path) -> dict[int, int]:
    with open_library(db) as lib, lib.session() as s:
        return {f: p for f, p in s.execute(select(Assignment.face_id, Assignment.person_id))}


@pytest.fixture(scope="module")
def scanned(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("review-cli")
    photos = root / "photos"
    photos.mkdir()
    for person, n in PEOPLE.items():
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:n]:
            shutil.copy(src, photos / src.name)
    db = root / "lib.sqlite"
    assert main(["--db", str(db), "scan", str(photos)]) == 0
    return db


@pytest.fixture()
def db(scanned: Path, tmp_path: Path) -> Path:
    """A private copy of the scanned library where the biggest group was left in two pieces."""
    target = tmp_path / "lib.sqlite"
    shutil.copy(scanned, target)
    with open_library(target) as lib, lib.transaction() as s:
        rows = s.execute(select(Assignment.person_id, Assignment.face_id).order_by(Assignment.face_id)).all()
        by_person: dict[int, list[int]] = {}
        for p, f in rows:
            by_person.setdefault(p, []).append(f)
        biggest = max(by_person.values(), key=len)
        assert len(biggest) >= 6
        piece = Person()
        s.add(piece)
        s.flush()
        s.execute(update(Assignment).where(Assignment.face_id.in_(biggest[len(biggest) // 2:]))
                  .values(person_id=piece.id, source=AssignmentSource.AUTO))
    return target


def test_review_list_answer_no_then_regroup_undo_and_yes(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    args = ["--db", str(db)]
    before = owners(db)
    questions = json.loads(run(capsys, *args, "review", "list", "--json"))
    assert isinstance(questions, list)
    same = [q for q in questions if q["kind"] == "same_person"]
    assert same, questions
    top = same[0]
    assert {"id", "kind", "text", "score", "people", "face_ids", "pairs", "distance", "skipped"} <= top.keys()
    a, b = top["person_ids"]
    # the two pieces of one person are the surest question; no question joins two different people
    faces_a = {f for f, p in before.items() if p == a}
    assert top["score"] > 0.5 and len(faces_a) >= 3 and top["face_ids"][0] in faces_a
    assert all(q["score"] < top["score"] for q in same[1:])
    table = run(capsys, *args, "review", "list")
    assert top["id"] in table and "same_person" in table

    change = json.loads(run(capsys, *args, "review", "answer", top["id"], "no", "--json"))
    assert change["operation_id"] is not None and change["questions_changed"] == [top["id"]]
    assert top["id"] not in run(capsys, *args, "review", "list")
    run(capsys, *args, "cluster", "--full")
    own = owners(db)
    assert not ({own.get(f) for f in faces_a} & {own.get(f) for f, p in before.items() if p == b} - {None})
    assert all(q["id"] != top["id"] and set(q.get("person_ids", [])) != {own.get(top["pairs"][0][0]),
                                                                           own.get(top["pairs"][0][1])}
               for q in json.loads(run(capsys, *args, "review", "list", "--json")) if q["kind"] == "same_person")


def test_review_answer_yes_merges_and_skip_moves_last(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    args = ["--db", str(db)]
    questions = json.loads(run(capsys, *args, "review", "list", "--json"))
    top = next(q for q in questions if q["kind"] == "same_person")
    assert run(capsys, *args, "review", "answer", top["id"], "skip").startswith("Skip question")
    after = json.loads(run(capsys, *args, "review", "list", "--json"))
    assert after[-1]["id"] == top["id"] and after[-1]["skipped"]
    out = run(capsys, *args, "review", "answer", top["id"], "yes")
    assert out.startswith("Same person")
    own = owners(db)
    assert own[top["pairs"][0][0]] == own[top["pairs"][0][1]]
    undone = json.loads(run(capsys, *args, "undo", "--json"))
    assert undone["label"].startswith("Undo Same person")
    assert undone["questions_changed"] == [top["id"]]  # the question open again (the app shows it)
    assert top["id"] in [q["id"] for q in json.loads(run(capsys, *args, "review", "list", "--json"))]
    own = owners(db)
    assert own[top["pairs"][0][0]] != own[top["pairs"][0][1]]
    code = main([*args, "review", "answer", "same-999999-999998", "yes"])
    assert code == 1 and "faceorg: error: no open question" in capsys.readouterr().err


def test_people_accept_suggestions(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    args = ["--db", str(db)]
    people = json.loads(run(capsys, *args, "people", "list", "--json"))
    group = max(people, key=lambda p: p["face_count"])
    run(capsys, *args, "people", "name", str(group["id"]), "Someone")
    with open_library(db) as lib, lib.transaction() as s:  # faces still waiting for the user
        s.execute(update(Assignment).where(Assignment.person_id == group["id"])
                  .values(source=AssignmentSource.SUGGESTED, distance=0.3))
    questions = json.loads(run(capsys, *args, "review", "list", "--json", "--kind", "group_suggestion"))
    assert [q["person_ids"] for q in questions] == [[group["id"]]]
    change = json.loads(run(capsys, *args, "people", "accept-suggestions", str(group["id"]), "--json"))
    assert len(change["faces_changed"]) == group["face_count"]
    faces = json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))
    assert {f["source"] for f in faces} == {"user"}
    assert json.loads(run(capsys, *args, "review", "list", "--json", "--kind", "group_suggestion")) == []
    code = main([*args, "people", "accept-suggestions", str(group["id"])])
    assert code == 1 and "no faces waiting" in capsys.readouterr().err


def test_faces_accept_all_suggestions_across_people(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    """Every face suggested to a named person, across people, listed by person and accepted in one undoable
    action after the wrong ones were turned down; automatic faces and other faces are left as they were."""
    args = ["--db", str(db)]
    people = sorted(json.loads(run(capsys, *args, "people", "list", "--json")), key=lambda p: -p["face_count"])
    first, second = people[0], people[1]
    run(capsys, *args, "people", "name", str(first["id"]), "Zoe")
    run(capsys, *args, "people", "name", str(second["id"]), "Adam")
    with open_library(db) as lib, lib.transaction() as s:  # two people's faces waiting, Zoe's first one automatic
        for p in (first["id"], second["id"]):
            faces = sorted(s.scalars(select(Assignment.face_id).where(Assignment.person_id == p)))
            s.execute(update(Assignment).where(Assignment.face_id.in_(faces[1:]))
                      .values(source=AssignmentSource.SUGGESTED, distance=0.3))
    waiting = json.loads(run(capsys, *args, "faces", "list", "--suggested", "--json"))
    assert [f["person_name"] for f in waiting] == sorted(f["person_name"] for f in waiting)  # Adam's, then Zoe's
    assert {f["person_name"] for f in waiting} == {"Adam", "Zoe"} and {f["source"] for f in waiting} == {"suggested"}
    assert len(waiting) == first["face_count"] + second["face_count"] - 2
    unconfirmed = json.loads(run(capsys, *args, "faces", "list", "--unconfirmed", "--json"))
    assert {f["id"] for f in unconfirmed} > {f["id"] for f in waiting} and all(f["doubt"] for f in unconfirmed)
    assert len(unconfirmed) == len(waiting) + 2  # and each person's automatic face
    assert [f["doubt"] for f in unconfirmed] == sorted((f["doubt"] for f in unconfirmed), reverse=True)
    wrong, kept = waiting[0]["id"], waiting[-1]["id"]
    run(capsys, *args, "faces", "reject", str(wrong))
    change = json.loads(run(capsys, *args, "faces", "accept-all", "--except", str(kept), "--json"))
    assert change["label"] == f"Accept {len(waiting) - 2} suggested faces"
    assert set(change["faces_changed"]) == {f["id"] for f in waiting} - {wrong, kept}
    assert [f["id"] for f in json.loads(run(capsys, *args, "faces", "list", "--suggested", "--json"))] == [kept]
    sources = {f["id"]: f["source"] for p in (first, second)
               for f in json.loads(run(capsys, *args, "faces", "list", "--person", str(p["id"]), "--json"))}
    assert list(sources.values()).count("auto") == 2 and sources[kept] == "suggested" and wrong not in sources
    undone = json.loads(run(capsys, *args, "undo", "--json"))
    assert undone["label"] == f"Undo Accept {len(waiting) - 2} suggested faces"
    assert len(json.loads(run(capsys, *args, "faces", "list", "--suggested", "--json"))) == len(waiting) - 1
    run(capsys, *args, "faces", "accept-all")
    assert json.loads(run(capsys, *args, "faces", "list", "--suggested", "--json")) == []
    code = main([*args, "faces", "accept-all"])
    assert code == 1 and "no suggested faces are waiting" in capsys.readouterr().err
    change = json.loads(run(capsys, *args, "faces", "confirm-all", "--json"))  # each person's automatic face
    assert len(change["faces_changed"]) == 2 and change["label"] == "Confirm 2 faces"
    assert json.loads(run(capsys, *args, "faces", "list", "--unconfirmed", "--json")) == []
    code = main([*args, "faces", "confirm-all"])
    assert code == 1 and "confirmed already" in capsys.readouterr().err


def test_review_unsorted_batch_one_by_one_then_yes(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    """Real faces: a named person's faces left in no group are offered to them as one batch (`--kind
    unsorted_batch`); one-by-one makes them suggestions, undo takes that back, yes gives them all at once."""
    from sqlalchemy import delete

    args = ["--db", str(db)]
    people = json.loads(run(capsys, *args, "people", "list", "--json"))
    group = max(people, key=lambda p: p["face_count"])
    run(capsys, *args, "people", "name", str(group["id"]), "Someone")
    faces = [f["id"] for f in json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))]
    loose = faces[-2:]
    with open_library(db) as lib, lib.transaction() as s:
        s.execute(delete(Assignment).where(Assignment.face_id.in_(loose)))
    batches = json.loads(run(capsys, *args, "review", "list", "--json", "--kind", "unsorted_batch"))
    [q] = [q for q in batches if q["person_ids"] == [group["id"]]]
    assert set(loose) <= set(q["face_ids"]) and "may be Someone" in q["text"]
    out = run(capsys, *args, "review", "answer", q["id"], "one-by-one")
    assert out.startswith("Suggest ")
    listed = json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))
    assert {f["source"] for f in listed if f["id"] in loose} == {"suggested"}
    assert run(capsys, *args, "undo").startswith("Undo Suggest")
    change = json.loads(run(capsys, *args, "review", "answer", q["id"], "yes", "--json"))
    assert set(loose) <= set(change["faces_changed"])
    listed = json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))
    assert {f["source"] for f in listed if f["id"] in loose} == {"user"}
