"""People operations: every user action on people and faces, each undoable, each returning a ChangeSet.

Faces the user places or confirms get the source ``user``; automatic steps never move them. Rules:
naming a group names the person: the faces it holds stay automatic (the user has not looked at each) until
confirmed (``confirm_faces``, or the faces named with a face the user picked); naming with a name another
person has merges the two, and merging keeps who decided each face; splitting faces off a person records
that they are not that person; "not this person" is kept forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from faceorg.errors import FaceorgError
from faceorg.people.changes import ChangeSet
from faceorg.people.names import clean_name
from faceorg.people.undo import (
    Recorder,
    apply_states,
    changes_of,
    check_conflicts,
    last_undoable,
    next_redoable,
    record_operation,
    stale_view_error,
)
from faceorg.store.cleanup import drop_empty_unnamed, empty_unnamed_people
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Face,
    FaceNotPerson,
    FaceStatus,
    Person,
    Photo,
)
from faceorg.store.shared import lock_decisions


@dataclass
class _Op:
    session: Session
    recorder: Recorder
    label: str
    changes: ChangeSet | None = None


@contextmanager
def _operation(library: Library, kind: str, label: str) -> Iterator[_Op]:
    """One undoable operation in one transaction (one user decision at a time in a shared library)."""
    with library.transaction() as session:
        lock_decisions(session)
        op = _Op(session, Recorder(session), label)
        try:
            yield op
        except FaceorgError as exc:  # e.g. a person another client merged away since this user looked
            raise stale_view_error(session, exc, library.client, library.seen_operation) from exc
        _drop_empty_unnamed(op)
        op.changes = record_operation(session, op.recorder, kind, op.label, client=library.client,
                                      seen=library.seen_operation)


# More changes an operation's caller adds to the same undo entry (a review answer's mark).
Also = Callable[[_Op], None] | None


def _also(op: _Op, also: Also) -> None:
    if also is not None:
        also(op)


def _result(op: _Op) -> ChangeSet:
    assert op.changes is not None
    return op.changes


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise FaceorgError(f"no person with id {person_id} (see `faceorg people list`)")
    return person


def require_faces(session: Session, face_ids: Iterable[int]) -> list[Face]:
    """The faces with these ids; a clear error when none is given or one does not exist."""
    ids = sorted(set(face_ids))
    if not ids:
        raise FaceorgError("no faces given")
    faces = list(session.scalars(select(Face).where(Face.id.in_(ids))))
    missing = set(ids) - {f.id for f in faces}
    if missing:
        raise FaceorgError(f"no face with id {', '.join(map(str, sorted(missing)))}")
    return faces


def _faces_of(session: Session, person_ids: Iterable[int]) -> list[int]:
    return list(session.scalars(select(Assignment.face_id).where(Assignment.person_id.in_(list(person_ids)))))


def _assign(op: _Op, face_ids: list[int], person_id: int, *, keep_source: bool = False) -> None:
    """Give faces to a person as the user's decision (lifting any "not this person" for that pair).

    ``keep_source``: faces keep who decided them (a merge moves automatic faces as automatic ones).
    """
    s, rec = op.session, op.recorder
    rec.touch("assignments", [(f,) for f in face_ids])
    rec.touch("face_not_person", [(f, person_id) for f in face_ids])
    rec.touch("faces", [(f,) for f in face_ids])
    s.execute(delete(FaceNotPerson).where(FaceNotPerson.person_id == person_id,
                                          FaceNotPerson.face_id.in_(face_ids)))
    existing = {a.face_id: a for a in s.scalars(select(Assignment).where(Assignment.face_id.in_(face_ids)))}
    for face_id in face_ids:
        a = existing.get(face_id)
        if a is None:
            s.add(Assignment(face_id=face_id, person_id=person_id, source=AssignmentSource.USER))
        elif keep_source and a.source is not AssignmentSource.USER:
            if a.person_id != person_id:
                a.person_id = person_id
                a.distance = a.runner_up_id = a.runner_up_distance = None  # measured against the old person
        else:
            a.person_id, a.source = person_id, AssignmentSource.USER
            a.distance = a.runner_up_id = a.runner_up_distance = a.strength = None
    for face in s.scalars(select(Face).where(Face.id.in_(face_ids), Face.status != FaceStatus.NORMAL)):
        face.status = FaceStatus.NORMAL  # placing a face with someone says it is a face worth keeping
    _evict_automatic_in_same_photos(op, face_ids, person_id)
    _check_same_photo(s, face_ids, person_id)


def _evict_automatic_in_same_photos(op: _Op, face_ids: list[int], person_id: int) -> None:
    """The user's placement wins: other faces of the same photos automatically given to this person leave."""
    s = op.session
    photos = select(Face.photo_id).join(Photo, Photo.id == Face.photo_id).where(
        Face.id.in_(face_ids), Photo.is_collage.is_(False))
    rivals = list(s.scalars(
        select(Assignment.face_id).join(Face, Face.id == Assignment.face_id)
        .where(Face.photo_id.in_(photos), Assignment.person_id == person_id,
               Assignment.source != AssignmentSource.USER, ~Assignment.face_id.in_(face_ids))))
    if rivals:
        _unassign(op, rivals)
        _clear_cover_if_gone(op, [person_id])  # an evicted face may have been the cover


