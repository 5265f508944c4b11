"""The incremental scan: walk, plan, read in worker threads, analyse faces in batches, commit in batches.

A killed scan leaves the database consistent (each batch is one transaction, and a photo's faces are
written in the same transaction that marks it analysed), and the next scan resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from faceorg.errors import CancelledError, FaceorgError
from faceorg.filenames import display_path
from faceorg.files import bytes_sha256, sha256_file
from faceorg.imaging.budget import MemoryBudget, default_budget
from faceorg.imaging.decode import PhotoInfo, PhotoReadError, WorkingImage, load_working_image
from faceorg.pipeline.analysis import AnalyzedFace, FaceAnalyzer
from faceorg.progress import Progress
from faceorg.scan.backend import AnalysisBackend, LocalBackend
from faceorg.scan.catalog import GonePhoto, ReadJob, Reason, plan_scan
from faceorg.scan.face_merge import SAME_FACE_IOU, iou_matrix, match_boxes
from faceorg.scan.walker import FoundFile, IgnoreRules, WalkError, collect_photos
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    FaceChip,
    FaceNotPerson,
    FaceStatus,
    LibraryFolder,
    Photo,
    PhotoStatus,
    utcnow,
)
from faceorg.store.scan_lock import scan_lock
from faceorg.store.state import GROUPING_PENDING, SCAN_PROBLEMS, set_state

log = logging.getLogger(__name__)

VALIDATE_SIDE = 256  # decode size used only to prove a photo is readable when faces are not analysed


@dataclass
class ScanSummary:
    """What a scan did; also the change record the GUI refreshes from."""

    folders: int = 0
    files_seen: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    unchanged: int = 0
    missing: int = 0
    returned: int = 0
    failed: int = 0
    # Photos that had failed and were read again (their file changed, or the error was a passing one),
    # and how many of them are readable now.
    retried: int = 0
    recovered: int = 0
    # Symbolic links not followed because they lead outside the library folders (listed in ``skipped``).
    skipped_links: int = 0
    analyzed: int = 0
    faces_found: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Seconds per stage: "read" (hash + decode, summed over worker threads), "analyze", "store".
    timings: dict[str, float] = field(default_factory=dict)
    added_photo_ids: list[int] = field(default_factory=list)
    changed_photo_ids: list[int] = field(default_factory=list)
    new_face_ids: list[int] = field(default_factory=list)
    # Where the faces were analysed when not in this process (``{"backend": "ray", "workers": 2, ...}``).
    remote: dict[str, Any] | None = None

    def one_line(self) -> str:
        parts = [f"{self.files_seen} photos in {self.folders} folder{'s' if self.folders != 1 else ''}",
                 f"{self.new} new", f"{self.changed} changed", f"{self.moved} moved",
                 f"{self.missing} missing", f"{self.failed} failed"]
        if self.skipped_links:
            parts.append(f"{self.skipped_links} link{'s' if self.skipped_links != 1 else ''} to outside "
                         "the library skipped")
        if self.retried:
            parts.append(f"{self.retried} failed before retried ({self.recovered} now readable)")
        if self.analyzed:
            parts.append(f"{self.faces_found} faces found in {self.analyzed} photos")
        head = "Scan cancelled" if self.cancelled else "Scanned"
        return f"{head}: " + ", ".join(parts) + f" ({self.seconds:.1f} s)"


@dataclass(frozen=True)
class ReadResult:
    job: ReadJob
    content_hash: str | None
    image: WorkingImage | None
    error: str | None
    seconds: float = 0.0
    # Set by a backend that finds the faces where it reads the photo (and does not send its pixels):
    # the faces found (None: not analysed there), and the photo's info.
    faces: list[AnalyzedFace] | None = None
    remote_info: PhotoInfo | None = None

    @property
    def info(self) -> PhotoInfo | None:
        """What the catalogue stores about the photo; None when it could not be read."""
        return self.image.info if self.image is not None else self.remote_info


STREAM_ABOVE = 64 << 20  # files larger than this are hashed from disk instead of read into memory


def read_photo(job: ReadJob, decode_side: int | None, reduced_decode: bool = True,
               budget: MemoryBudget | None = None) -> ReadResult:
    """Hash and decode one file (runs in a worker thread; touches no database)."""
    start = time.perf_counter()
    result = _read_photo(job, decode_side, reduced_decode, budget)
    return ReadResult(result.job, result.content_hash, result.image, result.error, time.perf_counter() - start)


def _read_photo(job: ReadJob, decode_side: int | None, reduced_decode: bool,
                budget: MemoryBudget | None) -> ReadResult:
    try:
        if job.size > STREAM_ABOVE:
            digest = sha256_file(job.path) if job.needs_hash else None
            source: bytes | str = job.path
        else:
            data = Path(job.path).read_bytes()
            digest = bytes_sha256(data) if job.needs_hash else None
            source = data
            if not data:
                return ReadResult(job, digest, None, "empty file (0 bytes)")
    except OSError as exc:
        return ReadResult(job, None, None, f"cannot read file: {exc.strerror or exc}")
    try:
        image = load_working_image(source, max_side=decode_side, reduced_decode=reduced_decode, budget=budget,
                                   name=job.path)
    except PhotoReadError as exc:
        return ReadResult(job, digest, None, str(exc))
    return ReadResult(job, digest, image, None)


class Scanner:
    """Runs one scan of a library; see :func:`scan_library`."""

    def __init__(self, library: Library, *, analyzer: FaceAnalyzer | None, progress: Progress,
                 rules: IgnoreRules, workers: int, batch_size: int, decode_side: int | None = None,
                 reduced_decode: bool = True, follow_outside_links: bool = False,
                 budget: MemoryBudget | None = None, backend: AnalysisBackend | None = None) -> None:
        self.library = library
        self.backend = backend or LocalBackend(workers)
        self.budget = budget
        self.follow_outside_links = follow_outside_links
        self.analyzer = analyzer
        self.progress = progress
        self.rules = rules
        self.workers = workers
        self.batch_size = batch_size
        self.decode_side = decode_side or (analyzer.working_side if analyzer else VALIDATE_SIDE)
        self.reduced_decode = reduced_decode
        self.summary = ScanSummary()
        self._gone_by_hash: dict[str, GonePhoto] = {}
        self._claimed: set[int] = set()

    # -- walking and planning -------------------------------------------------------------------
    def walk(self) -> dict[int, tuple[str, list[FoundFile]]]:
        with self.library.session() as session:
            folders = [(f.id, f.path) for f in session.scalars(select(LibraryFolder).order_by(LibraryFolder.id))]
        self.summary.folders = len(folders)
        self.progress.start("Looking for photos", total=len(folders))
        walked: dict[int, tuple[str, list[FoundFile]]] = {}
        inside = None if self.follow_outside_links else tuple(os.path.realpath(p) for _, p in folders)
        problems: list[WalkError] = []
        for folder_id, path in folders:
            self.progress.check_cancelled()
            if not os.path.isdir(path):
                # An unplugged drive must not turn the whole folder "missing": leave its records alone.
                problems.append(WalkError(path, "library folder not found or not a folder; its photos were "
                                                "left as they were", "folder"))
                self._error(path, problems[-1].message)
                self.progress.advance()
                continue
            result = collect_photos(Path(path), self.rules, inside=inside)
            for err in result.errors:
                self._error(err.path, err.message)
            for link in result.skipped:
                log.info("%s: %s", display_path(link.path), link.message)
                self.summary.skipped.append((link.path, link.message))
            problems += [*result.errors, *result.skipped]
            walked[folder_id] = (path, result.files)
            self.summary.files_seen += len(result.files)
            self.progress.advance()
        self.summary.skipped_links = len(self.summary.skipped)
        with self.library.transaction() as session:
            set_state(session, SCAN_PROBLEMS, [{"path": p.path, "problem": p.message, "kind": p.kind}
                                               for p in problems] or None)
        return walked

    def _error(self, path: str, message: str) -> None:
        log.warning("%s: %s", display_path(path), message)
        self.summary.errors.append((path, message))

    # -- running --------------------------------------------------------------------------------
    def run(self) -> ScanSummary:
        start = time.perf_counter()
        try:
            walked = self.walk()
            key = self.analyzer.key if self.analyzer else None
            with self.library.session() as session:
                plan = plan_scan(session, walked, key)
            self.summary.unchanged = plan.unchanged
            self._gone_by_hash = {g.content_hash: g for g in plan.gone if g.content_hash}
            self._process(plan.jobs)
            self._mark_missing(plan.gone)
        except CancelledError:
            self.summary.cancelled = True
        finally:
            self.summary.seconds = time.perf_counter() - start
        return self.summary

    def _process(self, jobs: list[ReadJob]) -> None:
        self.progress.start(self.backend.stage, total=len(jobs))
        self.summary.remote = self.backend.describe()
        if not jobs:
            return
        read = partial(read_photo, decode_side=self.decode_side, reduced_decode=self.reduced_decode,
                       budget=self.budget)
        batches = self.backend.batches(jobs, self.batch_size, read, self.progress)
        try:
            for batch in batches:
                self._commit_batch(batch)
        finally:
            batches.close()  # stops the backend's workers now, also when a commit failed
            self.summary.remote = self.backend.describe()

    def _commit_batch(self, batch: list[ReadResult]) -> None:
        """Record a batch of photos, then find and store the faces of those that need it.

        Two transactions: a kill between them leaves photos recorded without faces, which the next
        scan plans for analysis.
        """
        needs_faces: list[tuple[int, ReadResult]] = []
        start = time.perf_counter()
        with self.library.transaction() as session:
            for result in batch:
                photo = self._record(session, result)
                if (self.analyzer is not None and photo is not None and result.info is not None
                        and photo.faces_key != self.analyzer.key):
                    needs_faces.append((photo.id, result))
        self._time("store", time.perf_counter() - start)
        if needs_faces:
            found = self._faces_of([result for _, result in needs_faces])
            start = time.perf_counter()
            with self.library.transaction() as session:
                regroup = False
                for (photo_id, _), faces in zip(needs_faces, found):
                    if faces is None:  # not analysed where it was read: the next scan finds its faces
                        continue
                    photo = session.get(Photo, photo_id)
                    if photo is not None:
                        regroup |= self._store_faces(session, photo, faces)
                if regroup:  # with the faces, so a grouping killed later is resumed by the next scan
                    set_state(session, GROUPING_PENDING, True)
            self._time("store", time.perf_counter() - start)
        self._time("read", sum(r.seconds for r in batch))
        self.progress.advance(len(batch))

    def _faces_of(self, results: list[ReadResult]) -> list[list[AnalyzedFace] | None]:
        """The faces of each photo: as found where it was read, else by the analyser here (None: neither)."""
        assert self.analyzer is not None
        local = [r.image for r in results if r.faces is None and r.image is not None]
        start = time.perf_counter()
        found = iter(self.analyzer.analyze(local) if local else [])
        self._time("analyze", time.perf_counter() - start)
        return [r.faces if r.faces is not None else next(found) if r.image is not None else None
                for r in results]

    def _time(self, stage: str, seconds: float) -> None:
        self.summary.timings[stage] = self.summary.timings.get(stage, 0.0) + seconds

    # -- recording ------------------------------------------------------------------------------
    def _record(self, session: Session, result: ReadResult) -> Photo | None:
        job = result.job
        if job.reason is Reason.NEW:
            photo = self._claim_moved(session, result)
            if photo is None:
                photo = Photo(folder_id=job.folder_id, path=job.path, size=job.size, mtime_ns=job.mtime_ns)
                session.add(photo)
                self.summary.new += 1
                new = True
            else:
                new = False
        else:
            photo = session.get(Photo, job.photo_id)
            if photo is None:  # removed meanwhile (library folder removed)
                return None
            new = False
            if job.reason is Reason.CHANGED:
                self.summary.changed += 1
            elif job.reason is Reason.RETURNED:
                self.summary.returned += 1
            if job.reason in (Reason.CHANGED, Reason.RETURNED) and result.content_hash != job.old_hash:
                photo.faces_key = None  # find its faces again (keeping what the user decided about them)
                self.summary.changed_photo_ids.append(photo.id)
        photo.size, photo.mtime_ns = job.size, job.mtime_ns
        if result.content_hash is not None:
            photo.content_hash = result.content_hash
        photo.scanned_at = utcnow()
        if job.was_failed:
            self.summary.retried += 1
            self.summary.recovered += result.error is None
        if result.error is not None:
            photo.status, photo.error = PhotoStatus.FAILED, result.error
            self.summary.failed += 1
            self._error(job.path, result.error)
        else:
            info = result.info
            assert info is not None  # a read without an error has its image or its info
            photo.status, photo.error = PhotoStatus.OK, None
            photo.width, photo.height, photo.orientation = info.width, info.height, info.orientation
            photo.taken_at = info.taken_at
        session.flush()
        if new:
            self.summary.added_photo_ids.append(photo.id)
        return photo

    def _claim_moved(self, session: Session, result: ReadResult) -> Photo | None:
        """The record of a photo that was moved or renamed to this new path, if there is one."""
        digest = result.content_hash
        if not digest:
            return None
        gone = self._gone_by_hash.pop(digest, None)
        photo = session.get(Photo, gone.photo_id) if gone else None
        if photo is not None and photo.content_hash != digest:  # changed meanwhile
            photo = None
        if photo is None:  # a photo marked missing by an earlier scan
            photo = session.scalars(select(Photo).where(Photo.content_hash == digest,
                                                        Photo.status == PhotoStatus.MISSING).limit(1)).first()
        if photo is None:
            return None
        log.info("recognised %s as moved from %s", display_path(result.job.path), display_path(photo.path))
        photo.path, photo.folder_id = result.job.path, result.job.folder_id
        self._claimed.add(photo.id)
        self.summary.moved += 1
        self.summary.changed_photo_ids.append(photo.id)
        return photo

    def _store_faces(self, session: Session, photo: Photo, faces: list[AnalyzedFace]) -> bool:
        """Store a photo's detected faces, updating the faces it already had where boxes overlap.

        An old face no longer detected is dropped unless the user decided something about it.
        Returns whether any face was stored or dropped (the faces need grouping).
        """
        assert self.analyzer is not None
        old = list(session.scalars(select(Face).where(Face.photo_id == photo.id).order_by(Face.id)))
        # A face the user drew stays as drawn: a detection on it is that face already, not a new one.
        drawn = [(f.x, f.y, f.w, f.h) for f in old if f.manual]
        faces = [f for f in faces if not drawn or iou_matrix([f.box], drawn).max() < SAME_FACE_IOU]
        old = [f for f in old if not f.manual]
        matched = match_boxes([(f.x, f.y, f.w, f.h) for f in old], [f.box for f in faces])
        for i, found in enumerate(faces):
            face = old[matched[i]] if i in matched else Face(photo_id=photo.id)
            face.x, face.y, face.w, face.h = found.box
            face.landmarks = [float(v) for v in found.landmarks]
            face.score, face.blur, face.quality = found.score, found.sharpness, found.quality
            if i not in matched:
                session.add(face)
                session.flush()
                self.summary.new_face_ids.append(face.id)
            else:
                session.execute(delete(FaceChip).where(FaceChip.face_id == face.id))
                session.execute(delete(Embedding).where(Embedding.face_id == face.id))
            session.add(FaceChip(face_id=face.id, image=found.chip))
            session.add(Embedding(face_id=face.id, model_version_id=self.analyzer.model_version_id,
                                  vector=np.asarray(found.vector, np.float32).tobytes(),
                                  features=np.asarray(found.features, np.float32).tobytes()))
        kept = set(matched.values())
        gone = [f.id for j, f in enumerate(old) if j not in kept]
        decided = user_decided_faces(session, gone)
        if gone:
            session.execute(delete(Face).where(Face.id.in_([f for f in gone if f not in decided])))
        photo.faces_key, photo.face_count = self.analyzer.key, len(faces) + len(decided) + len(drawn)
        self.summary.analyzed += 1
        self.summary.faces_found += len(faces)
        return bool(faces or gone)

    def _mark_missing(self, gone: list[GonePhoto]) -> None:
        still_gone = [g for g in gone if g.photo_id not in self._claimed]
        if not still_gone:
            return
        with self.library.transaction() as session:
            for g in still_gone:
                photo = session.get(Photo, g.photo_id)
                if photo is not None and photo.path == g.path:
                    photo.status = PhotoStatus.MISSING
                    self.summary.missing += 1
                    self.summary.changed_photo_ids.append(photo.id)


def user_decided_faces(session: Session, face_ids: list[int]) -> set[int]:
    """Those of ``face_ids`` the user decided something about (placed, rejected, ignored, drew)."""
    if not face_ids:
        return set()
    decided = set(session.scalars(select(Face.id).where(
        Face.id.in_(face_ids), (Face.status != FaceStatus.NORMAL) | Face.manual.is_(True))))
    decided |= set(session.scalars(select(Assignment.face_id).where(
        Assignment.face_id.in_(face_ids), Assignment.source == AssignmentSource.USER)))
    decided |= set(session.scalars(select(FaceNotPerson.face_id).where(FaceNotPerson.face_id.in_(face_ids))))
    decided |= set(session.scalars(select(CannotLink.face_a).where(CannotLink.face_a.in_(face_ids))))
    decided |= set(session.scalars(select(CannotLink.face_b).where(CannotLink.face_b.in_(face_ids))))
    return decided


def scan_library(library: Library, *, analyzer: FaceAnalyzer | None = None, progress: Progress | None = None,
                 rules: IgnoreRules | None = None, workers: int | None = None, batch_size: int = 32,
                 decode_side: int | None = None, reduced_decode: bool = True,
                 follow_outside_links: bool | None = None, decode_budget: int | None = None,
                 backend: AnalysisBackend | None = None) -> ScanSummary:
    """Scan every library folder incrementally; see the module docstring.

    Photos are decoded to ``decode_side`` (default: the analyser's working size, or a small size that
    only proves they are readable when faces are not analysed).

    Symbolic links are followed only into the library folders unless ``follow_outside_links`` (default:
    the library's setting of that name).

    ``decode_budget``: bytes all workers together may hold in images being decoded (None: a quarter of
    the memory up to 1 GiB, see :func:`~faceorg.imaging.budget.default_budget`; 0: no bound, for comparison).

    ``backend``: where the photos are read and, for a remote backend, their faces found (default: a
    thread pool of ``workers`` threads here; see :mod:`faceorg.scan.backend`).

    Cancelling through ``progress`` stops after the current batch; the summary says so.
    """
    if workers is None:
        workers = max(1, min(8, os.cpu_count() or 1))
    if batch_size < 1:
        raise FaceorgError("batch size must be at least 1")
    if follow_outside_links is None:
        follow_outside_links = load_settings(library).follow_outside_links
    scanner = Scanner(library, analyzer=analyzer, progress=progress or Progress(), rules=rules or IgnoreRules(),
                      workers=workers, batch_size=batch_size, decode_side=decode_side,
                      reduced_decode=reduced_decode, follow_outside_links=follow_outside_links,
                      budget=None if decode_budget == 0 else MemoryBudget(decode_budget or default_budget()),
                      backend=backend)
    with scan_lock(library.path):  # one scan of a library at a time
        return scanner.run()


