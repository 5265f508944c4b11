"""The effort benchmark's own logic: what counts as done, what each step costs, what each oracle plans,
and (with the real models and LFW photos) that the oracles finish a real library through faceorg.people.ops."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from effort.measure import Cost, Tally, per_100, step_cost
from effort.oracle import (
    AVAILABLE,
    Features,
    Oracle,
    Step,
    plan_cost,
    plan_group,
    plan_named,
    plan_unsorted,
    review_answer,
)
from effort.truth import FaceState, people_to_sort, unfinished

# A tiny hand-made world: Ann has faces 1-4, Bob 5-7, Cy only face 8 (a stranger), 9-12 are unknown faces.
TRUTH: dict[int, str | None] = {1: "Ann", 2: "Ann", 3: "Ann", 4: "Ann", 5: "Bob", 6: "Bob", 7: "Bob", 8: "Cy",
                                9: None, 10: None, 11: None, 12: None}
TO_SORT = people_to_sort(TRUTH)


def test_people_to_sort_are_identities_with_two_or_more_faces() -> None:
    assert {"Ann", "Bob"} == TO_SORT


def test_goal_wants_people_with_their_named_person_and_strangers_out_of_groups() -> None:
    ann, unnamed, unnamed_alone = (10, "Ann"), (20, None), (21, None)
    state = {
        1: FaceState(1, "normal", *ann, "user"),
        2: FaceState(2, "normal", *ann, "auto"),         # automatic, with the right person: done
        3: FaceState(3, "normal", *ann, "suggested"),    # a pending suggestion: not yet
        4: FaceState(4, "normal", *unnamed, "auto"),     # Ann's face in an unnamed group: not yet
        5: FaceState(5, "normal", *ann, "user"),         # Bob confirmed as Ann: wrong
        6: FaceState(6),                                  # Bob's face unsorted: not yet
        7: FaceState(7, "ignored"),                       # Bob's face ignored: not yet
        8: FaceState(8, "normal", *unnamed, "auto"),     # a stranger in a group of two: not yet
        9: FaceState(9, "normal", *unnamed_alone, "auto"),  # a stranger alone in a group: fine
        10: FaceState(10, "ignored"),                     # ignored stranger: fine
        11: FaceState(11),                                # unsorted stranger: fine
        12: FaceState(12, "normal", *ann, "suggested"),  # a stranger suggested for Ann: wrong
    }
    assert unfinished(state, TRUTH) == [3, 4, 5, 6, 7, 8, 12]


def test_each_part_is_counted_per_decision_pick_and_selection_action() -> None:
    assert step_cost("name", 9) == Cost(decisions=1)
    assert step_cost("review_accept", 1) == Cost(decisions=1)
    assert step_cost("ignore_group", 7) == Cost(decisions=1)
    assert step_cost("move", 3) == Cost(face_picks=3, selection_actions=1)
    assert step_cost("reject", 2).total == 3
    assert step_cost("regroup", 0) == Cost(regroups=1)
    with pytest.raises(ValueError):
        step_cost("telepathy", 1)
    tally = Tally()
    tally.add("move", 3, "groups")
    tally.add("name", 5, "groups")
    tally.add("review_reject", 1, "sweep")
    d = tally.as_dict(faces=200, ideal=2)
    assert d["actions"] == 6 and d["actions_per_100_faces"] == 3.0
    assert d["parts"] == {"decisions": 2, "face_picks": 3, "selection_actions": 1, "regroups": 0}
    assert d["by_pass"] == {"groups": 5, "sweep": 1}
    assert d["ideal_per_100_faces"] == 1.0
    assert per_100(1, 0) == 0.0


def test_careful_cleans_a_group_before_naming_it() -> None:
    steps = plan_group(20, [1, 2, 3, 5, 9], TRUTH, TO_SORT, "careful")
    assert steps == [Step("move", (5,), "Bob"), Step("ignore", (9,)), Step("name", (1, 2, 3), "Ann", 20)]
    assert plan_cost(steps) == 5  # 2 picks, 2 selection actions, 1 decision


def test_careful_takes_the_few_known_faces_out_of_a_group_of_strangers() -> None:
    steps = plan_group(20, [1, 8, 9, 10, 11], TRUTH, TO_SORT, "careful")
    # naming it Ann would need 4 picks + ignore + name = 6; taking Ann out and ignoring the rest is 3
    assert steps == [Step("move", (1,), "Ann"), Step("ignore_group", (8, 9, 10, 11))]
    assert plan_group(21, [9, 10], TRUTH, TO_SORT, "careful") == [Step("ignore_group", (9, 10))]
    assert plan_group(22, [9], TRUTH, TO_SORT, "careful") == []  # alone: nothing to do


def test_hurried_names_by_the_main_person_without_cleaning() -> None:
    assert plan_group(20, [1, 2, 5, 9], TRUTH, TO_SORT, "hurried") == [Step("name", (1, 2, 5, 9), "Ann", 20)]
    assert plan_group(21, [1, 9, 10], TRUTH, TO_SORT, "hurried") == []  # mostly strangers: left for later
    assert plan_group(22, [8, 9, 10], TRUTH, TO_SORT, "hurried") == [Step("ignore_group", (8, 9, 10))]


def test_a_named_persons_wrong_faces_are_moved_or_rejected_and_suggestions_answered_in_review() -> None:
    faces = [FaceState(1, "normal", 10, "Ann", "user"), FaceState(5, "normal", 10, "Ann", "user"),
             FaceState(6, "normal", 10, "Ann", "auto"), FaceState(9, "normal", 10, "Ann", "auto"),
             FaceState(2, "normal", 10, "Ann", "suggested"), FaceState(12, "normal", 10, "Ann", "suggested")]
    assert plan_named(10, "Ann", faces, TRUTH, TO_SORT) == [Step("move", (5, 6), "Bob"),
                                                             Step("reject", (9,), person_id=10)]
    assert review_answer(2, "Ann", TRUTH).kind == "review_accept"
    assert review_answer(12, "Ann", TRUTH).kind == "review_reject"


def test_unsorted_faces_are_named_per_person_most_first_and_strangers_left() -> None:
    assert plan_unsorted([9, 5, 1, 6, 11, 8], TRUTH, TO_SORT) == [Step("move", (5, 6), "Bob"),
                                                                  Step("move", (1,), "Ann")]


def test_features_switch_only_what_exists() -> None:
    with pytest.raises(ValueError):
        Features(frozenset({"mind_reading"}))
    everything = Features(frozenset({"prompts", "learning"}))
    assert everything.effective == frozenset({"prompts", "learning"}) & AVAILABLE
    assert not Features.baseline().uses("prompts")
    assert Features.now().effective == AVAILABLE


# -- the oracles on a real library ------------------------------------------------------------------
PEOPLE = {"Tony_Blair": 5, "Colin_Powell": 5, "Serena_Williams": 4}
STRANGERS = ["Aaron_Eckhart", "Abdullah_Gul", "Adam_Sandler"]


@pytest.fixture(scope="module")
def scanned_library(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    from faceorg.people.clustering import recluster
    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.store import open_library
    from faceorg.store.folders import add_folder
    from tests.conftest import INSTALLED_MODELS

    images = shared_data / "lfw" / "images"
    if not images.is_dir():
        pytest.skip(f"LFW photos not found under {images}")
    root = tmp_path_factory.mktemp("effort")
    photos = root / "photos"
    for person, n in {**PEOPLE, **{s: 1 for s in STRANGERS}}.items():
        (photos / person).mkdir(parents=True)
        for p in sorted((images / person).glob("*.jpg"))[:n]:
            shutil.copyfile(p, photos / person / p.name)
    db = root / "library.sqlite"
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test data folder is not set up yet
        mp.setenv("FACEORG_MODELS_DIR", str(INSTALLED_MODELS))
        mp.setenv("FACEORG_DATA_DIR", str(root / "data"))
        with open_library(db) as library:
            add_folder(library, photos)
            scan_library(library, analyzer=analyzer_for_library(library), workers=1)
            recluster(library)
    return db


def _mess_up(library, truth: dict[int, str | None]) -> None:  # type: ignore[no-untyped-def]
    """Make the grouping harder through the app: Tony Blair split over two groups, a stranger's face in
    Colin Powell's group."""
    from effort.truth import snapshot
    from faceorg.people import ops

    state = snapshot(library)
    blair = sorted(f for f, t in truth.items() if t == "Tony_Blair")
    powell = sorted(f for f, t in truth.items() if t == "Colin_Powell")
    stranger = min(f for f, t in truth.items() if t in STRANGERS)
    ops.split_faces(library, blair[:2])
    powell_group = state[powell[0]].person_id
    assert powell_group is not None
    ops.move_faces(library, [stranger], powell_group)