def _check_same_photo(s: Session, face_ids: list[int], person_id: int) -> None:
    """Refuse to put two faces of one ordinary photo with the same person."""
    s.flush()
    rows = s.execute(
        select(Face.photo_id, func.count()).join(Assignment, Assignment.face_id == Face.id)
        .join(Photo, Photo.id == Face.photo_id)
        .where(Assignment.person_id == person_id, Photo.is_collage.is_(False),
               Assignment.source == AssignmentSource.USER)
        .group_by(Face.photo_id).having(func.count() > 1)).all()
    if rows:
        raise FaceorgError(
            "two faces in one photo cannot be the same person (to allow it, mark the photo as a collage or mirror "
            "shot: “Collage or Mirror Photo” in the app's photo view, or `faceorg photos collage PHOTO_ID`); "
            f"photo ids: {', '.join(str(r[0]) for r in rows)}")


def _unassign(op: _Op, face_ids: list[int]) -> None:
    op.recorder.touch("assignments", [(f,) for f in face_ids])
    op.session.execute(delete(Assignment).where(Assignment.face_id.in_(face_ids)))


def _drop_empty_unnamed(op: _Op) -> None:
    """Unnamed groups left without faces disappear (recorded, so undo brings them back)."""
    op.session.flush()
    op.recorder.touch("people", [(p,) for p in op.session.scalars(empty_unnamed_people())])
    drop_empty_unnamed(op.session)


def _clear_cover_if_gone(op: _Op, person_ids: Iterable[int]) -> None:
    s = op.session
    s.flush()
    for pid in set(person_ids):
        person = s.get(Person, pid)
        if person is None or person.cover_face_id is None:
            continue
        owner = s.scalar(select(Assignment.person_id).where(Assignment.face_id == person.cover_face_id))
        if owner != pid:
            op.recorder.touch("people", [(pid,)])
            person.cover_face_id = None


# -- people ---------------------------------------------------------------------------------------------
def create_person(library: Library, name: str, face_ids: Iterable[int] = ()) -> ChangeSet:
    """A new named person, optionally with faces."""
    name = clean_name(name)
    ids = sorted(set(face_ids))
    with _operation(library, "create", f"Create person “{name}”") as op:
        if op.session.scalar(select(Person.id).where(Person.name == name)) is not None:
            raise FaceorgError(f"there is already a person named “{name}”")
        person = Person(name=name)
        op.session.add(person)
        op.session.flush()
        op.recorder.created("people", [(person.id,)])
        if ids:
            require_faces(op.session, ids)
            previous = _owners(op.session, ids)
            _assign(op, ids, person.id)
            _clear_cover_if_gone(op, previous)
    return _result(op)


def _owners(s: Session, face_ids: list[int]) -> set[int]:
    return set(s.scalars(select(Assignment.person_id).where(Assignment.face_id.in_(face_ids))))


