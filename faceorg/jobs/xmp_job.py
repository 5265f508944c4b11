"""The XMP jobs: import face names from the user's other tools, and write faceorg's names back for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faceorg.jobs.report import JobReport
from faceorg.people.xmp_export import XmpExport, export_names
from faceorg.people.xmp_import import XmpImport, import_names
from faceorg.progress import Progress
from faceorg.store.db import Library
from faceorg.xmp.sidecar import Naming


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(kw_only=True)
class XmpImportReport(JobReport):
    """An import of face names from XMP (see :func:`faceorg.people.xmp_import.import_names`)."""

    result: XmpImport

    def counts(self) -> dict[str, int]:
        r = self.result
        return {"photos_read": r.photos_read, "photos_with_names": r.photos_with_names, "imported": len(r.imported),
                "matched": len(r.matched), "new_faces": len(r.new_faces), "conflicts": len(r.conflicts),
                "hints": len(r.hints), "problems": len(r.problems)}

    def one_line(self) -> str:
        c, r = self.counts(), self.result
        verb = "would import" if r.dry_run else "imported"
        text = (f"XMP: {_plural(c['photos_with_names'], 'photo')} with names; {verb} {_plural(c['imported'], 'name')}, "
                f"{c['matched']} already matched, {_plural(c['new_faces'], 'new face')}, "
                f"{_plural(c['conflicts'], 'conflict')}")
        if c["hints"]:
            text += f", {_plural(c['hints'], 'name')} without a face to review"
        if c["problems"]:
            text += f", {_plural(c['problems'], 'problem')}"
        return text + (" (cancelled: nothing changed)" if self.cancelled else "")

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"dry_run": r.dry_run, **self.counts(),
                "imported_names": [f.as_dict() for f in r.imported],
                "matched_names": [f.as_dict() for f in r.matched],
                "new_face_names": [f.as_dict() for f in r.new_faces],
                "conflict_names": [f.as_dict() for f in r.conflicts],
                "hint_names": [f.as_dict() for f in r.hints],
                "problem_messages": list(r.problems), "skipped_regions": list(r.skipped),
                **super().as_dict()}


def import_xmp(library: Library, progress: Progress | None = None, *, dry_run: bool = False,
               photo_ids: Iterable[int] | None = None) -> XmpImportReport:
    """Import the face names of the library's photos (or of ``photo_ids``) from their XMP."""
    result = import_names(library, progress, photo_ids=photo_ids, dry_run=dry_run)
    return XmpImportReport(result=result, changes=result.changes, cancelled=result.cancelled)


@dataclass(kw_only=True)
class XmpExportReport(JobReport):
    """Names written to XMP sidecars (see :func:`faceorg.people.xmp_export.export_names`)."""

    result: XmpExport

    def counts(self) -> dict[str, int]:
        r = self.result
        return {"photos": r.photos, "faces": r.faces, "written": r.written,
                "created": sum(1 for s in r.sidecars if s.action == "create"),
                "updated": sum(1 for s in r.sidecars if s.action == "update"),
                "unchanged": sum(1 for s in r.sidecars if s.action == "unchanged"), "problems": len(r.problems)}

    def one_line(self) -> str:
        c, r = self.counts(), self.result
        verb = "would write" if r.dry_run else "wrote"
        text = (f"XMP: {verb} {_plural(c['written'], 'sidecar')} ({c['created']} new, {c['updated']} updated) "
                f"with {_plural(c['faces'], 'face')} of {_plural(c['photos'], 'photo')}; {c['unchanged']} unchanged")
        if c["problems"]:
            text += f", {_plural(c['problems'], 'problem')}"
        return text + (" (cancelled)" if self.cancelled else "")

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"dry_run": r.dry_run, **self.counts(), "sidecars": [s.as_dict() for s in r.sidecars],
                "problem_messages": list(r.problems), **super().as_dict()}


def export_xmp(library: Library, progress: Progress | None = None, *, person_ids: Iterable[int] | None = None,
               naming: Naming = "jpg.xmp", dry_run: bool = False, include_automatic: bool = False) -> XmpExportReport:
    """Write the names of the library's faces to XMP sidecars."""
    result = export_names(library, progress, person_ids=person_ids, naming=naming, dry_run=dry_run,
                          include_automatic=include_automatic)
    return XmpExportReport(result=result, cancelled=result.cancelled)
