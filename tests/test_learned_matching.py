"""What learning changes in the grouping: sure matches of new faces (calibrated on held-out faces), and a
model change that leaves the faces the user has already worked through where they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, select

from faceorg.cluster.match import build_person_index, match_to_people
from faceorg.people import ops
from faceorg.people.clustering import GROUPED_THROUGH, SureMatch, active_sure_match, recluster
from faceorg.retrain.calibrate import MATCH_MARGINS, fold_calibrated_matching, fold_match_counts, stranger_share
from faceorg.retrain.folds import gate_folds
from faceorg.store import Library
from faceorg.store.models import Assignment, Embedding, ModelVersion
from faceorg.store.state import get_state
from faceorg.versions.records import activate, active_version
from tests.libgen import make_library
from tests.test_people_clustering import identity_vectors

DIM = 128


def place(lib: Library, face: int) -> tuple[int | None, str | None]:
    with lib.session() as s:
        a = s.get(Assignment, face)
        return (a.person_id, a.source.value) if a else (None, None)


def set_report(lib: Library, report: dict[str, Any]) -> None:
    with lib.transaction() as s:
        version = s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).one()
        version.report = report


@pytest.mark.parametrize(("rule", "expected"), [
    (None, "suggested"),  # the base model: every match waits as a suggestion
    ({"max_distance": 0.32, "margin": 0.5}, "auto"),  # clearly nearer Alice than Bob: joins her unasked
    ({"max_distance": 0.01, "margin": 0.5}, "suggested"),  # not near enough to be sure
    ({"max_distance": 0.32, "margin": 5.0}, "suggested"),  # not that clearly: still asked
])
def test_a_learned_sure_match_places_clear_new_faces_without_asking(
        tmp_path: Path, db_location: Path | str, rule: dict[str, float] | None, expected: str) -> None:
    vecs = identity_vectors(np.random.default_rng(5), 3, 8)
    lib, ids = make_library(db_location, [[v] for v in vecs])
    if rule is not None:
        set_report(lib, {"distance_scale": 1.0, "sure_match": rule})
    assert active_sure_match(lib) == (SureMatch(rule["max_distance"], rule["margin"]) if rule else None)
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(7)]).people_added.pop()
    ops.create_person(lib, "Bob", [ids[k][0] for k in range(8, 15)])
    recluster(lib)
    assert place(lib, ids[7][0]) == (alice, expected)
    with lib.session() as s:
        a = s.get(Assignment, ids[7][0])
        assert a is not None and a.distance is not None and a.runner_up_distance is not None
    lib.close()


def test_a_sure_match_never_puts_two_faces_of_one_photo_with_one_person(tmp_path: Path,
                                                                        db_location: Path | str) -> None:
    rng = np.random.default_rng(6)
    vecs = identity_vectors(rng, 2, 9)
    twin = vecs[7] + rng.normal(scale=0.01, size=DIM)
    lib, ids = make_library(db_location, [[v] for v in vecs[:7]] + [[vecs[7], twin / np.linalg.norm(twin)]]
                            + [[v] for v in vecs[9:]])
    set_report(lib, {"sure_match": {"max_distance": 0.32, "margin": 0.5}})
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(7)]).people_added.pop()
    ops.create_person(lib, "Bob", [ids[k][0] for k in range(8, 15)])
    recluster(lib)
    placed = [place(lib, f) for f in ids[7]]
    assert sum(p == (alice, "auto") for p in placed) == 1
    assert sum(p[0] == alice for p in placed) == 1
    lib.close()


def new_version(lib: Library, vectors: dict[int, np.ndarray]) -> None:
    """Install a model in one step, as ``use_version`` does: every face's vector under it, then the swap."""
    with lib.transaction() as s:
        version = ModelVersion(name="test-v2", kind="head", file_name="none2.onnx", sha256="1" * 64, active=False,
                               report={"distance_scale": 1.0})
        s.add(version)
        s.flush()
        for f, v in vectors.items():
            s.add(Embedding(face_id=f, model_version_id=version.id, vector=np.asarray(v, np.float32).tobytes(),
                            features=np.zeros(256, np.float32).tobytes()))
        vid = version.id
    activate(lib, vid)


def test_a_model_change_leaves_faces_already_grouped_where_they_are(tmp_path: Path,
                                                                    db_location: Path | str) -> None:
    rng = np.random.default_rng(7)
    vecs = identity_vectors(rng, 2, 8)
    stranger = rng.normal(size=DIM)
    stranger /= np.linalg.norm(stranger)
    # photos: Alice 0-6, Bob 8-14, a stranger far from everyone, and Alice's 8th face scanned later
    lib, ids = make_library(db_location, [[v] for v in vecs[:7]] + [[v] for v in vecs[8:15]] + [[stranger]]
                            + [[vecs[7]]])
    x, later = ids[14][0], ids[15][0]
    with lib.transaction() as s:  # not analysed when the library was first grouped
        s.execute(delete(Embedding).where(Embedding.face_id == later))
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(7)]).people_added.pop()
    ops.create_person(lib, "Bob", [ids[k][0] for k in range(7, 14)])
    recluster(lib)
    assert place(lib, x) == (None, None), "the stranger is left unsorted"
    with lib.session() as s:
        assert get_state(s, GROUPED_THROUGH) == x
    # The new model puts the stranger near Alice (as a retrained model moves faces), and sees the later face.
    version = active_version(lib)
    assert version is not None
    with lib.session() as s:
        old = {f: np.frombuffer(v, np.float32) for f, v in s.execute(
            select(Embedding.face_id, Embedding.vector).where(Embedding.model_version_id == version.id))}
    near_alice = vecs[0] + rng.normal(scale=0.02, size=DIM)
    new_version(lib, {**old, x: near_alice / np.linalg.norm(near_alice), later: vecs[7]})
    recluster(lib, model_changed=True)
    assert place(lib, x) == (None, None), "a face the user has seen is not offered again by a new model"
    assert place(lib, later)[0] == alice, "a face no grouping has seen is placed"
    # The user's own "Group faces" afterwards regroups under the new model as usual.
    recluster(lib)
    assert place(lib, x)[0] == alice
    lib.close()


