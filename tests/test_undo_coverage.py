"""Undo records every column the user can change: run every people operation, see which columns its SQL
writes, and compare with the columns faceorg.people.undo records (a column missing there would not come
back on undo)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event

from faceorg.people import ops
from faceorg.people.queries import list_people
from faceorg.people.undo import SPECS
from faceorg.store import Library
from faceorg.store.models import AssignmentSource
from tests.libgen import two_groups_library

# The undo log itself: written by every operation, never undone.
BOOKKEEPING = {"operations"}


def automatic_columns() -> set[tuple[str, str]]:
    """Timestamps the models fill in themselves (a default or on-update clock): no user sets them."""
    from sqlalchemy import DateTime

    from faceorg.store.models import Base

    return {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
            if isinstance(c.type, DateTime) and (c.default is not None or c.onupdate is not None)}
UPDATE = re.compile(r"^\s*UPDATE\s+\"?(\w+)\"?\s+SET\s+(.*?)(?:\s+WHERE\s|$)", re.S | re.I)
INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)\"?\s*\(([^)]*)\)", re.S | re.I)
UPSERT_SET = re.compile(r"ON\s+CONFLICT.*?DO\s+UPDATE\s+SET\s+(.*)$", re.S | re.I)


def written_columns(sql: str) -> set[tuple[str, str]]:
    """(table, column) pairs an INSERT or UPDATE statement writes."""
    out: set[tuple[str, str]] = set()
    if m := UPDATE.match(sql):
        out |= {(m[1], c) for c in re.findall(r"\"?(\w+)\"?\s*=", m[2])}
    elif m := INSERT.match(sql):
        out |= {(m[1], c.strip().strip('"')) for c in m[2].split(",")}
        if u := UPSERT_SET.search(sql):
            out |= {(m[1], c) for c in re.findall(r"\"?(\w+)\"?\s*=", u[1])}
    return out


@pytest.fixture()
def lib(tmp_path: Path) -> tuple[Library, list[list[int]]]:
    library, ids = two_groups_library(tmp_path / "lib.sqlite", second=AssignmentSource.SUGGESTED, distance=0.3)
    yield library, ids
    library.close()


def user_operations() -> set[str]:
    """Every people operation a user can run (each returns a change record), undo and redo aside."""
    return {name for name, fn in inspect.getmembers(ops, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == ops.__name__ and name not in ("undo", "redo")
            and inspect.signature(fn).return_annotation in ("ChangeSet", ops.ChangeSet)}


def scripts(ids: list[list[int]], a: int, b: int) -> dict[str, Callable[[Library], object]]:
    f = [row[0] for row in ids]
    return {
        "create_person": lambda lib: ops.create_person(lib, "Carol", [f[8]]),
        "name_person": lambda lib: ops.name_person(lib, a, "Alice"),
        "merge_people": lambda lib: ops.merge_people(lib, a, [b]),
        "hide_person": lambda lib: ops.hide_person(lib, a, True),
        "set_cover": lambda lib: ops.set_cover(lib, a, f[1]),
        "delete_person": lambda lib: ops.delete_person(lib, b),
        "split_faces": lambda lib: ops.split_faces(lib, [f[0], f[1]], "Dora"),
        "move_faces": lambda lib: ops.move_faces(lib, [f[2]], b),
        "assign_faces_to_name": lambda lib: ops.assign_faces_to_name(lib, [f[9]], "Alice"),
        "reject_faces": lambda lib: ops.reject_faces(lib, [f[3]], a),
        "mark_not_face": lambda lib: ops.mark_not_face(lib, [f[9]]),
        "ignore_faces": lambda lib: ops.ignore_faces(lib, [f[8]]),
        "restore_faces": lambda lib: (ops.ignore_faces(lib, [f[8]]), ops.restore_faces(lib, [f[8]])),
        "ignore_strangers_in_photo": lambda lib: ops.ignore_strangers_in_photo(lib, 11),
        "ignore_unnamed_groups": lambda lib: ops.ignore_unnamed_groups(lib),
        "suggest_faces": lambda lib: ops.suggest_faces(lib, [f[8], f[9]], a, {f[8]: 0.31}),
        "accept_suggestions": lambda lib: ops.accept_suggestions(lib, [f[4]]),
        "confirm_faces": lambda lib: ops.confirm_faces(lib, [f[0], f[4]]),
        "reject_suggestions": lambda lib: ops.reject_suggestions(lib, [f[5]]),
        "set_collage": lambda lib: ops.set_collage(lib, 11, True),
        "add_cannot_link": lambda lib: ops.add_cannot_link(lib, f[0], f[1]),
        "name_faces": lambda lib: ops.name_faces(lib, {f[2]: "Alice", f[9]: "Erin"}, label="Import names"),
    }


def test_undo_records_every_column_people_operations_write(lib: tuple[Library, list[list[int]]]) -> None:
    library, ids = lib
    people = sorted(p.id for p in list_people(library))
    a, b = people[0], people[1]
    script = scripts(ids, a, b)
    assert user_operations() <= set(script), f"add these operations to the test: {user_operations() - set(script)}"
    writes: dict[tuple[str, str], set[str]] = {}
    current = {"op": ""}

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        for pair in written_columns(statement):
            writes.setdefault(pair, set()).add(current["op"])

    event.listen(library.engine, "before_cursor_execute", seen)
    try:
        for name, run in script.items():
            current["op"] = name
            run(library)
            while ops.undo_redo_labels(library)[0] is not None:  # each operation starts from the same library
                current["op"] = "undo"
                ops.undo(library)
    finally:
        event.remove(library.engine, "before_cursor_execute", seen)
    recorded = {(spec.table.name, c) for spec in SPECS.values() for c in (*spec.key, *spec.cols)}
    missing = {pair: sorted(by - {"undo"}) for pair, by in writes.items()
               if pair[0] not in BOOKKEEPING and pair not in recorded | automatic_columns() and by - {"undo"}}
    assert not missing, "columns people operations write that undo does not record: " + ", ".join(
        f"{t}.{c} (by {', '.join(by)})" for (t, c), by in sorted(missing.items()))
    assert ("people", "name") in writes and ("assignments", "person_id") in writes  # the capture works
