"""The retraining job: learn from the user's corrections (or a labelled folder), then regroup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceorg.capabilities import training_unavailable
from faceorg.errors import FaceorgError
from faceorg.jobs.report import JobReport
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.store.db import Library

if TYPE_CHECKING:
    from faceorg.retrain.retrain import RetrainReport


@dataclass(kw_only=True)
class RetrainJobReport(JobReport):
    """Retraining's own report, plus what the regrouping after an installed model changed."""

    retrain: RetrainReport

    def one_line(self) -> str:
        return self.retrain.summary[0] if self.retrain.summary else "Retraining finished"

    def as_dict(self) -> dict[str, Any]:
        """``faceorg train --json``: retraining's keys as before, plus ``cancelled`` and ``changes``."""
        return {**self.retrain.as_dict(), **super().as_dict()}


def retrain_library(library: Library, progress: Progress | None = None, *, depth: str = "quick",
                    dry_run: bool = False, dataset: str | Path | None = None) -> RetrainJobReport:
    """Retrain the library's embedder (``dataset``: from a folder of labelled photos instead of the
    user's corrections); a model the gate accepts is installed and the library regrouped."""
    missing = training_unavailable("dataset" if dataset is not None else depth)
    if missing is not None:
        raise FaceorgError(missing)
    from faceorg.retrain.retrain import retrain, retrain_from_dataset

    progress = progress or Progress()
    if dataset is not None:
        report = retrain_from_dataset(library, Path(dataset), dry_run=dry_run, progress=progress)
    else:
        report = retrain(library, depth=depth, dry_run=dry_run, progress=progress)
    changes = ChangeSet.from_dict(report.regrouped) if report.regrouped else ChangeSet(label="Retrain")
    return RetrainJobReport(retrain=report, changes=changes)
