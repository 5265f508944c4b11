"""Library folders: add, remove, list. A folder inside another library folder is not added twice."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from faceorg.errors import FaceorgError
from faceorg.filenames import display_path
from faceorg.store.cleanup import drop_empty_unnamed
from faceorg.store.db import Library
from faceorg.store.models import Assignment, Face, LibraryFolder, Photo, PhotoStatus


@dataclass(frozen=True)
class FolderInfo:
    id: int
    path: str
    photos: int
    failed: int
    missing: int
    exists: bool


def normalize_folder(path: str | Path) -> str:
    """The absolute, symlink-resolved form of a folder path, as stored."""
    return str(Path(path).expanduser().resolve())


def _contains(parent: str, child: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def add_folder(library: Library, path: str | Path) -> tuple[FolderInfo, bool]:
    """Add a folder to the library; returns it and whether it was new.

    Adding a folder that holds library folders absorbs them (their photos keep their records).
    """
    folder = normalize_folder(path)
    if not os.path.isdir(folder):
        raise FaceorgError(f"not a folder: {display_path(str(path))}")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise FaceorgError(f"cannot read folder: {display_path(str(path))}")
    with library.transaction() as session:
        existing = list(session.scalars(select(LibraryFolder)))
        for f in existing:
            if _contains(f.path, folder):
                return _info(session, f), False
        row = LibraryFolder(path=folder)
        session.add(row)
        session.flush()
        for f in existing:
            if _contains(folder, f.path):
                session.execute(update(Photo).where(Photo.folder_id == f.id).values(folder_id=row.id))
                session.delete(f)
        session.flush()
        return _info(session, row), True


@dataclass(frozen=True)
class RemovedFolder:
    """What removing a library folder took away (the change record of the removal)."""

    info: FolderInfo
    photo_ids: list[int]
    face_ids: list[int]
    people_changed: list[int]  # people who lost faces and remain
    people_removed: list[int]  # unnamed groups whose faces were all in the folder


def remove_folder(library: Library, path: str | Path) -> RemovedFolder:
    """Remove a folder from the library with all its photo records (the files are not touched)."""
    wanted = {str(path), normalize_folder(path), os.path.abspath(os.path.expanduser(str(path)))}
    with library.transaction() as session:
        row = session.scalars(select(LibraryFolder).where(LibraryFolder.path.in_(wanted))).first()
        if row is None:
            raise FaceorgError(f"not a library folder: {display_path(str(path))} (see `faceorg library list`)")
        info = _info(session, row)
        photo_ids = list(session.scalars(select(Photo.id).where(Photo.folder_id == row.id).order_by(Photo.id)))
        faces = select(Face.id).where(Face.photo_id.in_(photo_ids))
        face_ids = list(session.scalars(faces.order_by(Face.id)))
        touched = set(session.scalars(select(Assignment.person_id).where(Assignment.face_id.in_(faces))))
        session.delete(row)
        removed = drop_empty_unnamed(session)  # groups whose faces were all in this folder
        return RemovedFolder(info, photo_ids, face_ids, sorted(touched - set(removed)), sorted(removed))


def list_folders(library: Library) -> list[FolderInfo]:
    with library.session() as session:
        return [_info(session, f) for f in session.scalars(select(LibraryFolder).order_by(LibraryFolder.path))]


def _info(session: Session, folder: LibraryFolder) -> FolderInfo:
    counts = dict(session.execute(
        select(Photo.status, func.count()).where(Photo.folder_id == folder.id).group_by(Photo.status)).all())
    return FolderInfo(id=folder.id, path=folder.path,
                      photos=sum(counts.values()) - counts.get(PhotoStatus.MISSING, 0),
                      failed=counts.get(PhotoStatus.FAILED, 0), missing=counts.get(PhotoStatus.MISSING, 0),
                      exists=os.path.isdir(folder.path))
