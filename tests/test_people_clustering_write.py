"""How grouping writes its results: every rule of the write path, and no ORM object per face.

The grouping runs on a worker thread beside the GUI; building an ORM object per assignment of a big
library (~100k) set off full garbage collections that froze the GUI for up to half a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from faceorg.people.clustering import _Plan, _write, load_library_faces, recluster
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, FaceNotPerson, Person
from faceorg.store.state import grouping_pending, set_grouping_pending
from tests.libgen import make_library
from tests.ormcount import orm_objects

USER, AUTO, SUGGESTED = AssignmentSource.USER, AssignmentSource.AUTO, AssignmentSource.SUGGESTED


def stored(lib: Library) -> dict[int, tuple[object, ...]]:
    with lib.session() as s:
        return {a.face_id: (a.person_id, a.source, a.distance, a.runner_up_id, a.runner_up_distance, a.strength)
                for a in s.scalars(select(Assignment))}


def test_write_applies_the_plan_by_the_rules(tmp_path: Path, db_location: Path | str) -> None:
    rng = np.random.default_rng(1)
    lib, ids = make_library(db_location, [[rng.normal(size=128)] for _ in range(12)])
    f = [row[0] for row in ids]
    with lib.transaction() as s:
        alice, bob = Person(name="Alice"), Person(name="Bob")
        u1, u2, u3 = Person(), Person(), Person()
        s.add_all([alice, bob, u1, u2, u3])
        s.flush()
        people = (alice.id, bob.id, u1.id, u2.id, u3.id)
        alice, bob, u1, u2, u3 = people
        s.add_all([
            Assignment(face_id=f[0], person_id=u1, source=AUTO, strength=0.5),
            Assignment(face_id=f[1], person_id=u1, source=AUTO, strength=0.5),
            Assignment(face_id=f[2], person_id=u1, source=AUTO, strength=0.5),
            Assignment(face_id=f[3], person_id=u2, source=AUTO, strength=0.4),  # cleared: u2 ends empty
            Assignment(face_id=f[4], person_id=alice, source=USER),  # the user's: never moved nor cleared
            Assignment(face_id=f[5], person_id=u3, source=AUTO, strength=0.3),  # ruled out of u1
            Assignment(face_id=f[9], person_id=u3, source=AUTO, strength=0.1),  # same place, new strength
            Assignment(face_id=f[10], person_id=u3, source=AUTO, strength=0.7),  # nothing new
            Assignment(face_id=f[11], person_id=bob, source=USER),
            Assignment(face_id=f[8], person_id=bob, source=SUGGESTED, distance=0.3),  # moves to a new group
        ])
        s.add(FaceNotPerson(face_id=f[5], person_id=u1))
    set_grouping_pending(lib, True)
    data = load_library_faces(lib)
    assert data is not None
    plan = _Plan()
    plan.new_groups = {100: [f[0], f[1], f[2], f[4], f[5]], 101: [f[7], f[8]]}
    for face in plan.new_groups[100]:
        plan.set_to[face] = (100, AUTO, {"strength": 0.9})
    plan.set_to[f[6]] = (alice, SUGGESTED, {"distance": 0.25, "runner_up_id": bob, "runner_up_distance": 0.4})
    plan.set_to[f[7]] = (101, AUTO, {"strength": 0.6})
    plan.set_to[f[8]] = (101, AUTO, {"strength": 0.8})
    plan.set_to[f[9]] = (u3, AUTO, {"strength": 0.2})
    plan.set_to[f[10]] = (u3, AUTO, {"strength": 0.7})
    plan.set_to[f[11]] = (alice, SUGGESTED, {"distance": 0.1})  # the user put it with Bob: stays
    plan.clear = {f[3], f[4]}
    with lib.session() as s:
        stamps = dict(s.execute(select(Assignment.face_id, Assignment.updated_at)).all())

    cs = _write(lib, data, plan)

    after = stored(lib)
    with lib.session() as s:
        new_person = s.scalar(select(Person.id).where(Person.id > max(people)))
        remaining = set(s.scalars(select(Person.id)))
        stamps_after = dict(s.execute(select(Assignment.face_id, Assignment.updated_at)).all())
    assert after == {
        f[0]: (u1, AUTO, None, None, None, 0.9),  # group 100 is mostly u1's faces: it keeps u1's id
        f[1]: (u1, AUTO, None, None, None, 0.9),
        f[2]: (u1, AUTO, None, None, None, 0.9),
        f[4]: (alice, USER, None, None, None, None),
        f[6]: (alice, SUGGESTED, 0.25, bob, 0.4, None),
        f[7]: (new_person, AUTO, None, None, None, 0.6),
        f[8]: (new_person, AUTO, None, None, None, 0.8),
        f[9]: (u3, AUTO, None, None, None, 0.2),
        f[10]: (u3, AUTO, None, None, None, 0.7),
        f[11]: (bob, USER, None, None, None, None),
    }
    assert remaining == {alice, bob, u1, u3, new_person}  # u2 was left empty; u3 keeps f9 and f10
    assert cs.people_added == {new_person}
    assert cs.people_removed == {u2}
    # f0-f2 stay in u1 (new strength only); f4 and f11 are the user's; f9, f10 stay in u3
    assert cs.faces_changed == {f[3], f[5], f[6], f[7], f[8]}
    assert cs.people_changed == {u3, alice, bob}
    assert stamps_after[f[10]] == stamps[f[10]] and stamps_after[f[4]] == stamps[f[4]]  # untouched rows
    assert not grouping_pending(lib)  # cleared in the same transaction
    lib.close()


def test_grouping_makes_no_orm_object_per_face(tmp_path: Path, db_location: Path | str) -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(30, 128))
    lib, _ = make_library(db_location,
                          [[c + rng.normal(scale=0.05, size=128)] for c in centres for _ in range(8)])
    with orm_objects() as made:
        first = recluster(lib)
        again = recluster(lib, full=True)
    assert len(first.people_added) >= 20 and len(first.faces_changed) >= 200  # it did group the faces
    assert not again.faces_changed and not again.people_added
    per_face = {"Assignment", "Face", "Photo", "Embedding", "Person", "FaceNotPerson", "CannotLink"}
    assert not per_face & set(made), made
    assert sum(made.values()) < 20, made  # a few: settings, model version, library state
    lib.close()
