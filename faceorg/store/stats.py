"""Counts for `faceorg status`."""

from __future__ import annotations

from sqlalchemy import func, select

from faceorg.store.db import Library
from faceorg.store.models import Assignment, Face, FaceStatus, LibraryFolder, Person, Photo, PhotoStatus
from faceorg.store.state import GROUPING_PENDING, SCAN_PROBLEMS, get_state


def library_status(library: Library) -> dict[str, int | str]:
    """The library at a glance.

    ``photos`` counts readable photos present on disk; ``faces`` counts faces the user has not marked
    as "not a face"; ``unassigned_faces`` counts normal faces that belong to nobody yet;
    ``grouping_pending`` (a bool) says faces wait for a grouping that was interrupted or not run yet.
    """
    with library.session() as s:
        by_status = dict(s.execute(select(Photo.status, func.count()).group_by(Photo.status)).all())
        faces = s.scalar(select(func.count()).select_from(Face).where(Face.status != FaceStatus.NOT_FACE)) or 0
        ignored = s.scalar(select(func.count()).select_from(Face).where(Face.status == FaceStatus.IGNORED)) or 0
        unassigned = s.scalar(
            select(func.count()).select_from(Face).outerjoin(Assignment, Assignment.face_id == Face.id)
            .where(Face.status == FaceStatus.NORMAL, Assignment.face_id.is_(None))) or 0
        people = s.scalar(select(func.count()).select_from(Person)) or 0
        named = s.scalar(select(func.count()).select_from(Person).where(Person.name.is_not(None))) or 0
        folders = s.scalar(select(func.count()).select_from(LibraryFolder)) or 0
        analyzed = s.scalar(select(func.count()).select_from(Photo).where(Photo.faces_key.is_not(None))) or 0
        pending = bool(get_state(s, GROUPING_PENDING, False))
    return {
        "database": library.display,
        "folders": folders,
        "photos": by_status.get(PhotoStatus.OK, 0),
        "photos_pending": by_status.get(PhotoStatus.PENDING, 0),
        "photos_failed": by_status.get(PhotoStatus.FAILED, 0),
        "photos_missing": by_status.get(PhotoStatus.MISSING, 0),
        "photos_analyzed": analyzed,
        "faces": faces,
        "ignored_faces": ignored,
        "people": people,
        "named_people": named,
        "unassigned_faces": unassigned,
        "grouping_pending": pending,
    }


def failed_photos(library: Library) -> list[tuple[str, str]]:
    """(path, error) of every photo that could not be read."""
    with library.session() as s:
        rows = s.execute(select(Photo.path, Photo.error).where(Photo.status == PhotoStatus.FAILED)
                         .order_by(Photo.path))
        return [(path, error or "") for path, error in rows]


def scan_problems(library: Library) -> list[dict[str, str]]:
    """What the last complete scan could not read or did not follow, besides photos: each a dict of
    ``path``, ``problem`` (in words) and ``kind`` (folder, link: a dangling link, outside_link: a link
    leading outside the library folders, file: a file that could not be looked at)."""
    with library.session() as s:
        return list(get_state(s, SCAN_PROBLEMS, []))
