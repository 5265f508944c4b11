"""The People view's listing at scale: each person's face count kept by the database (``people.face_count``,
migration 0011_people_listing) through every kind of change, and the first page of cards read without
counting every face, equal to the start of the full list, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import bindparam, delete, func, insert, select, update

from faceorg.people import ops
from faceorg.people.gui_support import first_cards, person_cards
from faceorg.people.queries import list_people
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, Person, Photo, PhotoStatus
from tests.libgen import make_library

N_PHOTOS = 24


@pytest.fixture()
def lib(db_location: Path | str) -> tuple[Library, list[int]]:
    """24 photos of one face each, nobody assigned yet."""
    rng = np.random.default_rng(3)
    qualities = [[round(0.3 + 0.02 * i, 2)] for i in range(N_PHOTOS)]
    library, ids = make_library(db_location, [[rng.normal(size=8)] for _ in range(N_PHOTOS)], qualities=qualities)
    yield library, [f[0] for f in ids]
    library.close()


def stored_vs_counted(library: Library) -> tuple[dict[int, int], dict[int, int]]:
    """Every person's stored count, and the count of their assignments."""
    with library.session() as s:
        stored = dict(s.execute(select(Person.id, Person.face_count)).all())
        counted = dict(s.execute(select(Assignment.person_id, func.count()).group_by(Assignment.person_id)).all())
    return stored, {p: counted.get(p, 0) for p in stored}


def assert_counts_kept(library: Library) -> None:
    stored, counted = stored_vs_counted(library)
    assert stored == counted


def test_stored_face_counts_follow_every_change(lib: tuple[Library, list[int]]) -> None:
    library, f = lib
    assert_counts_kept(library)
    steps = [
        lambda: ops.create_person(library, "Ann", f[0:6]),
        lambda: ops.create_person(library, "Bob", f[6:10]),
        lambda: ops.create_person(library, "Cy", f[10:12]),
        lambda: ops.move_faces(library, f[0:2], _id(library, "Bob")),
        lambda: ops.split_faces(library, f[2:4], "Dee"),
        lambda: ops.reject_faces(library, [f[4]], _id(library, "Ann")),
        lambda: ops.merge_people(library, _id(library, "Ann"), [_id(library, "Cy"), _id(library, "Dee")]),
        lambda: ops.ignore_faces(library, [f[5]]),
        lambda: ops.delete_person(library, _id(library, "Bob")),
    ]
    for step in steps:
        step()
        assert_counts_kept(library)
    for _ in steps:
        ops.undo(library)
        assert_counts_kept(library)
    for _ in range(4):
        ops.redo(library)
        assert_counts_kept(library)


def test_stored_face_counts_follow_bulk_writes_and_cascades(lib: tuple[Library, list[int]]) -> None:
    """What grouping writes (many rows per statement, and executemany), and rows deleted by the database
    itself (a face or a photo removed, a person deleted)."""
    library, f = lib
    table = Assignment.__table__  # Core statements, as grouping writes them
    with library.transaction() as s:
        a, b, c = (s.scalar(insert(Person).values(hidden=False).returning(Person.id)) for _ in range(3))
        s.execute(insert(table), [{"face_id": x, "person_id": a if i % 2 else b, "source": AssignmentSource.AUTO}
                                       for i, x in enumerate(f[:16])])
    assert_counts_kept(library)
    with library.transaction() as s:
        col = table.c  # type: ignore[attr-defined]
        s.execute(update(table).where(col.face_id == bindparam("f")).values(person_id=bindparam("p")),
                  [{"f": x, "p": c} for x in f[:6]])
        s.execute(update(table).where(col.face_id.in_(f[6:9])).values(strength=0.5))  # no move
        s.execute(update(table).where(col.face_id.in_(f[9:12])).values(person_id=a))
        s.execute(delete(table).where(col.face_id == bindparam("f")), [{"f": f[12]}, {"f": f[13]}])
    assert_counts_kept(library)
    with library.transaction() as s:
        s.execute(delete(Face.__table__).where(Face.__table__.c.id == f[14]))  # its assignment goes with it
        photo = s.scalar(select(Face.photo_id).where(Face.id == f[15]))
        s.execute(delete(Photo.__table__).where(Photo.__table__.c.id == photo))
    assert_counts_kept(library)
    with library.transaction() as s:
        s.execute(delete(Person.__table__).where(Person.__table__.c.id == a))
    assert_counts_kept(library)
    assert stored_vs_counted(library)[0][c] == 6


