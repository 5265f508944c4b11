"""The undo log: each user operation stores the rows it changed, before and after.

Faces the user drew are whole rows of the log (``drawn_faces``, with their chips and embeddings; binary
columns kept as base64 text), so undo removes or restores them; detected faces only change status.

An operation declares the rows it is about to change (:meth:`Recorder.touch`); when it ends, the
recorder reads them again and keeps the pairs that differ. Undo writes the "before" states back,
redo the "after" states. Rows are restored in foreign-key order, and a row that points at something
an automatic step has since removed (a re-clustered unnamed group) is restored without that link.

In a library several people use at once, each operation records its client; undo and redo take only
the caller's own operations, and a change (or an undo) that would overwrite rows another client changed
since the caller last saw them is refused with :class:`~faceorg.errors.ConflictError` instead.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from faceorg.errors import ConflictError, FaceorgError
from faceorg.people.changes import ChangeSet
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    FaceChip,
    FaceNameOrigin,
    FaceNotPerson,
    FaceStatus,
    ModelVersion,
    Operation,
    Person,
    Photo,
    PromptAnswer,
    table_of,
)

Row = dict[str, Any]
Key = tuple[Any, ...]


class _Spec:
    def __init__(self, table: Table, key: Sequence[str], cols: Sequence[str], *, update_only: bool = False,
                 enums: dict[str, type[enum.Enum]] | None = None, binary: frozenset[str] = frozenset()) -> None:
        self.table, self.key, self.cols, self.update_only = table, tuple(key), tuple(cols), update_only
        self.enums = enums or {}
        self.binary = binary  # bytes columns, logged as base64 text


SPECS: dict[str, _Spec] = {
    "people": _Spec(table_of(Person), ["id"], ["name", "hidden", "cover_face_id"]),
    "photos": _Spec(table_of(Photo), ["id"], ["is_collage"], update_only=True),
    "faces": _Spec(table_of(Face), ["id"], ["status"], update_only=True,
                   enums={"status": FaceStatus}),
    # A face the user drew: the whole row (created_at aside), so undo and redo remove and restore it.
    "drawn_faces": _Spec(table_of(Face), ["id"], ["photo_id", "x", "y", "w", "h", "landmarks", "score", "blur",
                                                  "quality", "status", "manual"], enums={"status": FaceStatus}),
    "face_chips": _Spec(table_of(FaceChip), ["face_id"], ["image"], binary=frozenset({"image"})),
    "embeddings": _Spec(table_of(Embedding), ["face_id", "model_version_id"], ["vector", "features"],
                        binary=frozenset({"vector", "features"})),
    "assignments": _Spec(table_of(Assignment), ["face_id"],
                         ["person_id", "source", "distance", "runner_up_id", "runner_up_distance", "strength"],
                         enums={"source": AssignmentSource}),
    "face_not_person": _Spec(table_of(FaceNotPerson), ["face_id", "person_id"], []),
    "cannot_link": _Spec(table_of(CannotLink), ["face_a", "face_b"], []),
    "prompt_answers": _Spec(table_of(PromptAnswer), ["key"], ["kind", "answer", "face_a", "face_b", "faces"]),
    "face_name_origins": _Spec(table_of(FaceNameOrigin), ["face_id"], ["name", "origin", "path"]),
}
# Inserts and updates go in this order, deletes in the reverse order (foreign keys). Drawn faces come first:
# a person's cover may be one of them, and they hang on photos, which undo never inserts or deletes.
ORDER = ["drawn_faces", "people", "photos", "faces", "face_chips", "embeddings", "assignments", "face_not_person",
         "cannot_link", "prompt_answers", "face_name_origins"]
CHUNK = 500


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value.value if isinstance(value, enum.Enum) else value


class Recorder:
    """Collects the before and after states of the rows one operation changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._before: dict[tuple[str, Key], Row | None] = {}

    def touch(self, table: str, keys: Iterable[Key]) -> None:
        """Remember the current state of these rows (keys in the table's key-column order)."""
        fresh = [k for k in dict.fromkeys(tuple(k) for k in keys) if (table, k) not in self._before]
        if not fresh:
            return
        found = self._read(table, fresh)
        for k in fresh:
            self._before[(table, k)] = found.get(k)

    def created(self, table: str, keys: Iterable[Key]) -> None:
        """Record rows this operation has just inserted (they did not exist before it)."""
        for k in keys:
            self._before[(table, tuple(k))] = None

    def touch_where(self, table: str, column: str, values: Iterable[Any]) -> None:
        """Remember every row whose ``column`` is one of ``values`` (e.g. all rows of a person)."""
        spec = SPECS[table]
        col = spec.table.c[column]
        values = list(values)
        keys: list[Key] = []
        for i in range(0, len(values), CHUNK):
            stmt = select(*[spec.table.c[k] for k in spec.key]).where(col.in_(values[i:i + CHUNK]))
            keys.extend(tuple(r) for r in self.session.execute(stmt))
        self.touch(table, keys)

    def _read(self, table: str, keys: list[Key]) -> dict[Key, Row]:
        spec = SPECS[table]
        cols = [spec.table.c[c] for c in (*spec.key, *spec.cols)]
        out: dict[Key, Row] = {}
        for i in range(0, len(keys), CHUNK):
            part = keys[i:i + CHUNK]
            if len(spec.key) == 1:
                cond = spec.table.c[spec.key[0]].in_([k[0] for k in part])
            else:
                cond = tuple_(*[spec.table.c[k] for k in spec.key]).in_(part)
            for row in self.session.execute(select(*cols).where(cond)).mappings():
                key = tuple(row[k] for k in spec.key)
                out[key] = {c: _plain(row[c]) for c in spec.cols}
        return out

    def entries(self) -> list[dict[str, Any]]:
        """The changed rows as JSON-able entries ``{"t": table, "k": key, "b": before, "a": after}``."""
        self.session.flush()
        by_table: dict[str, list[Key]] = {}
        for table, key in self._before:
            by_table.setdefault(table, []).append(key)
        result = []
        for table in ORDER:
            keys = by_table.get(table, [])
            after = self._read(table, keys) if keys else {}
            for key in keys:
                before, now = self._before[(table, key)], after.get(key)
                if before != now:
                    result.append({"t": table, "k": list(key), "b": before, "a": now})
        return result