def name_person(library: Library, person_id: int, name: str, confirm: Iterable[int] = (),
                take_out: Iterable[int] = ()) -> ChangeSet:
    """Name or rename a person; a name another person already has merges this one into them.

    Naming names the person, not each face: the faces the group holds keep their source (automatic ones
    stay automatic until confirmed). ``confirm``: faces of this person the user did look at (the face
    named in the Photo view), confirmed in the same operation. ``take_out``: faces of the group that are
    not this person ("Name the Others"): turned down ("not this person", back to unsorted) in the same
    operation.
    """
    name = clean_name(name)
    seen = sorted(set(confirm))
    out = sorted(set(take_out))
    with library.session() as s:
        person = _person(s, person_id)
        _check_take_out(s, person_id, out, seen)
        other = s.scalar(select(Person.id).where(Person.name == name, Person.id != person_id))
    taken = f" ({len(out)} face{'' if len(out) == 1 else 's'} taken out)" if out else ""
    if other is not None:
        return merge_people(library, other, [person_id], label=f"Merge into “{name}”{taken}", confirm=seen,
                            also=(lambda op: _reject_pairs(op, [(f, other) for f in out])) if out else None)
    with _operation(library, "name", f"Name “{name}”{taken}") as op:
        person = _person(op.session, person_id)
        op.recorder.touch("people", [(person_id,)])
        if person.name is not None and person.name != name:
            op.label = f"Rename “{person.name}” to “{name}”{taken}"
        person.name = name
        _reject_pairs(op, [(f, person_id) for f in out])
        _confirm(op, seen, person_id)
    return _result(op)


def _check_take_out(s: Session, person_id: int, take_out: list[int], confirm: list[int]) -> None:
    """The faces to take out while naming must be some (not all) of the person's faces, none of them confirmed
    in the same step."""
    if not take_out:
        return
    require_faces(s, take_out)
    mine = set(_faces_of(s, [person_id]))
    strays = [f for f in take_out if f not in mine]
    if strays:
        raise FaceorgError(f"face {', '.join(map(str, strays))} does not belong to person {person_id}")
    if mine <= set(take_out):
        raise FaceorgError("taking out every face leaves nobody to name; use Not This Person instead")
    both = sorted(set(take_out) & set(confirm))
    if both:
        raise FaceorgError(f"face {', '.join(map(str, both))} cannot be both confirmed and taken out")


def _confirm(op: _Op, face_ids: list[int], person_id: int | None = None) -> None:
    """The user looked at these faces and agrees with where they are (of ``person_id``, when given)."""
    if not face_ids:
        return
    s = op.session
    require_faces(s, face_ids)
    owners = {a.face_id: a.person_id for a in s.scalars(select(Assignment).where(Assignment.face_id.in_(face_ids)))}
    nobody = [f for f in face_ids if f not in owners]
    if nobody:
        raise FaceorgError(f"face {', '.join(map(str, nobody))} belongs to nobody; name it or move it to someone")
    wrong = [f for f in face_ids if person_id is not None and owners[f] != person_id]
    if wrong:
        raise FaceorgError(f"face {', '.join(map(str, wrong))} does not belong to person {person_id}")
    by_person: dict[int, list[int]] = {}
    for f in face_ids:
        by_person.setdefault(owners[f], []).append(f)
    for pid, ids in sorted(by_person.items()):
        _assign(op, ids, pid)


def merge_people(library: Library, target_id: int, source_ids: Iterable[int], *, label: str | None = None,
                 confirm: Iterable[int] = (), also: Also = None) -> ChangeSet:
    """Merge people into ``target_id``: their faces and their "not this person" rules.

    Faces keep who decided them (an automatic face of a merged group stays automatic); ``confirm``: faces
    the user looked at, confirmed with the target in the same operation. The target keeps its name; an
    unnamed target takes the first source's name. ``also`` adds more changes to the same undoable
    operation (e.g. the review question this merge answers).
    """
    sources = sorted(set(source_ids) - {target_id})
    if not sources:
        raise FaceorgError("choose at least one other person to merge")
    with _operation(library, "merge", label or "Merge people") as op:
        s, rec = op.session, op.recorder
        target = _person(s, target_id)
        people = [_person(s, p) for p in sources]
        rec.touch("people", [(p,) for p in [target_id, *sources]])
        rec.touch_where("face_not_person", "person_id", sources)
        moved = _faces_of(s, sources)
        if moved:
            _assign(op, moved, target_id, keep_source=True)
        # "Not B" for a face means "not A" once A and B are one person.
        rules = list(s.scalars(select(FaceNotPerson.face_id).where(FaceNotPerson.person_id.in_(sources))))
        keep_out = set(rules) - set(_faces_of(s, [target_id]))
        rec.touch("face_not_person", [(f, target_id) for f in keep_out])
        s.execute(delete(FaceNotPerson).where(FaceNotPerson.person_id.in_(sources)))
        for f in keep_out:
            if s.get(FaceNotPerson, (f, target_id)) is None:
                s.add(FaceNotPerson(face_id=f, person_id=target_id))
        names = [p.name for p in people if p.name]
        for p in people:
            s.delete(p)
        s.flush()
        if target.name is None and names:
            target.name = names[0]
        if label is None:
            op.label = f"Merge {len(sources) + 1} people" + (f" into “{target.name}”" if target.name else "")
        _confirm(op, sorted(set(confirm)), target_id)
        _also(op, also)
    return _result(op)