def brute_counts(vectors: list[np.ndarray], labels: np.ndarray, folds: list[Any], max_distance: float,
                 margin: float) -> tuple[int, int, int]:
    """Right / wrong person among the learned people's held-out faces, and strangers sent to anyone."""
    right = wrong = strangers = 0
    for fold, after in zip(folds, vectors):
        index = (labels >= 0) & ~fold.held_out
        person_index = build_person_index(after[index], labels[index])
        for q in np.flatnonzero(fold.held_out & (labels >= 0)):
            got = int(match_to_people(after[q:q + 1], person_index, margin=margin, max_distance=max_distance).labels[0])
            if got < 0:
                continue
            if fold.unseen[q]:
                strangers += 1
            elif got == labels[q]:
                right += 1
            else:
                wrong += 1
    return right, wrong, strangers


def test_learned_margins_are_the_smallest_ones_right_often_enough() -> None:
    from tests.test_retrain_calibrate import crowded

    x, labels = crowded(3, people=16, per=12, spread=0.5)
    folds = gate_folds(labels, 3, 0)
    assert any(f.unseen.any() for f in folds)
    vectors = [x for _ in folds]  # one model: every fold sees the same vectors
    counts = fold_match_counts(vectors, labels, folds, 0.6)
    known = sum(int(((labels >= 0) & f.held_out & ~f.unseen).sum()) for f in folds)
    assert (counts.known, counts.unseen) == (known, sum(int(f.unseen.sum()) for f in folds))
    for k in (0, 4, 12):
        assert (counts.right[k], counts.wrong[k], counts.strangers[k]) == brute_counts(
            vectors, labels, folds, 0.6, float(MATCH_MARGINS[k]))
    share = 0.2  # a fifth of new faces are strangers: each fold's strangers weigh that much in all
    r, w, u = counts.right[0], counts.wrong[0], counts.strangers[0]
    expected = 0.8 * r / known / (0.8 * (r + w) / known + 0.2 * u / counts.unseen)
    assert counts.precision(share)[0] == pytest.approx(expected)
    matching = fold_calibrated_matching(vectors, labels, folds, 0.6, share, precision=0.9)
    assert matching is not None
    precision = counts.precision(share)
    k = int(np.flatnonzero(np.isclose(MATCH_MARGINS, matching.margin))[0])
    assert matching.precision == pytest.approx(precision[k])
    assert (precision[k:] >= 0.9).all()  # right often enough here and at every larger margin
    assert k > 0 and precision[k - 1] < 0.9  # the next smaller margin is not
    # no margin is good enough: no learned matching (every match stays a suggestion, as before)
    assert fold_calibrated_matching(vectors, labels, folds, 0.6, share, precision=1.01) is None
    # the library's share of faces no named person holds
    assert stranger_share(80, 100) == pytest.approx(0.2) and stranger_share(0, 0) == 0.95


def test_learned_matching_is_for_new_faces_only(tmp_path: Path, db_location: Path | str) -> None:
    """A face a grouping has seen and that is unsorted (mostly a stranger the user left) keeps the usual rule;
    a face of a new photo gets learning's."""
    vecs = identity_vectors(np.random.default_rng(9), 2, 9)
    lib, ids = make_library(db_location, [[v] for v in vecs[:8]] + [[v] for v in vecs[9:]] + [[vecs[8]]])
    seen, new = ids[7][0], ids[-1][0]  # faces are numbered as they are stored: the new photo's comes last
    with lib.session() as s:
        blob = s.scalars(select(Embedding).where(Embedding.face_id == new)).one()
        vector, features, version_id = blob.vector, blob.features, blob.model_version_id
    with lib.transaction() as s:  # the new face's photo is scanned after the first grouping
        s.execute(delete(Embedding).where(Embedding.face_id == new))
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(7)]).people_added.pop()
    ops.create_person(lib, "Bob", [ids[k][0] for k in range(8, 15)])
    recluster(lib)
    with lib.transaction() as s:  # left unsorted
        s.execute(delete(Assignment).where(Assignment.face_id == seen))
        s.add(Embedding(face_id=new, model_version_id=version_id, vector=vector, features=features))
    set_report(lib, {"sure_match": {"max_distance": 0.32, "margin": 0.5}})
    recluster(lib)
    assert place(lib, new) == (alice, "auto")
    assert place(lib, seen) == (alice, "suggested")
    lib.close()
