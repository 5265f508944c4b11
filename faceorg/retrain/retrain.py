"""Retrain the embedder from the user's corrections, judge it, and swap it in only if it is better.

Two depths, both starting from the active model:

- ``quick``: only the last linear layer, trained on the stored 256-d features (seconds). Judged by
  k-fold over people: for each fold the layer is trained without that fold's people, and their faces
  are embedded by the fold's model; the shipped layer is then trained on everyone.
- ``thorough``: also the last residual stages, fine-tuned on the stored face chips (minutes on a CPU).
  Judged on one fold of people held out of training.

The gate compares, on those held-out people, the verification rate at a 1-in-1000 false-accept rate
and the BCubed F of re-grouping their faces. A refused model changes nothing. An accepted one becomes a
new version: exported to ONNX, every face re-embedded, swapped in atomically, the library regrouped
with every user decision kept.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceorg.embed.embedder import l2_normalize
from faceorg.errors import FaceorgError
from faceorg.paths import models_dir
from faceorg.progress import Progress
from faceorg.retrain.training_data import LibraryTrainingData, chip_loader, collect_training_data
from faceorg.retrain.versions import (
    activate,
    head_weight,
    next_version_name,
    reembed_from_chips,
    reembed_from_features,
    register_version,
)
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.model_versions import active_version, library_models_dir
from faceorg.store.models import ModelVersion
from faceorg.weights.registry import DLIB_RESNET_FILE

log = logging.getLogger(__name__)

DEPTHS = ("quick", "thorough")
GATE_FOLDS = 3


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _progress_callback(progress: Progress):  # type: ignore[no-untyped-def]
    def report(done: int, total: int, line: str) -> None:
        progress.set_total(total)
        progress.advance(0, message=line)

    return report


def _gate_folds(data: LibraryTrainingData, seed: int) -> list[np.ndarray]:
    from faceorg.train.gate import kfold_people

    return kfold_people(data.labels, GATE_FOLDS, seed)


def _quick(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
           seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Gate embeddings (k-fold over people) and the final head weight trained on everyone."""
    from faceorg.train.gate import kfold_embeddings
    from faceorg.train.head import embed_from_features, train_head

    initial = head_weight(library, version)
    pairs = data.cannot_link

    def train(mask_out: np.ndarray | None) -> tuple[np.ndarray, str]:
        labels = data.labels.copy()
        if mask_out is not None:
            labels[mask_out] = -1  # the fold's people are unknown to this training
        result = train_head(data.features, labels, pairs, initial, seed=seed, progress=_progress_callback(progress),
                            cancel=progress.check_cancelled)
        return result.weight, result.stop_reason

    folds = _gate_folds(data, seed)
    progress.start("Checking on held-out people", total=len(folds))

    def train_and_embed(fold: np.ndarray) -> np.ndarray:
        weight, _ = train(fold)
        progress.advance()
        return embed_from_features(data.features, weight)

    gate_vectors = kfold_embeddings(folds, train_and_embed)
    progress.start("Training on all your labels")
    final, reason = train(None)
    return gate_vectors, final, reason


def _thorough(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
              seed: int) -> tuple[np.ndarray, Any, str, np.ndarray]:
    """Fine-tune the last stages with one fold of people held out; returns the gate embeddings and module."""
    from faceorg.train.data import TrainingSet
    from faceorg.train.finetune import embed_chips, finetune
    from faceorg.train.model_io import load_module

    checkpoint = library_models_dir(library) / f"embedder-{version.name}.pt"
    module = load_module(checkpoint if version.kind != "base" else None, models_dir() / DLIB_RESNET_FILE)
    folds = _gate_folds(data, seed)
    held_out = folds[0]
    labels = data.labels.copy()
    labels[held_out] = -1
    training = TrainingSet(face_ids=data.face_ids, labels=labels, person_ids=data.person_ids,
                           cannot_link=data.cannot_link, features=data.features,
                           load_chips=chip_loader(library, data.face_ids))
    progress.start("Fine-tuning the face model")
    result = finetune(training, module, seed=seed, progress=_progress_callback(progress),
                      cancel=progress.check_cancelled)
    rows = np.flatnonzero(held_out & (data.labels >= 0))
    after = data.vectors.copy()
    after[rows] = l2_normalize(embed_chips(result.model, training.load_chips, rows))
    return after, result.model, result.stop_reason, held_out