def hide_person(library: Library, person_id: int, hidden: bool = True) -> ChangeSet:
    with _operation(library, "hide", "Hide person" if hidden else "Show person") as op:
        person = _person(op.session, person_id)
        op.recorder.touch("people", [(person_id,)])
        person.hidden = hidden
        if person.name:
            op.label = f"{'Hide' if hidden else 'Show'} “{person.name}”"
    return _result(op)


def set_cover(library: Library, person_id: int, face_id: int) -> ChangeSet:
    with _operation(library, "cover", "Use as cover") as op:
        person = _person(op.session, person_id)
        owner = op.session.scalar(select(Assignment.person_id).where(Assignment.face_id == face_id))
        if owner != person_id:
            raise FaceorgError(f"face {face_id} does not belong to person {person_id}")
        op.recorder.touch("people", [(person_id,)])
        person.cover_face_id = face_id
    return _result(op)


def delete_person(library: Library, person_id: int) -> ChangeSet:
    """Remove a person; their faces become unassigned (and are kept away from them by nothing)."""
    with _operation(library, "delete", "Delete person") as op:
        s, rec = op.session, op.recorder
        person = _person(s, person_id)
        if person.name:
            op.label = f"Delete “{person.name}”"
        _unassign(op, _faces_of(s, [person_id]))
        rec.touch("people", [(person_id,)])
        rec.touch_where("face_not_person", "person_id", [person_id])
        rec.touch_where("assignments", "runner_up_id", [person_id])
        s.execute(delete(FaceNotPerson).where(FaceNotPerson.person_id == person_id))
        s.delete(person)
    return _result(op)


# -- faces ----------------------------------------------------------------------------------------------
def split_faces(library: Library, face_ids: Iterable[int], name: str | None = None, *, also: Also = None) -> ChangeSet:
    """Make the selected faces a new person; they are recorded as not being their previous person."""
    ids = sorted(set(face_ids))
    clean = clean_name(name) if name is not None else None
    with _operation(library, "split", "New person from selection") as op:
        s, rec = op.session, op.recorder
        require_faces(s, ids)
        if clean is not None and s.scalar(select(Person.id).where(Person.name == clean)) is not None:
            raise FaceorgError(f"there is already a person named “{clean}”; use move instead")
        previous = {a.face_id: a.person_id for a in s.scalars(select(Assignment).where(Assignment.face_id.in_(ids)))}
        person = Person(name=clean)
        s.add(person)
        s.flush()
        rec.created("people", [(person.id,)])
        _assign(op, ids, person.id)
        # The split says both ways: these faces are not the old person, and its remaining faces are not them.
        pairs = [(f, p) for f, p in previous.items()]
        pairs += [(f, person.id) for f in _faces_of(s, set(previous.values()))]
        rec.touch("face_not_person", pairs)
        for f, p in pairs:
            if s.get(FaceNotPerson, (f, p)) is None:
                s.add(FaceNotPerson(face_id=f, person_id=p))
        _clear_cover_if_gone(op, previous.values())
        _also(op, also)
    return _result(op)


def move_faces(library: Library, face_ids: Iterable[int], person_id: int, *, also: Also = None) -> ChangeSet:
    """Give faces to a person (the user's decision)."""
    ids = sorted(set(face_ids))
    with _operation(library, "move", "Move faces") as op:
        s = op.session
        require_faces(s, ids)
        person = _person(s, person_id)
        previous = _owners(s, ids)
        _assign(op, ids, person_id)
        _clear_cover_if_gone(op, previous)
        op.label = (f"Move {len(ids)} face{'s' if len(ids) != 1 else ''}"
                    + (f" to “{person.name}”" if person.name else ""))
        _also(op, also)
    return _result(op)


