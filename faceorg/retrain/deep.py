"""The deeper training sources: the last residual stages fine-tuned on face chips, from the library
(``thorough``) or from a folder of labelled photos (``faceorg train --dataset DIR``).

Both fine-tune without one fold of the labels, choose how far towards the fine-tuned weights to ship
(the geometry guard, :mod:`faceorg.retrain.shipping`), and judge the model shipped as it will run (its
int8 copy, :func:`faceorg.retrain.install.embed_as_installed`) against the active model as it runs; when
the gate finds people the model never saw matched worse, they step further back towards the start.
The library's distance scale is calibrated on its held-out faces; a dataset's people need not be the
library's, so a dataset's model gets the same-person spacing ratio instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from faceorg.errors import FaceorgError
from faceorg.progress import Progress
from faceorg.retrain import gate, wording
from faceorg.retrain.calibrate import distance_scale, parent_scale, suggestion_scale
from faceorg.retrain.candidate import Candidate, start_module, trainer_progress
from faceorg.retrain.folds import GateFold, gate_folds, without
from faceorg.retrain.install import (
    calibration_chips,
    embed_as_installed,
    embed_with,
    library_embedder,
)
from faceorg.retrain.shipping import GEOMETRY_FACES, SHIP_FRACTIONS, ship_fraction
from faceorg.retrain.training_data import LibraryTrainingData, chip_loader
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.models import FaceChip, ModelVersion
from faceorg.versions.files import runtime_model_path
from faceorg.versions.records import averages_mirror

log = logging.getLogger(__name__)

THOROUGH_FOLDS = 5  # one fold held out: a fifth of the people and of each person's faces
DATASET_FOLDS = 4
MIN_DATASET_PEOPLE = 4


@dataclass
class Shipped:
    """The model to ship, its vectors as it will run, and how it was chosen."""

    module: Any
    after: np.ndarray
    stop_reason: str
    ship_fraction: float
    geometry_kept: float  # at the fraction the geometry guard chose (stepping back only keeps more)
    decision: gate.GateDecision


def fine_tune_and_ship(library: Library, version: ModelVersion, training: Any, labels: np.ndarray,
                       before: np.ndarray, fold: GateFold, geometry: tuple[Any, int], progress: Progress,
                       seed: int) -> Shipped:
    """Fine-tune from ``version`` on ``training`` (its labels without ``fold``), choose how far to ship
    (geometry measured on ``geometry``: a chip loader and its number of faces), and judge the labelled
    rows' vectors as installed against ``before`` (every row under the active model)."""
    from faceorg.train.finetune import FinetuneRecipe, finetune
    from faceorg.train.interpolate import interpolate_weights

    module = start_module(library, version)
    progress.start("Fine-tuning the face model")
    result = finetune(training, module, recipe=FinetuneRecipe(seed=seed), progress=trainer_progress(progress),
                      cancel=progress.check_cancelled)
    fraction, kept = ship_fraction(module, result.model, geometry[0], geometry[1], seed, progress)
    rows = np.flatnonzero(labels >= 0)
    calibration = calibration_chips(library)
    for step in [f for f in SHIP_FRACTIONS if f <= fraction]:
        shipped = interpolate_weights(module, result.model, step)
        after = before.copy()
        after[rows] = embed_as_installed(library, shipped, training.load_chips, rows, calibration, progress)
        scales = (parent_scale(version), distance_scale(version, before, after, labels))
        decision = gate.judge(before, after, labels, [fold], seed, scales=scales, settings=load_settings(library))
        if decision.accepted or not decision.unseen_worse:
            break
        log.info("at %.0f%% of the fine-tuning people it never saw are matched worse; stepping back", 100 * step)
    if step < fraction and decision.accepted:
        decision.lines.insert(-1, wording.stepped_back(step))
    return Shipped(shipped, after, result.stop_reason, step, kept, decision)


def thorough_candidate(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
                       seed: int) -> Candidate:
    """Fine-tune on the library's chips; the scale is calibrated on the held-out faces."""
    from faceorg.train.data import TrainingSet

    fold = gate_folds(data.labels, THOROUGH_FOLDS, seed)[0]
    training = TrainingSet(face_ids=data.face_ids, labels=without(data.labels, fold), person_ids=data.person_ids,
                           cannot_link=data.cannot_link, features=data.features,
                           load_chips=chip_loader(library, data.face_ids))
    # Every labelled face under the new model as it will run: the held-out ones are judged, the others
    # choose the gate's grouping threshold and are the confirmed faces the suggestion scale is calibrated on.
    shipped = fine_tune_and_ship(library, version, training, data.labels, data.vectors, fold,
                                 (training.load_chips, len(data.face_ids)), progress, seed)
    scale = suggestion_scale(version, data.vectors, shipped.after, data.labels, fold.held_out)
    return Candidate("full", shipped.decision, data.summary(), scale, shipped.stop_reason, folds=[fold],
                     after=shipped.after, module=shipped.module, ship_fraction=shipped.ship_fraction,
                     geometry_kept=shipped.geometry_kept)


def _library_geometry(library: Library) -> tuple[Any, int] | None:
    """A loader of the library's chips for the geometry guard, or None with too few faces to measure on."""
    with library.session() as s:
        ids = np.array(list(s.scalars(select(FaceChip.face_id).order_by(FaceChip.face_id))), np.int64)
    return (chip_loader(library, ids), len(ids)) if len(ids) >= GEOMETRY_FACES // 4 else None


def dataset_candidate(library: Library, root: Path, version: ModelVersion, progress: Progress,
                      seed: int) -> Candidate:
    """Fine-tune on a folder-per-person dataset; judged on its held-out fold, both models as they run.
    The geometry guard measures the library's faces (the dataset's when the library has few)."""
    from faceorg.datasets.folder import folder_training_set, load_folder_dataset

    dataset = load_folder_dataset(root, progress=progress)
    if len(dataset.names) < MIN_DATASET_PEOPLE:
        raise FaceorgError(f"a training dataset needs at least {MIN_DATASET_PEOPLE} people (subfolders); {root} "
                           f"has {len(dataset.names)}")
    training = folder_training_set(dataset)
    fold = gate_folds(dataset.labels, DATASET_FOLDS, seed)[0]
    training.labels = without(dataset.labels, fold)
    rows = np.arange(len(dataset.labels))
    running = library_embedder(library, runtime_model_path(library, version), averages_mirror(version))
    before = embed_with(running, training.load_chips, rows, progress)
    geometry = _library_geometry(library) or (training.load_chips, len(rows))
    shipped = fine_tune_and_ship(library, version, training, dataset.labels, before, fold, geometry, progress, seed)
    scale = distance_scale(version, before, shipped.after, dataset.labels)
    counts = {"people": len(dataset.names), "labelled_faces": len(dataset.labels), "unlabelled_faces": 0,
              "known_negative_pairs": 0}
    return Candidate("full", shipped.decision, counts, scale, shipped.stop_reason, folds=[fold], after=shipped.after,
                     module=shipped.module, ship_fraction=shipped.ship_fraction, geometry_kept=shipped.geometry_kept)