def retrain(library: Library, *, depth: str = "quick", dry_run: bool = False, progress: Progress | None = None,
            seed: int = 0) -> RetrainReport:
    """Learn from the user's corrections; see the module docstring."""
    from faceorg.train.gate import gate_report

    if depth not in DEPTHS:
        raise FaceorgError(f"depth must be one of {', '.join(DEPTHS)}")
    progress = progress or Progress()
    start = time.perf_counter()
    version = active_version(library)
    if version is None:
        raise FaceorgError("no faces have been analysed yet: scan a folder first")
    progress.start("Collecting your corrections")
    data = collect_training_data(library, seed=seed)
    timings = {"collect": time.perf_counter() - start}
    t = time.perf_counter()
    module = None
    if depth == "quick":
        gate_vectors, weight, stop = _quick(library, data, version, progress, seed)
        report = gate_report(data.vectors, gate_vectors, data.labels, _gate_folds(data, seed), seed=seed)
    else:
        gate_vectors, module, stop, held_out = _thorough(library, data, version, progress, seed)
        report = gate_report(data.vectors, gate_vectors, data.labels, held_out, seed=seed)
    timings["train_and_check"] = time.perf_counter() - t
    result = RetrainReport(
        depth=depth, dry_run=dry_run, accepted=report.accepted, version=None, previous_version=version.name,
        training=_summary(data), before=asdict(report.before), after=asdict(report.after),
        summary=report.summary_lines(), seconds=0.0, stop_reason=stop, timings=timings)
    if report.accepted and not dry_run:
        t = time.perf_counter()
        new = _install(library, version, depth, weight if depth == "quick" else None, module, result, progress)
        timings["install_and_reembed"] = time.perf_counter() - t
        t = time.perf_counter()
        from faceorg.people.clustering import recluster

        result.regrouped = recluster(library, progress, full=True).as_dict()
        timings["regroup"] = time.perf_counter() - t
        result.version = new.name
        result.summary.append(f"Now using embedder {new.name} (roll back with `faceorg models use {version.name}`).")
    elif dry_run:
        result.summary.append("Dry run: nothing was changed.")
    result.seconds = time.perf_counter() - start
    return result


def _summary(data: LibraryTrainingData) -> dict[str, int]:
    return data.summary()


def _install(library: Library, parent: ModelVersion, depth: str, weight: np.ndarray | None, module: Any,
             result: RetrainReport, progress: Progress) -> ModelVersion:
    """Export the new model as a version, re-embed every face under it, then swap it in."""
    from faceorg.train.model_io import load_module, save_version, set_head

    kind = "head" if depth == "quick" else "full"
    name = next_version_name(library, kind)
    folder = library_models_dir(library)
    if module is None:
        parent_ckpt = folder / f"embedder-{parent.name}.pt"
        module = load_module(parent_ckpt if parent.kind != "base" else None, models_dir() / DLIB_RESNET_FILE)
        set_head(module, weight)  # type: ignore[arg-type]
    progress.start("Saving the new model")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        onnx_tmp = Path(tmp) / "model.onnx"
        sha = save_version(module, onnx_tmp, folder / f"embedder-{name}.pt")
        version = register_version(library, name=name, kind=kind, onnx_file=onnx_tmp, sha256=sha, parent=parent,
                                   report={"before": result.before, "after": result.after, "summary": result.summary,
                                           "training": result.training})
    if kind == "head":
        reembed_from_features(library, version, weight, progress)  # type: ignore[arg-type]
    else:
        reembed_from_chips(library, version, progress, use_gpu=load_settings(library).use_gpu)
    activate(library, version.id)
    return version
