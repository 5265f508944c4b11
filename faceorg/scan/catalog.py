"""Compare what is on disk with what the library knows, and plan the work of a scan."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceorg.scan.walker import FoundFile
from faceorg.store.models import Photo, PhotoStatus


class Reason(str, enum.Enum):
    NEW = "new"  # a path the library has never seen (maybe a moved photo)
    CHANGED = "changed"  # size or mtime differ from the record
    RETURNED = "returned"  # a missing photo is back at its path
    UNFINISHED = "unfinished"  # recorded but never read (a scan stopped before it)
    FACES = "faces"  # unchanged, but its faces were never found with the current settings
    RETRY = "retry"  # unchanged, but it failed for a passing reason (gone for a moment, no permission)


# Errors that say nothing about the file's content: the file was away or not readable for a while (a
# folder moved away during a scan and back, a permission fixed, a drive unplugged). Such photos are
# read again by every scan, even though chmod and a move back leave size and mtime as they were.
# Failures that are about the content (corrupt, not an image, too large) are read again only when the
# file changes, so a library with broken files does not decode them on every scan.
TRANSIENT_ERRORS = ("cannot read file:", "permission denied", "file not found")


def is_transient(error: str | None) -> bool:
    """Whether a photo's recorded error may go away without the file changing."""
    return error is not None and error.lower().startswith(TRANSIENT_ERRORS)


@dataclass(frozen=True)
class ReadJob:
    """A file to read (hash and decode) in a worker thread."""

    path: str
    size: int
    mtime_ns: int
    folder_id: int
    reason: Reason
    photo_id: int | None = None
    old_hash: str | None = None
    old_faces_key: str | None = None
    was_failed: bool = False  # the photo could not be read last time

    @property
    def needs_hash(self) -> bool:
        return self.reason is not Reason.FACES


@dataclass(frozen=True)
class GonePhoto:
    photo_id: int
    path: str
    content_hash: str | None


@dataclass
class ScanPlan:
    """Everything a scan has to do, decided before any file is read."""

    jobs: list[ReadJob] = field(default_factory=list)
    unchanged: int = 0
    # Photos recorded under the scanned folders but not found: moved (if a new file has their hash) or missing.
    gone: list[GonePhoto] = field(default_factory=list)


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


_PLAN_FIELDS = (Photo.id, Photo.path, Photo.size, Photo.mtime_ns, Photo.status, Photo.faces_key, Photo.error,
                Photo.content_hash)


def plan_scan(session: Session, walked: dict[int, tuple[str, list[FoundFile]]], faces_key: str | None) -> ScanPlan:
    """Plan a scan of the walked folders (folder id -> (folder path, files found)).

    ``faces_key`` is the face analyser's fingerprint, or None when faces are not analysed in this scan.
    """
    plan = ScanPlan()
    seen: set[str] = set()
    for folder_id, (folder_path, files) in walked.items():
        # Plain rows with the fields planning needs, not ORM objects: a big folder's ~10 objects per
        # photo set off full garbage collections that stall the GUI thread beside the scan.
        records = {p.path: p for p in session.execute(select(*_PLAN_FIELDS).where(Photo.folder_id == folder_id))}
        for f in files:
            seen.add(f.path)
            rec = records.get(f.path)
            if rec is None:
                plan.jobs.append(ReadJob(f.path, f.size, f.mtime_ns, folder_id, Reason.NEW))
                continue
            same_stat = rec.size == f.size and rec.mtime_ns == f.mtime_ns
            if rec.status is PhotoStatus.MISSING:
                reason: Reason | None = Reason.RETURNED
            elif rec.status is PhotoStatus.PENDING:
                reason = Reason.UNFINISHED
            elif not same_stat:
                reason = Reason.CHANGED
            elif rec.status is PhotoStatus.OK and faces_key is not None and rec.faces_key != faces_key:
                reason = Reason.FACES
            elif rec.status is PhotoStatus.FAILED and is_transient(rec.error):
                reason = Reason.RETRY
            else:
                reason = None
            if reason is None:
                plan.unchanged += 1
            else:
                plan.jobs.append(ReadJob(f.path, f.size, f.mtime_ns, folder_id, reason, rec.id,
                                         rec.content_hash, rec.faces_key, rec.status is PhotoStatus.FAILED))
        for path, rec in records.items():
            if path not in seen and rec.status is not PhotoStatus.MISSING and _under(path, folder_path):
                plan.gone.append(GonePhoto(rec.id, path, rec.content_hash))
    # Records of the scanned folders whose path lies elsewhere (a folder was re-rooted) are left alone.
    return plan
