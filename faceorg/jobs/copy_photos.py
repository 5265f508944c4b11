"""Copy photos to a folder, never overwriting: a name already taken gets " (2)", " (3)"... before its
extension, and a file already there with the same bytes is not copied again.

Each copy is written to a hidden temporary file first and moved onto its name once complete, so an
interrupted copy leaves no half-written photo; the name is claimed by creating it exclusively first, so
nothing else's file is ever replaced. The photos themselves are only read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceorg.errors import CancelledError, FaceorgError
from faceorg.filenames import display_path
from faceorg.files import sha256_file, temp_sibling
from faceorg.jobs.report import JobReport
from faceorg.people.photos import photo_paths
from faceorg.progress import Progress
from faceorg.store.db import Library

MAX_SUFFIX = 10_000  # "name (N).jpg" is tried up to this N


@dataclass(frozen=True)
class CopiedPhoto:
    photo_id: int
    source: str
    target: str


@dataclass(kw_only=True)
class CopyReport(JobReport):
    """Which photos were copied where, which were there already, and which could not be copied (and why)."""

    destination: str
    copied: list[CopiedPhoto] = field(default_factory=list)
    already_there: list[CopiedPhoto] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # photo id, source, reason

    def one_line(self) -> str:
        n = len(self.copied)
        text = f"Copied {n:,} photo{'' if n == 1 else 's'} to {display_path(self.destination)}"
        extra = []
        if self.already_there:
            extra.append(f"{len(self.already_there):,} already there")
        if self.failed:
            extra.append(f"{len(self.failed):,} could not be copied ({self.failed[0][2]})")
        if self.cancelled:
            extra.append("cancelled")
        return text + (f" ({', '.join(extra)})" if extra else "")

    def as_dict(self) -> dict[str, Any]:
        return {"destination": self.destination,
                "copied": [vars(c) for c in self.copied],
                "already_there": [vars(c) for c in self.already_there],
                "failed": [{"photo_id": p, "source": s, "reason": r} for p, s, r in self.failed],
                **super().as_dict()}


def candidate_names(name: str) -> Iterator[str]:
    """``name``, then ``stem (2).ext``, ``stem (3).ext``..."""
    yield name
    stem, ext = os.path.splitext(name)
    for k in range(2, MAX_SUFFIX):
        yield f"{stem} ({k}){ext}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and sha256_file(a) == sha256_file(b)
    except OSError:
        return False


def copy_one(source: Path, folder: Path) -> tuple[Path, bool]:
    """Copy ``source`` into ``folder`` under its own name or the first free " (N)" name.

    Returns the target and whether it was copied (False: that file, with the same bytes, was there already).
    """
    for name in candidate_names(source.name):
        target = folder / name
        try:
            claim = open(target, "xb")  # noqa: SIM115 - claims the name; replaced below
        except FileExistsError:
            if _same_file(source, target):
                return target, False
            continue
        claim.close()
        tmp = temp_sibling(target)
        try:
            shutil.copyfile(source, tmp)
            shutil.copystat(source, tmp)  # keeps the file time, the date of photos without EXIF
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            raise
        return target, True
    raise FaceorgError(f"too many files named like {source.name} in {display_path(str(folder))}")


def copy_photos(library: Library, photo_ids: list[int], destination: str | Path,
                progress: Progress | None = None) -> CopyReport:
    """Copy these photos' files into ``destination`` (created if needed), never overwriting a file.

    Cancel stops after the photo being copied; the report says what was done.
    """
    progress = progress or Progress()
    folder = Path(destination).expanduser()
    if folder.exists() and not folder.is_dir():
        raise FaceorgError(f"{display_path(str(folder))} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FaceorgError(f"cannot create {display_path(str(folder))}: {exc.strerror or exc}") from exc
    folder = folder.resolve()
    paths = photo_paths(library, photo_ids)
    report = CopyReport(destination=str(folder))
    ids = list(dict.fromkeys(photo_ids))
    progress.start("Copying photos", len(ids))
    try:
        for pid in ids:
            progress.check_cancelled()
            source = paths.get(pid)
            if source is None:
                report.failed.append((pid, "", "no such photo"))
            elif not Path(source).is_file():
                report.failed.append((pid, source, "the file is missing"))
            else:
                try:
                    target, copied = copy_one(Path(source), folder)
                except OSError as exc:
                    report.failed.append((pid, source, exc.strerror or str(exc)))
                else:
                    (report.copied if copied else report.already_there).append(
                        CopiedPhoto(pid, source, str(target)))
            progress.advance()
    except CancelledError:
        report.cancelled = True
    return report