def changes_of(entries: list[dict[str, Any]]) -> ChangeSet:
    """Which people, faces and photos a list of undo entries concerns."""
    cs = ChangeSet()
    for e in entries:
        t, k, b, a = e["t"], e["k"], e["b"], e["a"]
        if t == "people":
            (cs.people_added if b is None else cs.people_removed if a is None else cs.people_changed).add(k[0])
        elif t == "assignments":
            cs.faces_changed.add(k[0])
            cs.people_changed |= {s["person_id"] for s in (b, a) if s is not None}
        elif t in ("faces", "face_not_person", "face_name_origins"):
            cs.faces_changed.add(k[0])
        elif t == "drawn_faces":
            (cs.faces_added if b is None else cs.faces_removed if a is None else cs.faces_changed).add(k[0])
            cs.photos_changed |= {s["photo_id"] for s in (b, a) if s is not None}
        elif t in ("face_chips", "embeddings"):
            cs.faces_changed.add(k[0])
        elif t == "cannot_link":
            cs.faces_changed |= set(k)
        elif t == "photos":
            cs.photos_changed.add(k[0])
        elif t == "prompt_answers":  # the question (and its faces): views showing it refresh
            cs.questions_changed.add(str(k[0]))
            cs.faces_changed |= {s[c] for s in (b, a) if s is not None for c in ("face_a", "face_b")
                                 if s[c] is not None}
    cs.people_changed -= cs.people_added | cs.people_removed
    cs.faces_changed -= cs.faces_added | cs.faces_removed
    return cs


def apply_states(session: Session, entries: list[dict[str, Any]], which: str) -> None:
    """Write the ``"b"`` (undo) or ``"a"`` (redo) state of every entry back to the database."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_table.setdefault(e["t"], []).append(e)
    for table in ORDER:  # inserts and updates, parents first
        for e in by_table.get(table, []):
            state = e[which]
            if state is not None:
                _upsert(session, table, tuple(e["k"]), state)
    for table in reversed(ORDER):  # deletes, children first
        spec = SPECS[table]
        for e in by_table.get(table, []):
            if e[which] is None and not spec.update_only:
                session.execute(delete(spec.table).where(_key_cond(spec, tuple(e["k"]))))
    session.flush()


def _key_cond(spec: _Spec, key: Key) -> ColumnElement[bool]:
    return and_(*[spec.table.c[k] == v for k, v in zip(spec.key, key)])


def _exists(session: Session, table: Table, column: str, value: Any) -> bool:
    return value is None or session.execute(select(table.c[column]).where(table.c[column] == value)).first() is not None


def _stored(spec: _Spec, column: str, value: Any) -> Any:
    """A logged value as the column stores it (enum members, bytes from base64)."""
    if value is None:
        return None
    if column in spec.enums:
        return spec.enums[column](value)
    return base64.b64decode(value) if column in spec.binary else value


def _upsert(session: Session, table: str, key: Key, state: Row) -> None:
    spec = SPECS[table]
    values = {c: _stored(spec, c, v) for c, v in state.items()}
    people, faces = SPECS["people"].table, SPECS["faces"].table
    # Links to rows an automatic step removed since the operation are dropped, not restored.
    if table == "people" and not _exists(session, faces, "id", values.get("cover_face_id")):
        values["cover_face_id"] = None
    if table == "assignments":
        if not _exists(session, people, "id", values["person_id"]):
            session.execute(delete(spec.table).where(_key_cond(spec, key)))
            return
        if not _exists(session, people, "id", values.get("runner_up_id")):
            values["runner_up_id"] = None
    if table == "face_not_person" and not _exists(session, people, "id", key[1]):
        return
    if table == "drawn_faces" and not _exists(session, SPECS["photos"].table, "id", values["photo_id"]):
        return  # its photo has left the library since
    if table in ("face_chips", "embeddings") and not _exists(session, faces, "id", key[0]):
        return
    if table == "embeddings" and not _exists(session, table_of(ModelVersion), "id", key[1]):
        return  # a model version deleted since
    present = session.execute(select(spec.table.c[spec.key[0]]).where(_key_cond(spec, key))).first() is not None
    if present:
        if values:
            session.execute(update(spec.table).where(_key_cond(spec, key)).values(**values))
    elif not spec.update_only:
        session.execute(insert(spec.table).values(**dict(zip(spec.key, key)), **values))


def _mine(client: str | None) -> ColumnElement[bool]:
    """Operations of ``client`` (and those recorded before operations had clients); None: anybody's."""
    if client is None:
        return Operation.id.is_not(None)
    return or_(Operation.client == client, Operation.client.is_(None))