def suggest_faces(library: Library, face_ids: Iterable[int], person_id: int,
                  distances: dict[int, float] | None = None, *, also: Also = None) -> ChangeSet:
    """Offer faces that belong to nobody to a person as suggestions, to be decided one by one (Review's
    Faces); faces that belong to someone already, or that the user said are not this person, are left out."""
    ids = sorted(set(face_ids))
    with _operation(library, "suggest", "Suggest faces") as op:
        s = op.session
        require_faces(s, ids)
        person = _person(s, person_id)
        taken = _owners_of(s, ids)
        refused = set(s.scalars(select(FaceNotPerson.face_id).where(
            FaceNotPerson.person_id == person_id, FaceNotPerson.face_id.in_(ids))))
        free = [f for f in ids if f not in taken and f not in refused]
        if not free:
            raise FaceorgError("these faces already belong to someone (or are not this person)")
        op.recorder.touch("assignments", [(f,) for f in free])
        for f in free:
            s.add(Assignment(face_id=f, person_id=person_id, source=AssignmentSource.SUGGESTED,
                             distance=(distances or {}).get(f)))
        op.label = f"Suggest {len(free)} face{'s' if len(free) != 1 else ''} for “{person.name or 'this group'}”"
        _also(op, also)
    return _result(op)


def _owners_of(s: Session, face_ids: list[int]) -> set[int]:
    return set(s.scalars(select(Assignment.face_id).where(Assignment.face_id.in_(face_ids))))


def assign_faces_to_name(library: Library, face_ids: Iterable[int], name: str) -> ChangeSet:
    """Give faces to the person with this name, creating the person if there is none."""
    clean = clean_name(name)
    with library.session() as s:
        pid = s.scalar(select(Person.id).where(Person.name == clean))
    return move_faces(library, face_ids, pid) if pid is not None else create_person(library, clean, face_ids)


def name_faces(library: Library, names: dict[int, str], *, label: str, kind: str = "name_faces",
               also: Also = None) -> ChangeSet:
    """Give each face to the person of its name (created when there is none) as the user's decision, all in
    one undoable operation (names imported from another tool)."""
    cleaned = {face_id: clean_name(name) for face_id, name in names.items()}
    with _operation(library, kind, label) as op:
        s = op.session
        require_faces(s, cleaned)
        by_name: dict[str, list[int]] = {}
        for face_id, name in sorted(cleaned.items()):
            by_name.setdefault(name, []).append(face_id)
        previous = _owners(s, list(cleaned))
        for name, ids in sorted(by_name.items()):
            pid = s.scalar(select(Person.id).where(Person.name == name))
            if pid is None:
                person = Person(name=name)
                s.add(person)
                s.flush()
                op.recorder.created("people", [(person.id,)])
                pid = person.id
            _assign(op, ids, pid)
        _clear_cover_if_gone(op, previous)
        _also(op, also)
    return _result(op)


def reject_faces(library: Library, face_ids: Iterable[int], person_id: int | None = None, *,
                 also: Also = None) -> ChangeSet:
    """"Not this person": unassign the faces and never give them to that person again.

    Without ``person_id``, each face is rejected from the person it is assigned to now.
    """
    ids = sorted(set(face_ids))
    with _operation(library, "reject", "Not this person") as op:
        s = op.session
        require_faces(s, ids)
        owners = {a.face_id: a.person_id for a in s.scalars(select(Assignment).where(Assignment.face_id.in_(ids)))}
        candidates = [(f, person_id if person_id is not None else owners.get(f)) for f in ids]
        pairs = [(f, p) for f, p in candidates if p is not None]
        if not pairs:
            raise FaceorgError("these faces belong to nobody; nothing to reject")
        _reject_pairs(op, pairs, owners)
        _also(op, also)
    return _result(op)


