"""Odd faces: a group's few faces that look like none of the rest are offered to take out in one answer
("yes": unsorted, never that person again; "no": the group stays), never the user's own faces, with undo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.prompts import (
    ODD_LOW_QUALITY,
    ODD_MARGIN,
    ODD_MIN,
    list_questions,
    odd_faces,
)
from faceorg.people.review_answers import answer
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, FaceNotPerson, Person, PromptAnswer
from faceorg.vectors import distance_from_similarity
from tests.libgen import decisions_snapshot, make_library

DIM = 128


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def group_with_stranger(rng: np.random.Generator, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces of one person (about 0.2 apart) and a stranger who is near one of them (so the group
    does not split in two: its nearest face is close) but far from the rest."""
    centre = unit(rng.normal(size=DIM))
    faces = unit(centre + rng.normal(scale=0.2 / np.sqrt(DIM), size=(n, DIM)))
    away = rng.normal(size=DIM)
    away = unit(away - (away @ faces[0]) * faces[0])
    return faces, unit(faces[0] + 0.345 * away)


def odd_questions(lib: Library):  # type: ignore[no-untyped-def]
    return [q for q in list_questions(lib) if q.kind == "odd_faces"]


def owners(lib: Library) -> dict[int, int]:
    with lib.session() as s:
        return {f: p for f, p in s.execute(select(Assignment.face_id, Assignment.person_id))}


def test_odd_faces_finds_the_stranger_and_leaves_a_tight_or_split_group_alone() -> None:
    rng = np.random.default_rng(0)
    faces, stranger = group_with_stranger(rng)
    d = distance_from_similarity(faces @ stranger)
    assert d.min() < 0.36 < ODD_MIN < float(np.median(d))  # near one face, far from the rest
    rows, med = odd_faces(np.vstack([faces, stranger]), ODD_MIN, ODD_MARGIN)
    assert rows.tolist() == [8] and med[8] >= ODD_MIN
    assert odd_faces(faces, ODD_MIN, ODD_MARGIN)[0].tolist() == []  # one person: nothing odd
    assert odd_faces(np.vstack([faces[:2], stranger]), ODD_MIN, ODD_MARGIN)[0].tolist() == []  # no "rest"
    others = unit(rng.normal(size=(5, DIM)))  # 5 of 13 odd: more than a third, not a few odd faces
    assert odd_faces(np.vstack([faces, others]), ODD_MIN, ODD_MARGIN)[0].tolist() == []


@pytest.fixture()
def ann_with_stranger(tmp_path: Path, db_location: Path | str):  # type: ignore[no-untyped-def]
    """Ann's 8 faces (named, looked at) and a stranger grouped with her automatically."""
    rng = np.random.default_rng(3)
    faces, stranger = group_with_stranger(rng)
    lib, ids = make_library(db_location, [[v] for v in [*faces, stranger]])
    flat = [f[0] for f in ids]
    with lib.transaction() as s:  # grouped automatically, the stranger with them (the grouping's mistake)
        person = Person()
        s.add(person)
        s.flush()
        ann = person.id
        s.add_all([Assignment(face_id=f, person_id=ann, source=AssignmentSource.AUTO) for f in flat])
    ops.name_person(lib, ann, "Ann", confirm=flat[:8])
    yield lib, flat, ann
    lib.close()


def test_odd_face_yes_takes_it_out_for_good_and_undo_puts_it_back(ann_with_stranger) -> None:  # type: ignore[no-untyped-def]
    lib, faces, ann = ann_with_stranger
    assert not [q for q in list_questions(lib) if q.kind == "split"]  # its nearest face is close: no split
    [q] = odd_questions(lib)
    assert q.face_ids == (faces[8],) and q.person_ids == (ann,) and q.person_names == ("Ann",)
    assert q.text == "1 of the 9 faces of Ann does not look like the others. Take it out?"
    assert q.id == f"odd-{faces[8]}" and q.score > 0.5
    before = decisions_snapshot(lib)
    changes = answer(lib, q.id, "yes")  # one action
    assert faces[8] in changes.faces_changed
    assert faces[8] not in owners(lib)
    with lib.session() as s:
        assert s.get(FaceNotPerson, (faces[8], ann)) is not None
        assert s.get(PromptAnswer, q.id).answer == "yes"
    assert odd_questions(lib) == []
    recluster(lib, full=True)
    assert owners(lib).get(faces[8]) != ann  # the grouping never gives it back to Ann
    assert odd_questions(lib) == []
    ops.undo(lib)  # the answer (regrouping is not an undo step)
    assert decisions_snapshot(lib) == before
    assert [x.id for x in odd_questions(lib)] == [q.id]


def test_odd_face_no_keeps_the_group_and_is_never_asked_again(ann_with_stranger) -> None:  # type: ignore[no-untyped-def]
    lib, faces, ann = ann_with_stranger
    [q] = odd_questions(lib)
    before = decisions_snapshot(lib)
    answer(lib, q.id, "no")
    assert decisions_snapshot(lib) == before and owners(lib)[faces[8]] == ann
    assert odd_questions(lib) == []
    ops.undo(lib)
    assert [x.id for x in odd_questions(lib)] == [q.id]
    answer(lib, q.id, "no")
    recluster(lib, full=True)
    assert odd_questions(lib) == []


def test_a_face_the_user_placed_is_never_called_odd(ann_with_stranger) -> None:  # type: ignore[no-untyped-def]
    lib, faces, ann = ann_with_stranger
    ops.confirm_faces(lib, [faces[8]])
    assert odd_questions(lib) == []
    with lib.session() as s:
        assert s.get(Person, ann).name == "Ann"


