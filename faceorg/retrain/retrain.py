"""Retrain the embedder from the user's corrections (or a labelled dataset), judge it, and swap it in
only if it is better.

One pipeline over three training sources: collect the labels -> train -> choose how far to ship ->
judge the model as it will run -> install -> regroup.

- ``quick`` (:mod:`faceorg.retrain.quick`): only the last linear layer, on the stored 256-d features
  (seconds).
- ``thorough`` (:mod:`faceorg.retrain.deep`): also the last residual stages, fine-tuned on the stored
  face chips (minutes on a CPU), shipped part of the way (:mod:`faceorg.retrain.shipping`).
- a folder with one subfolder of photos per person (:func:`retrain_from_dataset`, the thorough recipe
  on the dataset's faces).

The gate (:mod:`faceorg.retrain.gate`) decides; the distance scale comes from
:mod:`faceorg.retrain.calibrate`; an accepted model is installed by :mod:`faceorg.retrain.install`;
every sentence of the report is worded by :mod:`faceorg.retrain.wording`. A refused model changes
nothing. An accepted one becomes a new version: exported to ONNX, every face re-embedded, swapped in
atomically, the library regrouped with every user decision kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faceorg.errors import FaceorgError
from faceorg.progress import Progress
from faceorg.retrain import wording
from faceorg.retrain.candidate import Candidate, start_files
from faceorg.retrain.training_data import collect_training_data
from faceorg.store.db import Library
from faceorg.store.models import ModelVersion
from faceorg.versions.records import active_version, ensure_base_version

DEPTHS = ("quick", "thorough")
Source = Callable[[ModelVersion, Progress], Candidate]
"""A training source: trains a candidate from the active version and judges it."""


@dataclass
class RetrainReport:
    """What retraining did, for the CLI (--json) and the app's before/after dialog."""

    depth: str
    dry_run: bool
    accepted: bool
    version: str | None
    previous_version: str
    training: dict[str, int]
    before: dict[str, float]
    after: dict[str, float]
    summary: list[str]
    seconds: float
    stop_reason: str = ""
    regrouped: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    unseen_verification_before: float | None = None
    unseen_verification_after: float | None = None
    distance_scale: float = 1.0  # the new model's distances relative to the base model's
    ship_fraction: float | None = None  # deeper: how far towards the fine-tuned weights the model went
    geometry_kept: float | None = None  # deeper: correlation of the library's face distances before/after
    sure_match: dict[str, float | int] | None = None  # quick: new faces matched without asking (calibrate.SureMatch)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrain(library: Library, *, depth: str = "quick", dry_run: bool = False, progress: Progress | None = None,
            seed: int = 0) -> RetrainReport:
    """Learn from the user's corrections; see the module docstring."""
    if depth not in DEPTHS:
        raise FaceorgError(f"depth must be one of {', '.join(DEPTHS)}")
    if active_version(library) is None:
        raise FaceorgError("no faces have been analysed yet: scan a folder first")

    def source(version: ModelVersion, progress: Progress) -> Candidate:
        from faceorg.retrain.deep import thorough_candidate
        from faceorg.retrain.quick import quick_candidate

        t = time.perf_counter()
        progress.start("Collecting your corrections")
        data = collect_training_data(library, seed=seed)
        collected = time.perf_counter() - t
        train = quick_candidate if depth == "quick" else thorough_candidate
        candidate = train(library, data, version, progress, seed)
        candidate.timings["collect"] = collected
        return candidate

    return run(library, depth, source, dry_run=dry_run, progress=progress)


def retrain_from_dataset(library: Library, root: Path, *, dry_run: bool = False, progress: Progress | None = None,
                         seed: int = 0) -> RetrainReport:
    """Fine-tune the active embedder on ``root`` (one subfolder of photos per person), judged and installed
    like the thorough depth (see :mod:`faceorg.retrain.deep`)."""
    from faceorg.retrain.deep import dataset_candidate

    if not root.is_dir():
        raise FaceorgError(f"not a folder: {root}")
    ensure_base_version(library)
    return run(library, "dataset",
               lambda version, progress: dataset_candidate(library, root, version, progress, seed),
               dry_run=dry_run, progress=progress)


def run(library: Library, depth: str, source: Source, *, dry_run: bool, progress: Progress | None) -> RetrainReport:
    """The pipeline: the source trains and judges a candidate; an accepted one is installed (unless a dry
    run) and the library regrouped."""
    progress = progress or Progress()
    start = time.perf_counter()
    version = active_version(library)
    assert version is not None
    start_files(library, version)  # a damaged or missing start is refused before any training
    candidate = source(version, progress)
    decision = candidate.decision
    timings = {**candidate.timings}
    timings["train_and_check"] = time.perf_counter() - start - timings.get("collect", 0.0)
    result = RetrainReport(
        depth=depth, dry_run=dry_run, accepted=decision.accepted, version=None, previous_version=version.name,
        training=candidate.training, before=decision.before, after=decision.after, summary=decision.lines,
        seconds=0.0, stop_reason=candidate.stop_reason, timings=timings, distance_scale=candidate.distance_scale,
        unseen_verification_before=decision.unseen_before, unseen_verification_after=decision.unseen_after,
        ship_fraction=candidate.ship_fraction, geometry_kept=candidate.geometry_kept, sure_match=candidate.sure_match)
    if result.accepted and not dry_run:
        t = time.perf_counter()
        new = install_model(library, version, candidate.kind, result, progress, weight=candidate.weight,
                            module=candidate.module)
        result.timings["install_and_reembed"] = time.perf_counter() - t
        t = time.perf_counter()
        from faceorg.people.clustering import recluster

        result.regrouped = recluster(library, progress, model_changed=True).as_dict()
        result.timings["regroup"] = time.perf_counter() - t
        result.version = new.name
        result.summary.append(wording.now_using(new.name, version.name))
    elif dry_run:
        result.summary.append(wording.DRY_RUN)
    result.seconds = time.perf_counter() - start
    return result


def install_model(library: Library, parent: ModelVersion, kind: str, result: RetrainReport, progress: Progress, *,
                  weight: Any = None, module: Any = None) -> ModelVersion:
    """Install a candidate as a new version: ``module``, or (``kind`` "head") ``parent``'s model with the
    last layer ``weight`` (no torch needed); the report's figures are recorded with it."""
    from faceorg.retrain.install import install

    if module is None and kind != "head":
        raise ValueError(f"a {kind} version needs its model")
    report = {"before": result.before, "after": result.after, "summary": result.summary,
              "training": result.training, "distance_scale": result.distance_scale}
    if result.sure_match is not None:
        report["sure_match"] = result.sure_match
    return install(library, parent, kind, module, report, progress, weight=weight if kind == "head" else None)