def _reject_pairs(op: _Op, pairs: list[tuple[int, int]], owners: dict[int, int] | None = None) -> None:
    """Each (face, person): the face is not that person; it leaves them if it is theirs now. ``owners``: the
    faces' current people, when the caller has read them already."""
    if not pairs:
        return
    s, rec = op.session, op.recorder
    for _, p in pairs:
        _person(s, p)
    if owners is None:
        faces = [f for f, _ in pairs]
        owners = {a.face_id: a.person_id
                  for a in s.scalars(select(Assignment).where(Assignment.face_id.in_(faces)))}
    rec.touch("face_not_person", pairs)
    _unassign(op, [f for f, p in pairs if owners.get(f) == p])
    for f, p in pairs:
        if s.get(FaceNotPerson, (f, p)) is None:
            s.add(FaceNotPerson(face_id=f, person_id=p))
    _clear_cover_if_gone(op, {p for _, p in pairs})


def _set_status(library: Library, face_ids: Iterable[int], status: FaceStatus, kind: str, label: str) -> ChangeSet:
    ids = sorted(set(face_ids))
    with _operation(library, kind, label) as op:
        s = op.session
        faces = require_faces(s, ids)
        previous = _owners(s, ids)
        op.recorder.touch("faces", [(f,) for f in ids])
        if status is not FaceStatus.NORMAL:
            _unassign(op, ids)
        for face in faces:
            face.status = status
        _clear_cover_if_gone(op, previous)
    return _result(op)


def mark_not_face(library: Library, face_ids: Iterable[int]) -> ChangeSet:
    """The detector was wrong: these are not faces."""
    return _set_status(library, face_ids, FaceStatus.NOT_FACE, "not_face", "Not a face")


def ignore_faces(library: Library, face_ids: Iterable[int]) -> ChangeSet:
    """Strangers: keep these faces out of people and clustering."""
    return _set_status(library, face_ids, FaceStatus.IGNORED, "ignore", "Ignore faces")


def restore_faces(library: Library, face_ids: Iterable[int]) -> ChangeSet:
    """Undo "ignore" or "not a face" for these faces: they take part in clustering again."""
    return _set_status(library, face_ids, FaceStatus.NORMAL, "restore", "Restore faces")


def ignore_strangers_in_photo(library: Library, photo_id: int) -> ChangeSet:
    """Ignore every face in a photo that belongs to nobody named."""
    with library.session() as s:
        ids = list(s.scalars(
            select(Face.id).outerjoin(Assignment, Assignment.face_id == Face.id)
            .outerjoin(Person, Person.id == Assignment.person_id)
            .where(Face.photo_id == photo_id, Face.status == FaceStatus.NORMAL, Person.name.is_(None))))
    if not ids:
        return ChangeSet(label="Ignore strangers")
    return _set_status(library, ids, FaceStatus.IGNORED, "ignore", "Ignore strangers in photo")


def unnamed_groups_to_ignore(session: Session, min_faces: int = 2) -> dict[int, list[int]]:
    """Unnamed, shown groups of at least ``min_faces`` normal faces that hold no face the user placed:
    group -> its faces (what :func:`ignore_unnamed_groups` would ignore)."""
    rows = session.execute(
        select(Assignment.person_id, Assignment.face_id, Assignment.source)
        .join(Person, Person.id == Assignment.person_id).join(Face, Face.id == Assignment.face_id)
        .where(Person.name.is_(None), Person.hidden.is_(False), Face.status == FaceStatus.NORMAL))
    groups: dict[int, list[int]] = {}
    placed: set[int] = set()
    for person, face, source in rows:
        groups.setdefault(person, []).append(face)
        if source is AssignmentSource.USER:
            placed.add(person)
    return {p: sorted(fs) for p, fs in groups.items() if p not in placed and len(fs) >= max(1, min_faces)}


def ignore_unnamed_groups(library: Library, min_faces: int = 2) -> ChangeSet:
    """Strangers, all at once: ignore every face of every unnamed group of at least ``min_faces`` faces
    (after naming the people one cares about, the groups left are mostly passers-by). Groups holding a
    face the user placed are kept (that was a decision); faces in no group stay as they are."""
    with library.session() as s:
        groups = unnamed_groups_to_ignore(s, min_faces)
    ids = [f for fs in groups.values() for f in fs]
    if not ids:
        raise FaceorgError("there are no unnamed groups to ignore")
    n = len(groups)
    return _set_status(library, ids, FaceStatus.IGNORED, "ignore",
                       f"Ignore {n} unnamed group{'s' if n != 1 else ''}")


