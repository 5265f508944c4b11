"""The scan-then-group job: find new and changed photos and their faces, then group the faces.

When the library's setting ``import_xmp_on_scan`` is on, the face names of new and changed photos are read
from their XMP before grouping.

Grouping runs when faces were stored that no completed grouping has seen: the scan marks that in the
same transaction as the faces (``grouping_pending`` in the library's state), and a completed grouping
clears it. So a grouping that was killed or cancelled is resumed by the next scan, even when that scan
finds nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faceorg.errors import CancelledError
from faceorg.jobs.report import JobReport
from faceorg.jobs.xmp_job import XmpImportReport, import_xmp
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.scan.scanner import ScanSummary, scan_library
from faceorg.store.db import Library
from faceorg.store.state import grouping_pending

if TYPE_CHECKING:
    from faceorg.scan.backend import AnalysisBackend
    from faceorg.scan.ray_backend import RayOptions

# ScanSummary fields that are change records rather than figures: they go into ``changes``.
_ID_LISTS = ("added_photo_ids", "changed_photo_ids", "new_face_ids")


@dataclass(kw_only=True)
class ScanReport(JobReport):
    """A scan and the grouping after it.

    ``grouping`` is what the grouping changed (None: no grouping ran); ``grouping_resumed`` says it
    grouped faces an earlier, interrupted grouping had left; ``grouping_pending`` says faces still wait
    for a grouping after this job (it was cancelled, or grouping was not asked for).
    """

    scan: ScanSummary
    faces_analyzed: bool = False
    grouping: ChangeSet | None = None
    grouping_resumed: bool = False
    grouping_pending: bool = False
    xmp: XmpImportReport | None = None  # names read from XMP for the new and changed photos (when enabled)

    def lines(self) -> list[str]:
        out = [self.scan.one_line()]
        if self.xmp is not None:
            out.append(self.xmp.one_line())
        if self.grouping is not None:
            what = ("the faces an interrupted grouping had left" if self.grouping_resumed and not self.scan.new_face_ids
                    else "the new faces")
            out.append(f"Grouped {what}: {len(self.grouping.people_added)} new groups, "
                       f"{len(self.grouping.faces_changed)} faces placed")
        elif self.grouping_pending:
            out.append("Faces wait for grouping: the next scan (or `faceorg cluster`) groups them")
        return out

    def one_line(self) -> str:
        return ". ".join(self.lines())

    def as_dict(self) -> dict[str, Any]:
        """The scan's figures (the keys of ``faceorg scan --json``), ``grouping`` and the change record."""
        out = {k: v for k, v in vars(self.scan).items() if k not in _ID_LISTS}
        out["grouping"] = self.grouping.as_dict() if self.grouping is not None else None
        out["grouping_resumed"] = self.grouping_resumed
        out["grouping_pending"] = self.grouping_pending
        out["xmp_import"] = self.xmp.as_dict() if self.xmp is not None else None
        out["changes"] = self.changes.as_dict()
        return out


def _xmp_on_scan(library: Library) -> bool:
    from faceorg.settings import load_settings

    return load_settings(library).import_xmp_on_scan


def scan_and_group(library: Library, progress: Progress | None = None, *, with_faces: bool = True,
                   group: bool = True, workers: int | None = None, batch_size: int = 32,
                   follow_outside_links: bool | None = None, ray: RayOptions | None = None) -> ScanReport:
    """Scan every library folder (faces too when ``with_faces``), then group the faces that need it.

    ``ray``: read the photos and find their faces on Ray workers (see :mod:`faceorg.scan.ray_backend`);
    FaceorgError when Ray is not installed or the cluster cannot be reached.

    Raises :class:`~faceorg.errors.ModelsMissingError` when faces are wanted and the models are not
    installed. Cancel stops the scan after its current batch, or the grouping; the report says so.
    """
    progress = progress or Progress()
    if ray is not None:
        from faceorg.scan.ray_backend import import_ray

        import_ray()  # before the models load: without Ray, say so at once
    left_over = grouping_pending(library)  # by a grouping that was killed or cancelled
    analyzer = None
    if with_faces:
        from faceorg.pipeline.factory import analyzer_for_library

        analyzer = analyzer_for_library(library)
    backend: AnalysisBackend | None = None
    if ray is not None:
        from faceorg.scan.ray_backend import ray_backend
        from faceorg.settings import load_settings

        backend = ray_backend(ray, analyzer, use_gpu=load_settings(library).use_gpu)
    summary = scan_library(library, analyzer=analyzer, progress=progress, workers=workers,
                           batch_size=batch_size, follow_outside_links=follow_outside_links, backend=backend)
    changes = ChangeSet(label="Scan", photos_changed=set(summary.added_photo_ids) | set(summary.changed_photo_ids))
    report = ScanReport(scan=summary, faces_analyzed=analyzer is not None, changes=changes,
                        cancelled=summary.cancelled)
    touched = set(summary.added_photo_ids) | set(summary.changed_photo_ids)
    if analyzer is not None and touched and not summary.cancelled and _xmp_on_scan(library):
        # Names from the user's other tools are their decisions: in before grouping, which then respects them.
        report.xmp = import_xmp(library, progress, photo_ids=touched)
        changes.merge(report.xmp.changes)
        report.cancelled = report.xmp.cancelled
    pending = grouping_pending(library)
    if pending and group and not report.cancelled and analyzer is not None and not summary.cancelled:
        from faceorg.people.clustering import recluster

        report.grouping_resumed = left_over
        try:
            report.grouping = recluster(library, progress)
        except CancelledError:
            report.cancelled = True
        else:
            changes.merge(report.grouping)
    report.grouping_pending = grouping_pending(library)
    return report
