"""What a training source hands the retraining pipeline: a candidate model, judged as it will run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceorg.errors import FaceorgError
from faceorg.progress import Progress
from faceorg.retrain.folds import GateFold
from faceorg.retrain.gate import GateDecision
from faceorg.store.db import Library
from faceorg.store.models import ModelVersion


@dataclass
class Candidate:
    """A trained model and the gate's verdict on it.

    ``kind``: "head" (only the last layer changed: ``weight`` [128, 256]) or "full" (``module``, the torch
    model to ship). ``folds`` / ``after``: what the gate held out, and every row's vector it judged.
    ``training``: counts of what it learned from. ``distance_scale``: its distances relative to the base
    model's. ``ship_fraction`` / ``geometry_kept``: how far towards the fine-tuned weights the deeper model
    went, and the geometry of the faces kept there (see :mod:`faceorg.retrain.shipping`). ``sure_match``:
    the calibrated rule by which new faces join a named person without asking
    (:class:`faceorg.retrain.calibrate.SureMatch`; None: every match stays a suggestion).
    """

    kind: str
    decision: GateDecision
    training: dict[str, int]
    distance_scale: float
    stop_reason: str
    folds: list[GateFold] = field(default_factory=list)
    after: np.ndarray | None = None
    weight: np.ndarray | None = None
    module: Any = None
    ship_fraction: float | None = None
    geometry_kept: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    sure_match: dict[str, float | int] | None = None


def trainer_progress(progress: Progress, *, steps: bool = True) -> Callable[[int, int, str], None]:
    """A trainer's progress callback feeding ``progress``: its steps as the count (or only its message)."""

    def report(done: int, total: int, line: str) -> None:
        if steps and total:
            progress.set_total(total)
            progress.advance(done - progress.state.done, message=line)
        else:
            progress.advance(0, message=line)

    return report


def head_on_parent(version: ModelVersion) -> bool:
    """Whether ``version`` is a head version saved without a checkpoint (its parent's model, its own head)."""
    from faceorg.retrain.install import HEAD_ON_PARENT

    return version.kind == "head" and bool((version.report or {}).get(HEAD_ON_PARENT))


def parent_of(library: Library, version: ModelVersion) -> ModelVersion:
    with library.session() as s:
        parent = s.get(ModelVersion, version.parent_id) if version.parent_id is not None else None
        if parent is None:
            raise FaceorgError(f"embedder version {version.name} has lost the version it was trained from")
        s.expunge(parent)
        return parent


def start_files(library: Library, version: ModelVersion) -> tuple[Path | None, Path | None]:
    """``(checkpoint, dlib's file)`` a new model starts from: ``version``'s checkpoint, or dlib's file for
    the base version; checked against the SHA-256 the database or the code's registry records. A head
    version without a checkpoint starts from its parent's files (and its own ONNX file, checked too)."""
    from faceorg.versions.files import verified_checkpoint, verified_model_path
    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import DLIB_RESNET_FILE

    if head_on_parent(version):
        verified_model_path(library, version)
        return start_files(library, parent_of(library, version))
    checkpoint = verified_checkpoint(library, version)
    return checkpoint, None if checkpoint is not None else require_model(DLIB_RESNET_FILE)


def start_module(library: Library, version: ModelVersion) -> Any:
    """The torch model of ``version`` to train from or ship with a new head (see :func:`start_files`)."""
    from faceorg.train.model_io import load_module, set_head
    from faceorg.versions.records import head_weight

    if head_on_parent(version):
        return set_head(start_module(library, parent_of(library, version)), head_weight(library, version))
    return load_module(*start_files(library, version))
