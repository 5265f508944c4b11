"""The quick training source: only the embedder's last layer, trained on the stored 256-d features.

Judged over ``GATE_FOLDS`` folds (each fold's model trained without its held-out faces embeds them, so
the gate sees every held-out face through a model that never trained on it), then trained on everything.
The head is what runs: a head-only version's faces are its stored features times the new last layer.
"""

from __future__ import annotations

import numpy as np

from faceorg.progress import Progress
from faceorg.retrain import gate
from faceorg.retrain.calibrate import distance_scale
from faceorg.retrain.candidate import Candidate, trainer_progress
from faceorg.retrain.folds import GateFold, gate_folds, without
from faceorg.retrain.training_data import LibraryTrainingData
from faceorg.store.db import Library
from faceorg.store.models import ModelVersion
from faceorg.versions.records import head_weight

GATE_FOLDS = 3  # each fold trained and judged, then a final model on everything
# Time caps (seconds on this project's 2-core machines) so the quick depth stays within a minute with
# 5k labelled faces (measured 57-59 s with caps of 10 and 25 s; these leave room for a busy machine).
QUICK_FOLD_SECONDS = 9.0
QUICK_FINAL_SECONDS = 22.0


def train_quick(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
                seed: int) -> tuple[list[GateFold], np.ndarray, np.ndarray, str]:
    """Gate embeddings over ``GATE_FOLDS`` folds, and the final head weight trained on everyone."""
    from faceorg.train.head import HeadRecipe, embed_from_features, train_head

    initial = head_weight(library, version)

    def train(labels: np.ndarray, seconds: float, steps: bool) -> tuple[np.ndarray, str]:
        result = train_head(
            data.features,
            labels,
            data.cannot_link,
            initial,
            HeadRecipe(seed=seed, max_seconds=seconds),
            progress=trainer_progress(progress, steps=steps),
            cancel=progress.check_cancelled,
        )
        return result.weight, result.stop_reason

    folds = gate_folds(data.labels, GATE_FOLDS, seed)
    progress.start("Checking on held-out faces and people", total=len(folds))
    after = data.vectors.copy()
    for fold in folds:
        weight, _ = train(without(data.labels, fold), QUICK_FOLD_SECONDS, steps=False)
        rows = np.flatnonzero(fold.held_out)
        after[rows] = embed_from_features(data.features[rows], weight)
        progress.advance()
    progress.start("Training on all your labels")
    final, reason = train(data.labels, QUICK_FINAL_SECONDS, steps=True)
    return folds, after, final, reason


def quick_candidate(
    library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress, seed: int
) -> Candidate:
    """Train a new last layer on the library's labels and judge it (see the module docstring)."""
    from faceorg.train.head import embed_from_features

    folds, after, weight, stop = train_quick(library, data, version, progress, seed)
    scale = distance_scale(version, data.vectors, embed_from_features(data.features, weight), data.labels)
    decision = gate.judge(data.vectors, after, data.labels, folds, seed)
    return Candidate("head", decision, data.summary(), scale, stop, folds=folds, after=after, weight=weight)
