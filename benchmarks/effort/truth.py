"""What the oracle knows (who each face is) and what "a correct library" means.

Truth: the central face of every photo (box centre nearest the photo centre) is the person of the
photo's folder; every other face is a stranger (``None``), as in ``benchmarks/corrections``. The
people to sort are the identities with two or more faces in the library.

Goal (:func:`unfinished`): every face of a person to sort is with the person of that name (assigned by
the user or automatically; a pending suggestion is not yet with them), and every other face is
unsorted, ignored, not a face, or alone in an unnamed group (never with a named person, never in an
unnamed group with other faces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from corrections.oracle import (
    central_faces,  # benchmarks/ is on sys.path: ``effort`` is imported from it
)
from faceorg.store.db import Library
from faceorg.store.models import Assignment, Face, Person

Truth = dict[int, str | None]  # face id -> identity (None: a stranger)


@dataclass(frozen=True)
class FaceState:
    """One face as the app shows it: its status, and its person (id, name, source of the assignment)."""

    id: int
    status: str = "normal"  # normal, ignored, not_face
    person_id: int | None = None
    person_name: str | None = None
    source: str | None = None  # user, auto, suggested


Snapshot = dict[int, FaceState]


def face_truth(library: Library, folder: Path | None = None) -> Truth:
    """Every face's identity (central face of a photo: its folder's name; others: None); with ``folder``,
    only the faces of photos under it."""
    photos = central_faces(library, folder)
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.photo_id)).all()
    truth: Truth = {f: None for f, p in rows if p in photos}
    for identity, face in photos.values():
        if face is not None:
            truth[face] = identity
    return truth


def people_to_sort(truth: Mapping[int, str | None]) -> set[str]:
    """Identities with two or more faces."""
    counts = Counter(t for t in truth.values() if t is not None)
    return {t for t, n in counts.items() if n >= 2}


def snapshot(library: Library) -> Snapshot:
    """Every face's status and person (one query; the same facts the People, Person and Unknown views show)."""
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.status, Assignment.person_id, Person.name, Assignment.source)
                         .outerjoin(Assignment, Assignment.face_id == Face.id)
                         .outerjoin(Person, Person.id == Assignment.person_id)).all()
    return {f: FaceState(f, _value(st), pid, name, _value(src) if src is not None else None)
            for f, st, pid, name, src in rows}


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


def group_sizes(state: Mapping[int, FaceState]) -> Counter[int]:
    """Faces per person (normal faces only)."""
    return Counter(s.person_id for s in state.values() if s.person_id is not None and s.status == "normal")


def is_done(face: FaceState, identity: str | None, to_sort: set[str], sizes: Mapping[int, int]) -> bool:
    """Whether one face is where the goal wants it (see the module docstring)."""
    if identity is not None and identity in to_sort:
        return face.status == "normal" and face.person_name == identity and face.source in ("user", "auto")
    if face.status != "normal" or face.person_id is None:
        return True
    return face.person_name is None and sizes.get(face.person_id, 0) <= 1


def unfinished(state: Mapping[int, FaceState], truth: Mapping[int, str | None]) -> list[int]:
    """Faces (of ``truth``) not yet where the goal wants them."""
    to_sort = people_to_sort(truth)
    sizes = group_sizes(state)
    return sorted(f for f, identity in truth.items()
                  if f in state and not is_done(state[f], identity, to_sort, sizes))
