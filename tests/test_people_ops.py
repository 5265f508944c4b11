"""People operations: what each does, its change record, and undo/redo back to the exact same state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.queries import faces_by_status, faces_of_person, list_people, review_queue
from faceorg.store import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    Face,
    FaceNotPerson,
    FaceStatus,
    Person,
)
from tests.libgen import decisions_snapshot, two_groups_library

snapshot = decisions_snapshot


@pytest.fixture()
def lib(tmp_path: Path, db_location: Path | str) -> tuple[Library, list[list[int]]]:
    # Two unnamed groups made by "clustering": faces 0-3 and 4-7 (one face per photo), 8-9 unassigned.
    library, ids = two_groups_library(db_location)
    yield library, ids
    library.close()


def group_ids(library: Library) -> tuple[int, int]:
    people = list_people(library)
    return people[0].id, people[1].id


def check_undo_redo(library: Library, action: Callable[[], object]) -> None:
    before = snapshot(library)
    action()
    after = snapshot(library)
    assert after != before
    ops.undo(library)
    assert snapshot(library) == before
    ops.redo(library)
    assert snapshot(library) == after
    ops.undo(library)
    assert snapshot(library) == before


def test_naming_names_the_person_and_leaves_unseen_faces_automatic(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, _ = group_ids(library)
    cs = ops.name_person(library, a, "  Alice   Smith ")
    assert a in cs.people_changed and cs.operation_id is not None
    faces = faces_of_person(library, a)
    assert {f.source for f in faces} == {"auto"} and faces[0].person_name == "Alice Smith"
    check_undo_redo(library, lambda: ops.name_person(library, a, "Alicia"))
    assert ops.undo_redo_labels(library)[0] == "Name “Alice Smith”"


def test_naming_with_a_face_the_user_saw_confirms_only_that_face(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    check_undo_redo(library, lambda: ops.name_person(library, a, "Alice", confirm=[ids[1][0]]))
    ops.name_person(library, a, "Alice", confirm=[ids[1][0]])
    sources = {f.id: f.source for f in faces_of_person(library, a)}
    assert sources == {ids[0][0]: "auto", ids[1][0]: "user", ids[2][0]: "auto", ids[3][0]: "auto"}
    # Naming another group "Alice" merges it: its faces stay automatic, the face seen is confirmed.
    check_undo_redo(library, lambda: ops.name_person(library, b, "Alice", confirm=[ids[5][0]]))
    ops.name_person(library, b, "Alice", confirm=[ids[5][0]])
    sources = {f.id: f.source for f in faces_of_person(library, a)}
    assert {f for f, src in sources.items() if src == "user"} == {ids[1][0], ids[5][0]}
    assert len(sources) == 8
    with pytest.raises(FaceorgError, match="belongs to nobody"):
        ops.name_person(library, a, "Alice", confirm=[ids[9][0]])


def test_naming_the_others_takes_the_chosen_faces_out_in_the_same_step(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    out = [ids[2][0], ids[3][0]]
    check_undo_redo(library, lambda: ops.name_person(library, a, "Alice", take_out=out))
    cs = ops.name_person(library, a, "Alice", take_out=out)
    assert set(out) <= cs.faces_changed and a in cs.people_changed
    assert ops.undo_redo_labels(library)[0] == "Name “Alice” (2 faces taken out)"
    assert {f.id for f in faces_of_person(library, a)} == {ids[0][0], ids[1][0]}
    with library.session() as s:  # back to unsorted, and never given to Alice again
        assert s.scalar(select(Assignment).where(Assignment.face_id.in_(out))) is None
        assert {(r.face_id, r.person_id) for r in s.scalars(select(FaceNotPerson))} == {(f, a) for f in out}
    # Naming another group with a name in use merges it; the faces taken out are "not Alice" either way.
    ops.undo(library)
    ops.name_person(library, a, "Alice")
    cs = ops.name_person(library, b, "Alice", take_out=[ids[7][0]])
    assert b in cs.people_removed
    assert ops.undo_redo_labels(library)[0] == "Merge into “Alice” (1 face taken out)"
    assert len(faces_of_person(library, a)) == 7
    with library.session() as s:
        assert s.get(FaceNotPerson, (ids[7][0], a)) is not None
    with pytest.raises(FaceorgError, match="does not belong to person"):
        ops.name_person(library, a, "Alice", take_out=[ids[8][0]])
    with pytest.raises(FaceorgError, match="leaves nobody to name"):
        ops.name_person(library, a, "Alice", take_out=[f.id for f in faces_of_person(library, a)])
    with pytest.raises(FaceorgError, match="both confirmed and taken out"):
        ops.name_person(library, a, "Alice", confirm=[ids[0][0]], take_out=[ids[0][0]])


def test_confirm_faces_makes_them_the_users_decision(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.name_person(library, a, "Alice")
    chosen = [ids[0][0], ids[4][0]]  # one of Alice's, one of the unnamed group's
    check_undo_redo(library, lambda: ops.confirm_faces(library, chosen))
    cs = ops.confirm_faces(library, chosen)
    assert cs.faces_changed >= set(chosen) and {a, b} <= cs.people_changed
    with library.session() as s:
        got = {x.face_id: (x.person_id, x.source) for x in s.scalars(select(Assignment))}
    assert got[ids[0][0]] == (a, AssignmentSource.USER) and got[ids[4][0]] == (b, AssignmentSource.USER)
    assert got[ids[1][0]] == (a, AssignmentSource.AUTO)
    with pytest.raises(FaceorgError, match="belongs to nobody"):
        ops.confirm_faces(library, [ids[8][0]])


def test_naming_with_an_existing_name_merges(lib) -> None:  # type: ignore[no-untyped-def]
    library, _ = lib
    a, b = group_ids(library)
    ops.name_person(library, a, "Alice")
    check_undo_redo(library, lambda: ops.name_person(library, b, "Alice"))
    cs = ops.name_person(library, b, "Alice")
    assert b in cs.people_removed
    people = list_people(library)
    assert len(people) == 1 and people[0].face_count == 8


def test_merge_moves_not_this_person_rules(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.reject_faces(library, [ids[7][0]], b)
    check_undo_redo(library, lambda: ops.merge_people(library, a, [b]))
    ops.merge_people(library, a, [b])
    with library.session() as s:
        assert s.get(FaceNotPerson, (ids[7][0], a)) is not None


def test_split_records_not_previous_person(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, _ = group_ids(library)
    moved = [ids[2][0], ids[3][0]]
    check_undo_redo(library, lambda: ops.split_faces(library, moved, "Bob"))
    cs = ops.split_faces(library, moved, "Bob")
    assert len(cs.people_added) == 1
    bob = cs.people_added.pop()
    assert {f.id for f in faces_of_person(library, bob)} == set(moved)
    rest = {ids[0][0], ids[1][0]}
    with library.session() as s:
        rules = {(r.face_id, r.person_id) for r in s.scalars(select(FaceNotPerson))}
    # Both ways: the moved faces are not the old group, and the faces left there are not Bob.
    assert rules == {(f, a) for f in moved} | {(f, bob) for f in rest}


def test_move_reject_ignore_not_face(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    f = ids[0][0]
    check_undo_redo(library, lambda: ops.move_faces(library, [f, ids[8][0]], b))
    check_undo_redo(library, lambda: ops.reject_faces(library, [f]))
    check_undo_redo(library, lambda: ops.ignore_faces(library, [f]))
    check_undo_redo(library, lambda: ops.mark_not_face(library, [f]))
    ops.ignore_faces(library, [f])
    assert [x.id for x in faces_by_status(library, FaceStatus.IGNORED)] == [f]
    check_undo_redo(library, lambda: ops.restore_faces(library, [f]))


def test_moving_back_lifts_not_this_person(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, _ = group_ids(library)
    f = ids[1][0]
    ops.reject_faces(library, [f], a)
    ops.move_faces(library, [f], a)
    with library.session() as s:
        assert s.get(FaceNotPerson, (f, a)) is None


def test_hide_cover_collage_cannot_link(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    check_undo_redo(library, lambda: ops.hide_person(library, a))
    check_undo_redo(library, lambda: ops.set_cover(library, a, ids[2][0]))
    check_undo_redo(library, lambda: ops.set_collage(library, 1))
    check_undo_redo(library, lambda: ops.add_cannot_link(library, ids[0][0], ids[1][0]))
    with pytest.raises(FaceorgError, match="does not belong"):
        ops.set_cover(library, a, ids[5][0])
    ops.hide_person(library, a)
    assert [p.id for p in list_people(library)] == [b]
    assert {p.id for p in list_people(library, include_hidden=True)} == {a, b}


def test_cover_is_cleared_when_the_face_leaves(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.set_cover(library, a, ids[0][0])
    ops.move_faces(library, [ids[0][0]], b)
    cover = next(p for p in list_people(library) if p.id == a).cover_face_id
    assert cover is not None and cover != ids[0][0]


def test_accept_and_reject_suggestions(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.name_person(library, a, "Alice")
    with library.transaction() as s:
        for f in (ids[8][0], ids[9][0]):
            s.add(Assignment(face_id=f, person_id=a, source=AssignmentSource.SUGGESTED, distance=0.4,
                             runner_up_id=b, runner_up_distance=0.5 if f == ids[8][0] else 0.9))
    queue = review_queue(library)
    assert [f.id for f in queue][:2] == [ids[8][0], ids[9][0]]  # the closer runner-up is the less certain
    # Naming left Alice's group automatic: her faces wait for review too, after the less certain suggestions.
    assert {f.id for f in queue[2:]} == {ids[k][0] for k in range(4)}
    assert queue[0].runner_up_id == b
    check_undo_redo(library, lambda: ops.accept_suggestions(library, [ids[8][0]]))
    check_undo_redo(library, lambda: ops.reject_suggestions(library, [ids[9][0]]))


def test_same_photo_rule_for_the_user(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, _ = group_ids(library)
    two = ids[10]
    ops.move_faces(library, [two[0]], a)
    with pytest.raises(FaceorgError, match="two faces in one photo"):
        ops.move_faces(library, [two[1]], a)
    photo_id = faces_of_person(library, a)[0].photo_id
    with library.session() as s:
        photo_id = s.scalar(select(Face.photo_id).where(Face.id == two[0]))
    ops.set_collage(library, photo_id)
    ops.move_faces(library, [two[1]], a)


def test_user_placement_evicts_automatic_rival_in_same_photo(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    two = ids[10]
    with library.transaction() as s:
        s.add(Assignment(face_id=two[0], person_id=a, source=AssignmentSource.AUTO))
    ops.move_faces(library, [two[1]], a)
    with library.session() as s:
        assert s.get(Assignment, two[0]) is None
        assert s.get(Assignment, two[1]).source is AssignmentSource.USER


def test_redo_stack_is_dropped_by_a_new_operation(lib) -> None:  # type: ignore[no-untyped-def]
    library, _ = lib
    a, b = group_ids(library)
    ops.hide_person(library, a)
    ops.undo(library)
    ops.hide_person(library, b)
    with pytest.raises(FaceorgError, match="nothing to redo"):
        ops.redo(library)


def test_undo_after_the_group_was_reclustered_away(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.move_faces(library, [ids[0][0]], b)
    with library.transaction() as s:  # an automatic step removes group a
        s.delete(s.get(Person, a))
    ops.undo(library)  # the face cannot go back to a group that no longer exists: it is unassigned
    with library.session() as s:
        assert s.get(Assignment, ids[0][0]) is None


def test_empty_unnamed_groups_disappear_named_people_stay(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids = lib
    a, b = group_ids(library)
    ops.name_person(library, b, "Bea")
    ops.move_faces(library, [ids[k][0] for k in range(4)], b)
    assert [p.id for p in list_people(library)] == [b]
    ops.move_faces(library, [ids[k][0] for k in range(8)], b)
    ops.split_faces(library, [ids[k][0] for k in range(8)])
    assert any(p.name == "Bea" and p.face_count == 0 for p in list_people(library))


def test_errors(lib) -> None:  # type: ignore[no-untyped-def]
    library, _ = lib
    with pytest.raises(FaceorgError, match="no person"):
        ops.name_person(library, 999, "X")
    with pytest.raises(FaceorgError, match="empty"):
        ops.create_person(library, "   ")
    with pytest.raises(FaceorgError, match="no face"):
        ops.move_faces(library, [999], group_ids(library)[0])
    with pytest.raises(FaceorgError, match="nothing to undo"):
        ops.undo(library)
