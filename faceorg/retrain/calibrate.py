"""A new model's distance scale, calibrated so its suggestions are as careful as the old model's.

Grouping and suggestions use thresholds measured on the base model (``SUGGEST_MAX_DISTANCE`` 0.32,
``SUGGEST_MARGIN`` 0.03 and the grouping distances), multiplied by the active model's distance scale.
A retrained model spreads faces differently, so its scale is chosen on the user's own labels: the
held-out faces of people the model learned are matched against the confirmed faces it trained on, as the
app matches new photos; the scale is the one at which the new model sends the most of them to the right
person while sending no larger share to a wrong one than the old model did at its own scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceorg.cluster.match import build_person_index, match_distances, person_distances

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
