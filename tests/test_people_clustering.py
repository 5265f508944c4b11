"""Grouping the library: every user decision survives every re-clustering (and every undo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.queries import faces_of_person, list_people
from faceorg.settings import update_settings
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceNotPerson, Person
from tests.libgen import make_library

DIM = 128


def identity_vectors(
    rng: np.random.Generator, n_people: int, per_person: int, spread: float = 0.07
) -> list[np.ndarray]:
    """Tight, well separated identities (distances within ~0.3, between ~1.4)."""
    centres = rng.normal(size=(n_people, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = []
    for c in centres:
        for _ in range(per_person):
            v = c + rng.normal(scale=spread, size=DIM) / np.sqrt(DIM) * 3
            out.append(v / np.linalg.norm(v))
    return out


@pytest.fixture()
def library(tmp_path: Path, db_location: Path | str):  # type: ignore[no-untyped-def]
    """Four people of 6 faces (one photo each), plus a photo holding two faces of person 0."""
    rng = np.random.default_rng(3)
    vecs = identity_vectors(rng, 4, 7)
    photos = [[v] for k, v in enumerate(vecs) if k % 7 < 6]  # faces 0-5 person 0, 6-11 person 1, ...
    extra = [vecs[6], vecs[13]]  # the 7th faces of persons 0 and 1 share one photo... as a group shot
    twin = vecs[5] + rng.normal(scale=0.02, size=DIM)
    photos.append([extra[0], twin])  # two faces of person 0 in one photo
    lib, ids = make_library(db_location, photos)
    yield lib, ids
    lib.close()


def person_of(lib: Library, face: int) -> tuple[int | None, str | None]:
    with lib.session() as s:
        a = s.get(Assignment, face)
        return (a.person_id, a.source.value) if a else (None, None)


def groups(lib: Library) -> list[set[int]]:
    return [{f.id for f in faces_of_person(lib, p.id)} for p in list_people(lib, include_hidden=True)]


def user_decisions(lib: Library) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    with lib.session() as s:
        placed = {
            (a.face_id, a.person_id)
            for a in s.scalars(select(Assignment).where(Assignment.source == AssignmentSource.USER))
        }
        rejected = {(r.face_id, r.person_id) for r in s.scalars(select(FaceNotPerson))}
    return placed, rejected


def check_decisions_hold(lib: Library) -> None:
    """Every placed face is where the user put it; no face sits with a person it was rejected from;
    no two faces of an ordinary photo share a person."""
    placed, rejected = user_decisions(lib)
    with lib.session() as s:
        owner = {a.face_id: a.person_id for a in s.scalars(select(Assignment))}
        photo = dict(s.execute(select(Face.id, Face.photo_id)).all())
    assert all(owner.get(f) == p for f, p in placed)
    assert not any(owner.get(f) == p for f, p in rejected)
    seen: set[tuple[int, int]] = set()
    for f, p in owner.items():
        key = (photo[f], p)
        assert key not in seen, f"two faces of photo {photo[f]} with person {p}"
        seen.add(key)


def test_groups_people_and_keeps_the_same_photo_apart(library) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    recluster(lib)
    found = groups(lib)
    person0 = {ids[k][0] for k in range(6)}
    assert any(person0 <= g for g in found)
    assert sorted(len(g) for g in found)[-4:] == [6, 6, 6, 7]
    a, b = ids[24]  # two faces of person 0 in one photo: only one joins
    assert (person_of(lib, a)[0] is None) != (person_of(lib, b)[0] is None)
    check_decisions_hold(lib)


def test_collage_lifts_the_same_photo_rule(library) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    with lib.session() as s:
        photo = s.scalar(select(Face.photo_id).where(Face.id == ids[24][0]))
    ops.set_collage(lib, photo)
    recluster(lib, full=True)
    a, b = ids[24]
    assert person_of(lib, a)[0] is not None and person_of(lib, a)[0] == person_of(lib, b)[0]


def test_unnamed_groups_keep_their_identity(library) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    recluster(lib)
    before = {ids[k][0]: person_of(lib, ids[k][0])[0] for k in range(24)}
    recluster(lib)
    recluster(lib, full=True)
    assert {f: person_of(lib, f)[0] for f in before} == before


def test_new_faces_are_suggested_to_named_people_with_reasons(tmp_path: Path, db_location: Path | str) -> None:
    rng = np.random.default_rng(5)
    vecs = identity_vectors(rng, 3, 8)
    lib, ids = make_library(db_location, [[v] for v in vecs])
    with lib.transaction() as s:  # pretend the last face of each person arrived later (no assignment)
        pass
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(7)]).people_added.pop()
    bob = ops.create_person(lib, "Bob", [ids[k][0] for k in range(8, 15)]).people_added.pop()
    recluster(lib)
    pid, source = person_of(lib, ids[7][0])
    assert (pid, source) == (alice, "suggested")
    with lib.session() as s:
        a = s.get(Assignment, ids[7][0])
        assert a.distance is not None and a.runner_up_id == bob and a.runner_up_distance > a.distance
    assert person_of(lib, ids[15][0]) == (bob, "suggested")
    # The third person has no name: the faces group on their own.
    assert person_of(lib, ids[16][0])[1] == "auto"
    lib.close()


def test_user_faces_never_move_and_rejections_hold(library) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    recluster(lib)
    odd_one = ids[6][0]  # a face of person 1, which the user insists is Alice
    alice = ops.create_person(lib, "Alice", [ids[k][0] for k in range(3)] + [odd_one]).people_added.pop()
    ops.reject_faces(lib, [ids[4][0]], alice)
    for full in (False, True, True):
        recluster(lib, full=full)
        assert person_of(lib, odd_one) == (alice, "user")
        assert person_of(lib, ids[4][0])[0] != alice
        check_decisions_hold(lib)


def test_a_group_with_two_peoples_faces_is_split(tmp_path: Path, db_location: Path | str) -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(size=DIM)
    a /= np.linalg.norm(a)
    blob = [a + rng.normal(size=DIM) * 0.15 / np.sqrt(DIM) for _ in range(10)]  # look-alikes: one blob
    lib, ids = make_library(db_location, [[v] for v in blob])
    update_settings(lib, min_group_size=10)  # all ten must form one group
    recluster(lib)
    blob_group = sorted(max(groups(lib), key=len))
    assert len(blob_group) == 10  # the look-alikes look like one person
    ann = ops.create_person(lib, "Ann", blob_group[:2]).people_added.pop()
    bea = ops.create_person(lib, "Bea", blob_group[2:4]).people_added.pop()
    recluster(lib, full=True)
    owners = [person_of(lib, f) for f in blob_group]
    assert {p for p, _ in owners} <= {ann, bea, None}
    auto = [p for p, src in owners if src == "auto"]
    assert ann in auto and bea in auto  # shared out between the two, not lumped with one
    check_decisions_hold(lib)
    lib.close()


OPERATIONS = {
    "name": lambda lib, ids, g: ops.name_person(lib, g[0], "Zed"),
    "merge": lambda lib, ids, g: ops.merge_people(lib, g[0], [g[1]]),
    "split": lambda lib, ids, g: ops.split_faces(lib, [ids[0][0], ids[1][0]], "Split"),
    "move": lambda lib, ids, g: ops.move_faces(lib, [ids[7][0]], g[0]),
    "reject": lambda lib, ids, g: ops.reject_faces(lib, [ids[2][0]]),
    "ignore": lambda lib, ids, g: ops.ignore_faces(lib, [ids[3][0]]),
    "not_face": lambda lib, ids, g: ops.mark_not_face(lib, [ids[8][0]]),
    "hide": lambda lib, ids, g: ops.hide_person(lib, g[1]),
    "cover": lambda lib, ids, g: ops.set_cover(lib, g[0], ids[0][0]),
    "accept": lambda lib, ids, g: ops.accept_suggestions(lib, [ids[9][0]]),
    "collage": lambda lib, ids, g: ops.set_collage(lib, 1),
    "different": lambda lib, ids, g: ops.add_cannot_link(lib, ids[12][0], ids[13][0]),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_recluster_after_each_operation_and_its_undo(library, name: str) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    recluster(lib)
    with lib.session() as s:
        g = [s.scalar(select(Assignment.person_id).where(Assignment.face_id == ids[k][0])) for k in (0, 6)]
    OPERATIONS[name](lib, ids, g)
    decisions = user_decisions(lib)
    for full in (False, True):
        recluster(lib, full=full)
        check_decisions_hold(lib)
        assert user_decisions(lib) == decisions
    ops.undo(lib)
    undone = user_decisions(lib)
    recluster(lib, full=True)
    check_decisions_hold(lib)
    assert user_decisions(lib) == undone
    ops.redo(lib)
    recluster(lib)
    check_decisions_hold(lib)
    with lib.session() as s:
        assert s.scalars(select(Person)).first() is not None


def test_grouping_gives_a_named_person_only_faces_near_their_confirmed_ones() -> None:
    from faceorg.people.clustering import LibraryFaces, keep_named_joins_close

    c = np.zeros(DIM)
    c[0] = 1.0
    near = c.copy()
    near[1] = 0.1
    far = c.copy()
    far[2] = 0.8
    vecs = np.stack([v / np.linalg.norm(v) for v in (c, c, near, far)]).astype(np.float32)
    data = LibraryFaces(
        face_ids=np.array([1, 2, 3, 4]),
        vectors=vecs,
        photo_ids=np.array([1, 2, 3, 4]),
        collage=np.zeros(4, bool),
        assignment={1: (7, AssignmentSource.USER), 2: (7, AssignmentSource.USER)},
        names={7: "Alice"},
    )
    labels = keep_named_joins_close(data, np.array([7, 7, 7, 7]), movable={3, 4}, max_distance=0.32)
    assert labels.tolist() == [7, 7, 7, -1]  # the far face is left for review, the user's faces stay
