"""A new model's distance scale, calibrated so its suggestions are as careful as the old model's.

Grouping and suggestions use thresholds measured on the base model (``SUGGEST_MAX_DISTANCE`` 0.32,
``SUGGEST_MARGIN`` 0.03 and the grouping distances), multiplied by the active model's distance scale.
A retrained model spreads faces differently, so its scale is chosen on the user's own labels: the
held-out faces of people the model learned are matched against the confirmed faces it trained on, as the
app matches new photos; the scale is the one at which the new model sends the most of them to the right
person while sending no larger share to a wrong one than the old model did at its own scale.

(For a dataset whose people are not the library's, :func:`distance_scale` uses the ratio of the typical
same-person spacing instead.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceorg.cluster.match import build_person_index, match_distances, person_distances
from faceorg.store.models import ModelVersion
from faceorg.vectors import unit_distances

SCALE_STEP = 0.01  # relative to the base model's thresholds
SCALE_RANGE = (0.5, 3.0)
MIN_QUERIES = 15  # held-out faces needed before the calibration is trusted


@dataclass(frozen=True)
class RuleRates:
    """How the suggestion rule does on held-out faces: shares sent to the right / a wrong person."""

    right: float
    wrong: float


def rule_rates(vectors: np.ndarray, labels: np.ndarray, index_rows: np.ndarray, query_rows: np.ndarray,
               scales: np.ndarray, max_distance: float, margin: float) -> list[RuleRates]:
    """The suggestion rule at each scale (thresholds ``max_distance * s``, ``margin * s``)."""
    people, dist = person_distances(vectors[query_rows], build_person_index(vectors[index_rows], labels[index_rows]))
    truth = labels[query_rows]
    out = []
    for s in scales:
        got = match_distances(people, dist, margin=margin * s, max_distance=max_distance * s).labels
        n = max(len(truth), 1)
        out.append(RuleRates(float(np.sum((got >= 0) & (got == truth)) / n),
                             float(np.sum((got >= 0) & (got != truth)) / n)))
    return out


def calibrated_distance_scale(before: np.ndarray, after: np.ndarray, labels: np.ndarray, held_out: np.ndarray,
                              parent_scale: float, max_distance: float, margin: float) -> float | None:
    """The new model's distance scale (see the module docstring), or None when too few held-out faces
    of learned people exist to judge it.

    ``before`` / ``after``: every labelled face's vector under the old and the new model, where the new
    model never trained on the ``held_out`` rows; ``labels``: person per row (-1: unlabelled).
    """
    index_rows = (labels >= 0) & ~held_out
    learned = np.unique(labels[index_rows])
    query_rows = held_out & (labels >= 0) & np.isin(labels, learned)
    if query_rows.sum() < MIN_QUERIES or len(learned) < 2:
        return None
    old = rule_rates(before, labels, index_rows, query_rows, np.array([parent_scale]), max_distance, margin)[0]
    scales = np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + 1e-9, SCALE_STEP)
    rates = rule_rates(after, labels, index_rows, query_rows, scales, max_distance, margin)
    allowed = max(old.wrong, 1.0 / query_rows.sum())  # one mistake is the smallest share that can be told
    best = max(((r.right, -s) for s, r in zip(scales, rates) if r.wrong <= allowed), default=None)
    return None if best is None else float(-best[1])


def same_person_spacing(vectors: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Median distance from each labelled face to its nearest other face of the same person (``rows`` only)."""
    use = labels >= 0 if rows is None else (labels >= 0) & rows
    nearest: list[np.ndarray] = []
    for person in np.unique(labels[use]):
        x = vectors[use & (labels == person)]
        if len(x) < 2:
            continue
        d = unit_distances(x, x)
        np.fill_diagonal(d, np.inf)
        nearest.append(d.min(axis=1))
    return float(np.median(np.concatenate(nearest))) if nearest else float("nan")


def parent_scale(parent: ModelVersion) -> float:
    """The distance scale a version was installed with (1.0: the base model's distances)."""
    return float((parent.report or {}).get("distance_scale", 1.0))


def distance_scale(parent: ModelVersion, before: np.ndarray, after: np.ndarray, labels: np.ndarray,
                   rows: np.ndarray | None = None) -> float:
    """How much farther apart faces are under the new model than under the base model.

    Grouping and suggestions use distances measured on the base model; a retrained model spreads faces
    differently, so those distances are scaled by this factor (the parent's scale times the ratio of the
    typical same-person spacing after and before).
    """
    ratio = same_person_spacing(after, labels, rows) / same_person_spacing(before, labels, rows)
    return parent_scale(parent) * (ratio if np.isfinite(ratio) and ratio > 0 else 1.0)


def suggestion_scale(parent: ModelVersion, before: np.ndarray, after: np.ndarray, labels: np.ndarray,
                     held_out: np.ndarray) -> float:
    """The new model's distance scale calibrated on the held-out faces (as careful as the parent's
    suggestions, see the module docstring); the same-person spacing ratio when there are too few of them."""
    from faceorg.people.clustering import SUGGEST_MARGIN, SUGGEST_MAX_DISTANCE

    scale = calibrated_distance_scale(before, after, labels, held_out, parent_scale(parent), SUGGEST_MAX_DISTANCE,
                                      SUGGEST_MARGIN)
    return scale if scale is not None else distance_scale(parent, before, after, labels, held_out)