def test_cli_lists_and_answers_odd_faces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from faceorg.cli.main import main

    db = tmp_path / "lib.sqlite"
    gen = ann_with_stranger.__wrapped__(tmp_path, db)  # type: ignore[attr-defined]
    lib, faces, ann = next(gen)
    lib.close()
    args = ["--db", str(db)]
    assert main([*args, "review", "list", "--kind", "odd_faces", "--json"]) == 0
    [q] = json.loads(capsys.readouterr().out)
    assert q["kind"] == "odd_faces" and q["face_ids"] == [faces[8]] and q["person_ids"] == [ann]
    assert main([*args, "review", "answer", q["id"], "yes", "--json"]) == 0
    change = json.loads(capsys.readouterr().out)
    assert faces[8] in change["faces_changed"]
    assert main([*args, "review", "list", "--kind", "odd_faces", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*args, "undo"]) == 0
    capsys.readouterr()
    assert main([*args, "review", "list", "--kind", "odd_faces", "--json"]) == 0
    assert [x["id"] for x in json.loads(capsys.readouterr().out)] == [q["id"]]


def toward(rng: np.random.Generator, v: np.ndarray, d: float) -> np.ndarray:
    """A unit vector about ``d`` from ``v`` in a random direction."""
    away = rng.normal(size=DIM)
    return unit(v + d * unit(away - (away @ v) * v))


def medians(group: np.ndarray) -> np.ndarray:
    """Each face's median distance to the group's other faces."""
    d = distance_from_similarity(group @ group.T)
    np.fill_diagonal(d, np.nan)
    return np.nanmedian(d, axis=1)


def library_of(path: Path | str, groups: dict[str, list[np.ndarray]], unsorted: list[np.ndarray],
               qualities: dict[int, float] | None = None) -> tuple[Library, dict[str, int], list[int]]:
    """A library of one face per photo: each group's faces grouped automatically (named after its key), then
    the unsorted faces; ``qualities``: stored quality by position in that order (0.5 otherwise)."""
    vectors = [v for faces in groups.values() for v in faces] + unsorted
    q = qualities or {}
    lib, ids = make_library(path, [[v] for v in vectors], qualities=[[q.get(i, 0.5)] for i in range(len(vectors))])
    flat = [f[0] for f in ids]
    people: dict[str, int] = {}
    start = 0
    with lib.transaction() as s:
        for name, faces in groups.items():
            person = Person(name=name)
            s.add(person)
            s.flush()
            people[name] = person.id
            s.add_all([Assignment(face_id=f, person_id=person.id, source=AssignmentSource.AUTO)
                       for f in flat[start:start + len(faces)]])
            start += len(faces)
    return lib, people, flat


def test_a_face_whose_look_alikes_are_in_its_group_is_not_odd(tmp_path: Path) -> None:
    """Ann's own unusual face (a profile, a squint: far from most of her faces, but nearer to hers than to
    anyone else's) is not offered to take out; a stranger grouped with her, whose look-alikes (his other
    photos) are elsewhere in the library, is. Before: both were, the user's own face first."""
    rng = np.random.default_rng(0)
    faces, stranger = group_with_stranger(rng)
    own = toward(rng, unit(faces[0] + faces[1]), 0.38)
    his = [toward(rng, stranger, 0.25) for _ in range(3)]  # the stranger's other photos, unsorted
    bob_centre = unit(rng.normal(size=DIM))
    bob = [toward(rng, bob_centre, 0.2) for _ in range(6)]
    group = np.vstack([faces, stranger, own])
    med = medians(group)
    assert min(med[8], med[9]) >= 0.40 and min(med[8], med[9]) - np.median(med) >= ODD_MARGIN  # both look odd
    assert odd_faces(group, ODD_MIN, ODD_MARGIN)[0].tolist() == [8, 9] or \
        odd_faces(group, ODD_MIN, ODD_MARGIN)[0].tolist() == [9, 8]
    lib, people, flat = library_of(tmp_path / "lib.sqlite", {"Ann": list(group), "Bob": bob}, his)
    try:
        assert not [q for q in list_questions(lib) if q.kind == "split"]
        [q] = odd_questions(lib)
        assert q.face_ids == (flat[8],) and q.person_ids == (people["Ann"],)
        assert q.text == "1 of the 10 faces of Ann does not look like the others. Take it out?"
    finally:
        lib.close()


@pytest.mark.parametrize("quality", [0.3, 0.9])
def test_a_poor_chip_needs_to_be_farther_to_look_odd(tmp_path: Path, quality: float) -> None:
    """A small or blurred chip (stored quality below 0.5) is far from its own person's faces anyway: at a
    median distance to its group where a sharp face looks odd (0.40-0.42), it does not. Before: the same
    question whatever the chip's quality."""
    rng = np.random.default_rng(1)
    faces, _ = group_with_stranger(rng)
    face = toward(rng, faces[0], 0.35)
    alike = [toward(rng, face, 0.25) for _ in range(3)]  # poor chips of others look alike: near it elsewhere
    group = np.vstack([faces, face])
    med = medians(group)
    assert 0.40 <= med[8] < 0.42 and med[8] - np.median(med) >= 0.06  # odd for a sharp chip
    lib, people, flat = library_of(tmp_path / "lib.sqlite", {"Ann": list(group)}, alike, {8: quality})
    try:
        asked = [q.face_ids for q in odd_questions(lib)]
        assert asked == ([] if quality < ODD_LOW_QUALITY else [(flat[8],)])
    finally:
        lib.close()
