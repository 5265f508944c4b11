"""What naming means: naming a group names the person; unseen faces stay automatic until confirmed or sure,
and regrouping may correct them, never a confirmed one (real SQLite libraries, real grouping)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from faceorg.people import ops
from faceorg.people.clustering import (
    CONFIDENT_DISTANCE,
    LibraryFaces,
    keep_named_joins_close,
    recluster,
    reference_faces,
)
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Person
from tests.libgen import decisions_snapshot, make_library
from tests.test_people_clustering import DIM, identity_vectors


def places(lib: Library) -> dict[int, tuple[int, str]]:
    with lib.session() as s:
        return {a.face_id: (a.person_id, a.source.value) for a in s.scalars(select(Assignment))}


@pytest.fixture()
def named_group(tmp_path: Path, db_location: Path | str):  # type: ignore[no-untyped-def]
    """Ann (faces 0-5) and Bob (faces 6-11), one face per photo; grouping put Bob's face 6 in Ann's group
    (automatic, a mistake) and left Bob's others unsorted."""
    rng = np.random.default_rng(5)
    vecs = identity_vectors(rng, 2, 6, spread=0.05)
    lib, ids = make_library(db_location, [[v] for v in vecs])
    faces = [f[0] for f in ids]
    with lib.transaction() as s:
        group = Person()
        s.add(group)
        s.flush()
        for f in faces[:7]:
            s.add(Assignment(face_id=f, person_id=group.id, source=AssignmentSource.AUTO, strength=0.8))
        gid = group.id
    yield lib, faces, gid
    lib.close()


def test_naming_keeps_the_group_automatic_and_together(named_group) -> None:  # type: ignore[no-untyped-def]
    lib, faces, gid = named_group
    ops.name_person(lib, gid, "Ann")
    assert {places(lib)[f] for f in faces[:7]} == {(gid, "auto")}
    # A full regrouping with no confirmed face yet: the group as named is Ann's reference, nothing leaves.
    recluster(lib, full=True)
    got = places(lib)
    assert all(got[f][0] == gid for f in faces[:7])
    assert all(got[f][1] != "user" for f in faces[:7])


def test_a_wrong_automatic_face_moves_on_regrouping_a_confirmed_one_never(named_group) -> None:  # type: ignore[no-untyped-def]
    lib, faces, gid = named_group
    ops.name_person(lib, gid, "Ann")
    before = decisions_snapshot(lib)
    ops.confirm_faces(lib, [faces[0]])
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    ops.redo(lib)
    recluster(lib, full=True)
    got = places(lib)
    assert got[faces[0]] == (gid, "user")
    assert all(got[f][0] == gid for f in faces[1:6])  # Ann's own faces stay with her
    wrong = got.get(faces[6])
    assert wrong is None or wrong[0] != gid  # Bob's face left Ann...
    assert wrong is not None and {got.get(f, (None,))[0] for f in faces[7:]} == {wrong[0]}  # ...for Bob's group

    # Had the user confirmed that face with Ann, it would never move.
    ops.undo(lib)  # the confirm of face 0 (grouping is not in the undo log)
    ops.move_faces(lib, [faces[6]], gid)
    recluster(lib, full=True)
    assert places(lib)[faces[6]] == (gid, "user")


def _data(vectors: list[np.ndarray], sources: list[AssignmentSource | None]) -> LibraryFaces:
    vecs = np.stack([v / np.linalg.norm(v) for v in vectors]).astype(np.float32)
    n = len(vectors)
    return LibraryFaces(face_ids=np.arange(1, n + 1), vectors=vecs, photo_ids=np.arange(1, n + 1),
                        collage=np.zeros(n, bool), names={7: "Ann"},
                        assignment={k + 1: (7, src) for k, src in enumerate(sources) if src is not None})


def _at(base: np.ndarray, axis: int, distance: float) -> np.ndarray:
    """A unit vector at ``distance`` (chord) from the unit vector ``base`` = e0."""
    cos = 1 - distance ** 2 / 2
    v = base * cos
    v[axis] = np.sqrt(1 - cos ** 2)
    return v


def test_sure_faces_are_the_automatic_ones_near_a_confirmed_face() -> None:
    e0 = np.zeros(DIM)
    e0[0] = 1.0
    near, doubtful = _at(e0, 1, CONFIDENT_DISTANCE - 0.03), _at(e0, 2, CONFIDENT_DISTANCE + 0.05)
    data = _data([e0, near, doubtful], [AssignmentSource.USER, AssignmentSource.AUTO, AssignmentSource.AUTO])
    assert reference_faces(data) == {7: {1, 2}}
    # Distances scale with a retrained model's.
    assert reference_faces(data, scale=1.5) == {7: {1, 2, 3}}
    # Named as a whole group, nothing confirmed yet: the group's faces are the reference.
    data = _data([e0, near, doubtful], [AssignmentSource.AUTO] * 3)
    assert reference_faces(data) == {7: {1, 2, 3}}


def test_a_named_group_without_confirmed_faces_takes_only_faces_near_its_own() -> None:
    e0 = np.zeros(DIM)
    e0[0] = 1.0
    data = _data([e0, _at(e0, 1, 0.2), _at(e0, 2, 0.25), _at(e0, 3, 0.9)],
                 [AssignmentSource.AUTO, AssignmentSource.AUTO, None, None])
    labels = keep_named_joins_close(data, np.array([7, 7, 7, 7]), movable={3, 4}, max_distance=0.32)
    assert labels.tolist() == [7, 7, 7, -1]


def test_a_named_group_without_confirmed_faces_still_gets_suggestions(named_group) -> None:  # type: ignore[no-untyped-def]
    """Naming without confirming must not leave the person without suggestions for their new photos."""
    lib, faces, gid = named_group
    ops.name_person(lib, gid, "Ann")
    with lib.transaction() as s:  # Ann's face 5 is new: nobody has it yet
        s.delete(s.get(Assignment, faces[5]))
    recluster(lib)
    assert places(lib)[faces[5]] == (gid, "suggested")