def _rows_of(entries: list[dict[str, Any]]) -> set[tuple[str, Key]]:
    return {(e["t"], tuple(e["k"])) for e in entries}


def _describe(rows: set[tuple[str, Key]]) -> str:
    people = sorted({k[0] for t, k in rows if t == "people"})
    faces = sorted({k[0] for t, k in rows if t in ("faces", "assignments", "face_not_person")})
    parts = ([f"person {', '.join(map(str, people[:5]))}"] if people else []) + \
            ([f"face {', '.join(map(str, faces[:5]))}"] if faces else [])
    return " and ".join(parts) or "the same rows"


def newest_by_others(session: Session, client: str | None, since: int) -> Operation | None:
    """The newest operation another client made after ``since`` (what this client's user has not seen)."""
    if client is None:
        return None
    return session.scalars(select(Operation).where(Operation.id > since, Operation.client.is_not(None),
                                                   Operation.client != client)
                           .order_by(Operation.id.desc()).limit(1)).first()


def stale_view_error(session: Session, error: FaceorgError, client: str | None, since: int) -> FaceorgError:
    """``error`` (a person or face not found, ...), explained when another client changed the library since
    the caller last looked: that change is likely why, and a refresh shows it."""
    other = newest_by_others(session, client, since)
    if other is None or isinstance(error, ConflictError):
        return error
    return ConflictError(f"{error} ({other.client} changed the library after you last looked, last with "
                         f"“{other.label}”: refresh to see their changes)")


def check_conflicts(session: Session, entries: list[dict[str, Any]], client: str | None, since: int,
                    doing: str) -> None:
    """Refuse ``entries`` when another client's operation after ``since`` changed any of the same rows:
    the caller decided on what it saw before that change, and writing now would silently undo it."""
    if client is None or not entries:
        return
    rows = _rows_of(entries)
    later = session.scalars(select(Operation).where(Operation.id > since, Operation.client.is_not(None),
                                                    Operation.client != client).order_by(Operation.id))
    for other in later:
        overlap = rows & _rows_of(other.changes)
        if overlap:
            raise ConflictError(
                f"{other.client} changed {_describe(overlap)} (“{other.label}”) after you last looked, so "
                f"{doing} was not done: refresh to see their change, then decide again")


def record_operation(session: Session, recorder: Recorder, kind: str, label: str, *, client: str | None = None,
                     seen: int | None = None) -> ChangeSet:
    """Store the operation in the undo log (dropping the client's redo stack) and return its change record.

    ``client``: who does it; ``seen``: the newest operation that client's user had seen; a change by
    another client after that to the same rows raises :class:`ConflictError` (the caller rolls back)."""
    entries = recorder.entries()
    if seen is not None:
        check_conflicts(session, entries, client, seen, f"“{label}”")
    cs = changes_of(entries)
    cs.label = label
    if not entries:
        return cs
    session.execute(delete(Operation).where(Operation.undone.is_(True), _mine(client)))
    op = Operation(kind=kind, label=label, changes=entries, client=client)
    session.add(op)
    session.flush()
    cs.operation_id = op.id
    return cs


def last_undoable(session: Session, client: str | None = None) -> Operation | None:
    """The newest operation ``client`` (None: anybody) can undo."""
    return session.scalars(select(Operation).where(Operation.undone.is_(False), _mine(client))
                           .order_by(Operation.id.desc()).limit(1)).first()


def next_redoable(session: Session, client: str | None = None) -> Operation | None:
    """The oldest undone operation of ``client`` (None: anybody), which redo does next."""
    return session.scalars(select(Operation).where(Operation.undone.is_(True), _mine(client))
                           .order_by(Operation.id.asc()).limit(1)).first()
