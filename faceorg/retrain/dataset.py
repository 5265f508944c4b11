"""Train (fine-tune) the embedder on a folder-per-person dataset, for users with their own labelled photos.

The same recipe as the thorough depth, on the dataset's faces instead of the library's: one fold of the
dataset's people is held out for the gate, the model shipped is ``SHIP_FRACTION`` of the way from the
starting weights to the fine-tuned ones, and an accepted model becomes the library's new version. Its
distance scale is the same-person spacing ratio (the dataset's people need not be the library's, so the
library's suggestion rule cannot be calibrated on them).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from faceorg.embed.embedder import l2_normalize
from faceorg.errors import FaceorgError
from faceorg.paths import models_dir
from faceorg.progress import Progress
from faceorg.retrain.retrain import (
    SHIP_FRACTION,
    RetrainReport,
    finish,
    _progress_callback,
    distance_scale,
    gate_folds,
    judge,
    without,
)
from faceorg.store.db import Library
from faceorg.store.model_versions import active_version, library_models_dir
from faceorg.weights.registry import DLIB_RESNET_FILE

MIN_PEOPLE = 4


def retrain_from_dataset(library: Library, root: Path, *, dry_run: bool = False, progress: Progress | None = None,
                         seed: int = 0) -> RetrainReport:
    """Fine-tune the active embedder on ``root`` (one subfolder of photos per person); see the module docstring."""
    from faceorg.train.dataset_folder import folder_training_set, load_folder_dataset
    from faceorg.train.finetune import embed_chips, finetune
    from faceorg.train.interpolate import interpolate_weights
    from faceorg.train.model_io import load_module

    progress = progress or Progress()
    start = time.perf_counter()
    if not root.is_dir():
        raise FaceorgError(f"not a folder: {root}")
    version = active_version(library)
    if version is None:
        from faceorg.store.model_versions import ensure_base_version

        version = ensure_base_version(library)
    dataset = load_folder_dataset(root, progress=progress)
    if len(dataset.names) < MIN_PEOPLE:
        raise FaceorgError(f"a training dataset needs at least {MIN_PEOPLE} people (subfolders); {root} has "
                           f"{len(dataset.names)}")
    training = folder_training_set(dataset)
    checkpoint = library_models_dir(library) / f"embedder-{version.name}.pt"
    module = load_module(checkpoint if version.kind != "base" else None, models_dir() / DLIB_RESNET_FILE)
    fold = gate_folds(training.labels, 4, seed)[0]
    training.labels = without(dataset.labels, fold)
    progress.start("Fine-tuning the face model")
    result = finetune(training, module, seed=seed, progress=_progress_callback(progress), cancel=progress.check_cancelled)
    shipped = interpolate_weights(module, result.model, SHIP_FRACTION)
    rows = np.arange(len(dataset.labels))
    before = l2_normalize(embed_chips(module, training.load_chips, rows))
    after = l2_normalize(embed_chips(shipped, training.load_chips, rows))
    decision = judge(before, after, dataset.labels, [fold], seed)
    scale = distance_scale(version, before, after, dataset.labels)
    out = RetrainReport(
        depth="dataset", dry_run=dry_run, accepted=decision.accepted, version=None, previous_version=version.name,
        training={"people": len(dataset.names), "labelled_faces": len(dataset.labels), "unlabelled_faces": 0,
                  "known_negative_pairs": 0},
        before=decision.before, after=decision.after, summary=decision.lines, seconds=0.0,
        stop_reason=result.stop_reason, unseen_verification_before=decision.unseen_before,
        unseen_verification_after=decision.unseen_after, distance_scale=scale)
    return finish(library, out, version, "thorough", None, shipped, progress, start)