def _id(library: Library, name: str) -> int:
    with library.session() as s:
        pid = s.scalar(select(Person.id).where(Person.name == name))
    assert pid is not None
    return pid


def _varied_people(library: Library, f: list[int]) -> None:
    """Named people (one hidden), unnamed groups of different sizes (one hidden, two of equal size), a named
    person without faces, and an unnamed group without faces (not shown)."""
    at = 0
    with library.transaction() as s:
        for name, n in [("Zoe", 2), ("ann", 1), ("Ben", 3), ("Hid", 2), ("Empty", 0), (None, 4), (None, 1),
                        (None, 3), (None, 3), (None, 2), (None, 0)]:
            p = Person(name=name, hidden=name == "Hid")
            s.add(p)
            s.flush()
            for x in f[at:at + n]:
                s.add(Assignment(face_id=x, person_id=p.id, source=AssignmentSource.USER if name else
                                 AssignmentSource.AUTO))
            at += n
        s.flush()
        hidden_group = s.scalars(select(Person).where(Person.name.is_(None)).order_by(Person.id)).all()[2]
        hidden_group.hidden = True


@pytest.mark.parametrize("missing", [False, True])
def test_first_page_is_the_start_of_every_card(lib: tuple[Library, list[int]], missing: bool) -> None:
    library, f = lib
    _varied_people(library, f)
    if missing:  # a photo gone from disk: its face counts for no one (counts corrected, order may change)
        with library.transaction() as s:
            photo = s.scalar(select(Face.photo_id).where(Face.id == f[3]))  # one of Ben's three
            s.execute(update(Photo).where(Photo.id == photo).values(status=PhotoStatus.MISSING))
    every = person_cards(library)
    shown = [c for c in every if not c.hidden]
    # The same cards, counts and order as the listing that counts every face.
    assert [(c.id, c.name, c.face_count) for c in every] == \
        [(p.id, p.name, p.face_count) for p in list_people(library, include_hidden=True)]
    assert [c.name for c in shown[:4]] == ["ann", "Ben", "Empty", "Zoe"]
    assert [c.face_count for c in shown[4:]] == [4, 3, 2, 1]  # then unnamed groups, biggest first
    assert next(c for c in every if c.name == "Ben").face_count == (2 if missing else 3)
    for limit in range(1, len(every) + 2):
        page, complete = first_cards(library, limit)
        assert page == shown[:limit], limit
        assert not complete  # hidden cards exist: only the full list has them


def test_first_page_is_complete_when_it_holds_everyone(lib: tuple[Library, list[int]]) -> None:
    library, f = lib
    ops.create_person(library, "Ann", f[:2])
    ops.create_person(library, "Bob", f[2:3])
    page, complete = first_cards(library, 10)
    assert [c.name for c in page] == ["Ann", "Bob"] and complete
    page, complete = first_cards(library, 2)
    assert [c.name for c in page] == ["Ann", "Bob"] and not complete  # as many as asked: maybe more


def test_migration_counts_the_faces_of_an_older_library(tmp_path: Path) -> None:
    """A library made before 0011_people_listing gets every person's count when it is opened."""
    import shutil

    from faceorg.store import open_library

    path = tmp_path / "lib.sqlite"
    shutil.copyfile(Path(__file__).parent / "data" / "libraries" / "schema-0004_prompts.sqlite", path)
    with open_library(path) as library:
        assert stored_vs_counted(library) == ({1: 1, 2: 1}, {1: 1, 2: 1})
        ops.merge_people(library, 1, [2])  # and keeps them from then on
        assert stored_vs_counted(library)[0] == {1: 2}
