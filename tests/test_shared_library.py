"""Two people using one library at once (two Library objects = two clients, each with its own connections):
each sees the other's changes after a refresh, a change made on a stale view of the same person or face
is refused with a clear message instead of overwriting the other's decision, and undo takes back only
the caller's own operations. On both backends; the racing test is what PostgreSQL adds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceorg.errors import ConflictError, FaceorgError
from faceorg.people import ops
from faceorg.people.queries import list_people
from faceorg.store import Library, open_library
from faceorg.store.models import Assignment, AssignmentSource, Operation, Person
from tests.libgen import two_groups_library

Clients = tuple[Library, Library, list[list[int]], int, int]


@pytest.fixture()
def clients(db_location: Path | str) -> Iterator[Clients]:
    """Ann's and Bob's clients on one library with two unnamed groups (a: faces 0-3, b: faces 4-7)."""
    first, ids = two_groups_library(db_location)
    first.close()
    ann, bob = open_library(db_location), open_library(db_location)
    ann.client, bob.client = "ann@laptop", "bob@desktop"
    a, b = sorted(p.id for p in list_people(ann))
    yield ann, bob, ids, a, b
    ann.close()
    bob.close()


def _name(library: Library, person: int) -> str | None:
    with library.session() as s:
        found = s.get(Person, person)
        return found.name if found else None


def _owner(library: Library, face: int) -> tuple[int, AssignmentSource] | None:
    with library.session() as s:
        a = s.get(Assignment, face)
        return (a.person_id, a.source) if a else None


def test_both_renaming_one_person_keeps_the_first_and_says_why(clients: Clients) -> None:
    ann, bob, _, a, _ = clients
    ops.name_person(ann, a, "Ada")
    with pytest.raises(ConflictError, match=r"ann@laptop changed person .*“Name “Ada””.*refresh"):
        ops.name_person(bob, a, "Grace")  # Bob still sees the unnamed group
    assert _name(bob, a) == "Ada"  # Ann's decision is there, for both
    bob.mark_seen()  # Bob refreshes, sees "Ada", and still wants to rename: his informed decision
    ops.name_person(bob, a, "Grace")
    assert _name(ann, a) == "Grace"


def test_both_moving_one_face_keeps_the_first_move(clients: Clients) -> None:
    ann, bob, ids, a, b = clients
    face = ids[0][0]
    ops.move_faces(ann, [face], b)
    with pytest.raises(ConflictError, match=f"face {face}"):
        ops.split_faces(bob, [face], "Cy")
    assert _owner(bob, face) == (b, AssignmentSource.USER)
    assert _name(bob, b) is None and "Cy" not in {p.name for p in list_people(bob)}


def test_unrelated_changes_of_two_clients_both_land(clients: Clients) -> None:
    ann, bob, ids, a, b = clients
    ops.name_person(ann, a, "Ada")
    ops.name_person(bob, b, "Bea")  # another person: no conflict, even on a stale view
    ops.reject_faces(bob, [ids[5][0]])
    assert (_name(ann, a), _name(ann, b)) == ("Ada", "Bea")


def test_undo_takes_back_only_the_callers_own_operation(clients: Clients) -> None:
    ann, bob, _, a, b = clients
    ops.name_person(ann, a, "Ada")
    ops.name_person(bob, b, "Bea")
    assert ops.undo_redo_labels(ann) == ("Name “Ada”", None)
    assert ops.undo(ann).label == "Undo Name “Ada”"  # not Bob's later one
    assert (_name(bob, a), _name(bob, b)) == (None, "Bea")
    with pytest.raises(FaceorgError, match="nothing to undo"):
        ops.undo(ann)
    ops.redo(ann)
    ops.undo(bob)
    assert (_name(ann, a), _name(ann, b)) == ("Ada", None)


def test_undo_never_takes_back_someone_elses_later_decision(clients: Clients) -> None:
    ann, bob, ids, a, b = clients
    face = ids[0][0]
    ops.move_faces(ann, [face], b)
    bob.mark_seen()
    ops.confirm_faces(bob, [face])  # Bob looked at it in b and agrees: his decision now too
    ops.move_faces(bob, [face], a)  # ... then changes his mind
    with pytest.raises(ConflictError, match="bob@desktop changed face"):
        ops.undo(ann)
    assert _owner(ann, face) == (a, AssignmentSource.USER)
    ops.undo(bob)  # Bob's own undo works
    assert _owner(ann, face) == (b, AssignmentSource.USER)


def test_a_person_someone_else_merged_away_is_explained(clients: Clients) -> None:
    ann, bob, ids, a, b = clients
    ops.merge_people(bob, b, [a])  # Ann still sees a
    with pytest.raises(ConflictError, match=r"no person with id .*bob@desktop changed the library .*refresh"):
        ops.move_faces(ann, [ids[8][0]], a)
    ann.mark_seen()
    with pytest.raises(FaceorgError, match="no person with id") as refused:
        ops.move_faces(ann, [ids[8][0]], a)  # after a refresh it is a plain mistake
    assert not isinstance(refused.value, ConflictError)


def test_a_new_operation_drops_only_the_callers_redo(clients: Clients) -> None:
    ann, bob, _, a, b = clients
    ops.hide_person(ann, a)
    ops.undo(ann)
    ops.hide_person(bob, b)  # Bob's new operation leaves Ann's redo alone
    ops.redo(ann)
    with ann.session() as s:
        assert s.scalars(select(Person.hidden).order_by(Person.id)).all() == [True, True]


def _race(moves: list[tuple[Library, int]], face: int) -> dict[str, object]:
    """Run the moves of ``face`` at the same moment, one thread each; what each client got."""
    start = threading.Barrier(len(moves))
    outcome: dict[str, object] = {}

    def move(library: Library, target: int) -> None:
        start.wait()
        try:
            ops.move_faces(library, [face], target)
            outcome[library.client] = target
        except Exception as exc:  # noqa: BLE001 - the test checks it is the one clear refusal
            outcome[library.client] = exc

    threads = [threading.Thread(target=move, args=m) for m in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome


def test_racing_moves_of_one_face_lose_no_decision(clients: Clients, db_location: Path | str) -> None:
    """Ann and Bob move the same face to different people at the same moment, ten times over: each time
    exactly one move lands and the other is refused; the face ends where the move that landed put it."""
    ann, bob, ids, a, b = clients
    ops.name_person(ann, a, "Ada")  # named: neither person disappears when the races empty them
    ops.name_person(ann, b, "Bea")
    for n in range(10):  # a different face each time, so both moves change it; the last two belong to nobody
        face = ids[n][0]
        ann.mark_seen()
        bob.mark_seen()
        outcome = _race([(ann, a), (bob, b)], face)
        landed = [v for v in outcome.values() if isinstance(v, int)]
        assert len(landed) == 1 and sum(isinstance(v, ConflictError) for v in outcome.values()) == 1, (n, outcome)
        assert _owner(ann, face) == (landed[0], AssignmentSource.USER)
    with open_library(db_location) as fresh, fresh.session() as s:  # the undo log: exactly the moves that landed
        assert s.scalar(select(func.count()).select_from(Operation).where(Operation.kind == "move")) == 10