@pytest.mark.parametrize("style", ["careful", "hurried"])
def test_oracle_finishes_a_real_library_through_the_apps_operations(
        scanned_library: Path, models_dir: Path, tmp_path: Path, style: str) -> None:
    from sqlalchemy import func, select

    from effort.truth import face_truth, snapshot
    from faceorg.store import open_library
    from faceorg.store.backups import copy_database
    from faceorg.store.models import Operation

    db = tmp_path / "copy.sqlite"
    copy_database(scanned_library, db)
    with open_library(db) as library:
        truth = face_truth(library)
        assert people_to_sort(truth) == set(PEOPLE)
        _mess_up(library, truth)
        assert unfinished(snapshot(library), truth), "no named people yet: work is left"
        with library.session() as s:
            before = s.scalar(select(func.count()).select_from(Operation))
        result = Oracle(library, truth, style).run()  # type: ignore[arg-type]
        state = snapshot(library)
        with library.session() as s:
            operations = s.scalar(select(func.count()).select_from(Operation)) - before
    assert result.unfinished == 0 and unfinished(state, truth) == []
    for face, identity in truth.items():
        if identity in PEOPLE:
            assert state[face].person_name == identity and state[face].source in ("user", "auto")
    tally = result.tally
    # every counted step but "Group faces" was one real operation in the undo log
    steps = sum(tally.by_kind.values()) - tally.by_kind["regroup"]
    assert operations == steps - len(result.failures)
    assert tally.by_kind["merge"] >= 1  # Tony Blair's second group joins the first by its name
    if style == "careful":  # the stranger is taken out before Colin Powell's group is named
        assert tally.by_kind["ignore"] >= 1 and tally.by_pass["groups"] >= 5
    else:  # named with the stranger in it, then fixed when looking at Colin Powell's faces
        assert tally.by_kind["reject"] >= 1 and tally.by_pass["sweep"] >= 2
    assert tally.total == tally.decisions + tally.face_picks + tally.selection_actions + tally.regroups
    assert tally.total >= len(PEOPLE) + 1 + 2  # a decision per person, one merge, "Group faces", a picked face


