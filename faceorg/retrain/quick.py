"""The quick training source: only the embedder's last layer, fitted in closed form on the stored 256-d
features (:mod:`faceorg.train.metric_head`: a second or two for 5k labelled faces).

Judged over ``GATE_FOLDS`` folds (each fold's model trained without its held-out faces embeds them, so
the gate sees every held-out face through a model that never trained on it), then trained on everything.
The head is what runs: a head-only version's faces are its stored features times the new last layer.

The same folds calibrate how the new head matches faces of new photos to the named people
(:func:`faceorg.retrain.calibrate.fold_calibrated_matching`, stored with the version as ``sure_match`` and
used by :func:`faceorg.people.clustering.recluster`): faces clearly nearer one person than anyone else join
them unasked (the smallest margin over the runner-up that is right often enough on the held-out faces).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from faceorg.progress import Progress
from faceorg.retrain import gate, wording
from faceorg.retrain.calibrate import (
    LearnedMatching,
    distance_scale,
    fold_calibrated_matching,
    fold_calibrated_scale,
    parent_scale,
    stranger_share,
)
from faceorg.retrain.candidate import Candidate
from faceorg.retrain.folds import GateFold, gate_folds, without
from faceorg.retrain.training_data import LibraryTrainingData
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.models import ModelVersion
from faceorg.vectors import l2_normalize
from faceorg.versions.records import head_weight

GATE_FOLDS = 3  # each fold fitted and judged, then a final head on everything


def embed(features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Face vectors under a head: the features times the last layer, normalised."""
    return l2_normalize(np.asarray(features, np.float32) @ np.asarray(weight, np.float32).T)


def fit_head(features: np.ndarray, labels: np.ndarray, cannot_link: np.ndarray, initial: np.ndarray,
             held_out: np.ndarray | None = None) -> np.ndarray:
    """The discriminant head (:mod:`faceorg.train.metric_head`) from these labels; "different people"
    pairs touching a ``held_out`` face are left out, so that a fold learns nothing about those faces."""
    from faceorg.train.metric_head import fit_metric_head

    pairs = cannot_link.reshape(-1, 2)
    if held_out is not None and len(pairs):
        pairs = pairs[~held_out[pairs[:, 0]] & ~held_out[pairs[:, 1]]]
    return fit_metric_head(features, labels, pairs, initial).weight


def train_quick(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
                seed: int) -> tuple[list[GateFold], np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Gate embeddings over ``GATE_FOLDS`` folds (each held-out face of a known person, and each face of an
    unseen person, under the fold's model that held it out), every labelled face under each fold's model
    (zero rows elsewhere; for the distance scale), and the final head weight fitted on everyone."""
    initial = head_weight(library, version)
    folds = gate_folds(data.labels, GATE_FOLDS, seed)
    progress.start("Checking on held-out faces and people", total=len(folds))
    after, after_unseen = data.vectors.copy(), data.vectors.copy()
    labelled = data.labels >= 0
    fold_vectors = []
    for fold in folds:
        progress.check_cancelled()
        weight = fit_head(data.features, without(data.labels, fold), data.cannot_link, initial, fold.held_out)
        vectors = np.zeros_like(data.vectors)
        vectors[labelled] = embed(data.features[labelled], weight)
        after[fold.known] = vectors[fold.known]
        after_unseen[fold.unseen] = vectors[fold.unseen]
        fold_vectors.append(vectors)
        progress.advance()
    progress.start("Learning from all your labels")
    return folds, after, after_unseen, fold_vectors, fit_head(data.features, data.labels, data.cannot_link, initial)


def quick_scale(version: ModelVersion, data: LibraryTrainingData, folds: list[GateFold],
                fold_vectors: list[np.ndarray], weight: np.ndarray) -> float:
    """The new head's distance scale, calibrated on the folds' held-out faces (suggestions no less careful
    than the current model's, strangers included: :func:`faceorg.retrain.calibrate.fold_calibrated_scale`);
    the ratio of same-person spacings when too few faces were held out. (The spacing of the faces the head
    was fitted on made it look tighter than it is on new photos.)"""
    from faceorg.people.clustering import SUGGEST_MARGIN, SUGGEST_MAX_DISTANCE

    scale = fold_calibrated_scale(data.vectors, fold_vectors, data.labels, folds, parent_scale(version),
                                  SUGGEST_MAX_DISTANCE, SUGGEST_MARGIN)
    if scale is not None:
        return scale
    return distance_scale(version, data.vectors, embed(data.features, weight), data.labels)


def library_stranger_share(library: Library) -> float:
    """The share of the library's faces (ignored strangers included) that no named person holds."""
    from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus, Person

    with library.session() as s:
        faces = s.scalar(select(func.count()).select_from(Face).where(Face.status != FaceStatus.NOT_FACE)) or 0
        named = s.scalar(select(func.count()).select_from(Assignment)
                         .join(Person, Person.id == Assignment.person_id)
                         .join(Face, Face.id == Assignment.face_id)
                         .where(Person.name.is_not(None), Face.status == FaceStatus.NORMAL,
                                Assignment.source != AssignmentSource.SUGGESTED)) or 0
    return stranger_share(int(named), int(faces))


def learned_matching(library: Library, data: LibraryTrainingData, folds: list[GateFold],
                     fold_vectors: list[np.ndarray], scale: float) -> LearnedMatching | None:
    """How the new head matches new faces to named people, calibrated on the folds' held-out faces
    (:func:`faceorg.retrain.calibrate.fold_calibrated_matching`, within the calibrated suggestion distance)."""
    from faceorg.people.clustering import SUGGEST_MAX_DISTANCE

    return fold_calibrated_matching(fold_vectors, data.labels, folds, SUGGEST_MAX_DISTANCE * scale,
                                    library_stranger_share(library))


def quick_candidate(
    library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress, seed: int
) -> Candidate:
    """Fit a new last layer on the library's labels and judge it (see the module docstring)."""
    folds, after, after_unseen, fold_vectors, weight = train_quick(library, data, version, progress, seed)
    scale = quick_scale(version, data, folds, fold_vectors, weight)
    matching = learned_matching(library, data, folds, fold_vectors, scale)
    progress.start("Regrouping your named faces with both models")
    decision = gate.judge(data.vectors, after, data.labels, folds, seed, after_unseen=after_unseen,
                          scales=(parent_scale(version), scale), settings=load_settings(library))
    if decision.accepted and matching is not None:  # said before the verdict
        decision.lines.insert(len(decision.lines) - 1,
                              wording.learned_matching(matching.precision))
    return Candidate("head", decision, data.summary(), scale, "closed form", folds=folds, after=after,
                     weight=weight, sure_match=matching.as_report() if matching is not None else None)