def accept_suggestions(library: Library, face_ids: Iterable[int], *, also: Also = None,
                       label: str | None = None) -> ChangeSet:
    """Confirm automatic matches (suggested or auto) as the user's decision (``label``: the undo step's name)."""
    ids = sorted(set(face_ids))
    with _operation(library, "accept", label or ("Accept suggestion" if len(ids) == 1 else "Accept suggestions")) as op:
        s = op.session
        rows = list(s.scalars(select(Assignment).where(Assignment.face_id.in_(ids))))
        if not rows:
            raise FaceorgError("these faces have no suggestion to accept")
        op.recorder.touch("assignments", [(a.face_id,) for a in rows])
        for a in rows:
            a.source = AssignmentSource.USER
        for pid in {a.person_id for a in rows}:
            _check_same_photo(s, [a.face_id for a in rows if a.person_id == pid], pid)
        _also(op, also)
    return _result(op)


def confirm_faces(library: Library, face_ids: Iterable[int]) -> ChangeSet:
    """Confirm that these faces are the person they are with now: automatic faces become the user's decision.

    Confirmed faces never move by themselves and are what matching and retraining learn from.
    """
    ids = sorted(set(face_ids))
    with _operation(library, "confirm", f"Confirm {len(ids)} face{'s' if len(ids) != 1 else ''}") as op:
        if not ids:
            raise FaceorgError("no faces given")
        _confirm(op, ids)
    return _result(op)


def reject_suggestions(library: Library, face_ids: Iterable[int]) -> ChangeSet:
    """Turn down automatic matches: the face is not that person."""
    return reject_faces(library, face_ids)


def set_collage(library: Library, photo_id: int, collage: bool = True) -> ChangeSet:
    """Mark a photo as a collage or mirror shot, where one person may appear more than once."""
    with _operation(library, "collage", "Mark as collage" if collage else "Unmark collage") as op:
        photo = op.session.get(Photo, photo_id)
        if photo is None:
            raise FaceorgError(f"no photo with id {photo_id}")
        op.recorder.touch("photos", [(photo_id,)])
        photo.is_collage = collage
    return _result(op)


def add_cannot_link(library: Library, face_a: int, face_b: int) -> ChangeSet:
    """Faces A and B are different people."""
    a, b = sorted((face_a, face_b))
    if a == b:
        raise FaceorgError("a face cannot be a different person from itself")
    with _operation(library, "cannot_link", "Different people") as op:
        require_faces(op.session, [a, b])
        op.recorder.touch("cannot_link", [(a, b)])
        if op.session.get(CannotLink, (a, b)) is None:
            op.session.add(CannotLink(face_a=a, face_b=b))
    return _result(op)


# -- undo and redo --------------------------------------------------------------------------------------
def undo(library: Library) -> ChangeSet:
    """Undo the latest operation."""
    return _replay(library, undo=True)


def redo(library: Library) -> ChangeSet:
    """Redo the latest undone operation."""
    return _replay(library, undo=False)


def _replay(library: Library, *, undo: bool) -> ChangeSet:
    """Put back the rows of the latest operation as they were before it (undo) or after it (redo)."""
    word = "Undo" if undo else "Redo"
    with library.transaction() as s:
        lock_decisions(s)
        op = last_undoable(s, library.client) if undo else next_redoable(s, library.client)
        if op is None:
            raise FaceorgError(f"nothing to {word.lower()}")
        # Another client's later change to the same rows stays: putting the old rows back would undo it.
        check_conflicts(s, op.changes, library.client, op.id, f"{word.lower()} “{op.label}”")
        apply_states(s, op.changes, "b" if undo else "a")
        op.undone = undo
        cs = changes_of(op.changes)
        if undo:  # the people (and drawn faces) an operation added are the ones its undo removes, and back
            cs.people_added, cs.people_removed = cs.people_removed, cs.people_added
            cs.faces_added, cs.faces_removed = cs.faces_removed, cs.faces_added
        cs.label, cs.operation_id = f"{word} {op.label}", op.id
        return cs


def undo_redo_labels(library: Library) -> tuple[str | None, str | None]:
    """The labels of what Undo and Redo would do now (for the Edit menu)."""
    with library.session() as s:
        u, r = last_undoable(s, library.client), next_redoable(s, library.client)
        return (u.label if u else None, r.label if r else None)