# -- the benchmark's output -------------------------------------------------------------------------
def _oracle_entry(per_100: float) -> dict[str, object]:
    return {"actions_per_100_faces": per_100, "ideal_per_100_faces": 1.5}


def test_json_headline_holds_baseline_and_now_per_library_and_oracle() -> None:
    import effort_bench

    details = {
        "lfw": {"not_run": "not asked for (--libraries)"},
        "degraded": {"careful": {"baseline": _oracle_entry(60.0), "now": _oracle_entry(40.0)},
                     "hurried": {"baseline": _oracle_entry(70.0), "now": _oracle_entry(50.0)},
                     "later_photos": {"without_learning": {"actions_per_100_later_faces": 90.0},
                                      "with_learning": {"actions_per_100_later_faces": 60.0,
                                                        "retrain": {"installed": True}}}},
        "family": {"error": "RuntimeError: boom"},
    }
    out = effort_bench.headline(details)
    assert out["degraded"] == {"careful": {"baseline": 60.0, "now": 40.0}, "hurried": {"baseline": 70.0, "now": 50.0},
                               "ideal": 1.5}
    assert out["later_photos"] == {"without_learning": 90.0, "with_learning": 60.0, "model_installed": True}
    assert out["lfw"] == {"not_run": "not asked for (--libraries)"}
    assert out["family"] == {"not_run": "RuntimeError: boom"}


def test_native_writes_to_stdout_go_to_stderr_while_the_benchmark_runs(capfd: pytest.CaptureFixture[str]) -> None:
    import os

    import effort_bench

    with effort_bench.stdout_to_stderr():
        os.write(1, b"Failed to load libcublasLt.so.13\n")
        print("a progress line")
    print('{"json": 1}')
    captured = capfd.readouterr()
    assert captured.out == '{"json": 1}\n'
    assert "Failed to load" in captured.err and "a progress line" in captured.err
