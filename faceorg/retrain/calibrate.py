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
from faceorg.retrain.folds import GateFold
from faceorg.store.models import ModelVersion
from faceorg.vectors import unit_distances

SCALE_STEP = 0.01  # relative to the base model's thresholds
SCALE_RANGE = (0.2, 3.0)  # a discriminant head packs faces tighter: 0.5 was too high a floor for it
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


NOBODY = -2  # a query face whose right answer is "no suggestion" (a person the model never saw)


@dataclass(frozen=True)
class RuleCounts:
    """How many queries the suggestion rule sends to the right person and to a wrong one, per scale."""

    right: np.ndarray
    wrong: np.ndarray


def rule_counts(query: np.ndarray, truth: np.ndarray, index: np.ndarray, index_labels: np.ndarray,
                scales: np.ndarray, max_distance: float, margin: float) -> RuleCounts:
    """The suggestion rule (:func:`faceorg.cluster.match.match_distances`) at every scale at once: the
    nearest person and the runner-up are found once, then each scale's thresholds are compared."""
    people, dist = person_distances(query, build_person_index(index, index_labels))
    n = len(truth)
    if len(people) == 0 or n == 0:
        zero = np.zeros(len(scales), np.int64)
        return RuleCounts(zero, zero.copy())
    order = np.argsort(dist, axis=1, kind="stable")[:, :2]
    rows = np.arange(n)
    best, best_d = people[order[:, 0]], dist[rows, order[:, 0]]
    second_d = dist[rows, order[:, 1]] if len(people) > 1 else np.full(n, np.inf)
    s = np.asarray(scales, np.float64)[:, None]
    accepted = (best_d[None, :] <= max_distance * s) & ((second_d - best_d)[None, :] >= margin * s)
    correct = best == truth
    return RuleCounts((accepted & correct).sum(axis=1), (accepted & ~correct).sum(axis=1))


def fold_calibrated_scale(before: np.ndarray, fold_vectors: list[np.ndarray], labels: np.ndarray,
                          folds: list[GateFold], parent_scale: float, max_distance: float,
                          margin: float) -> float | None:
    """The new model's distance scale from the gate's folds, or None when too few held-out faces of
    learned people exist to judge it.

    In each fold, its held-out faces are matched, as the app matches new photos, against the confirmed
    faces that fold's model trained on (``fold_vectors[k]``: every labelled row under fold ``k``'s model):
    a face of a person the model learned should go to that person, a face of a person it never saw (a
    stranger to it) to nobody. Summed over the folds, the scale is the one at which the new models send
    the most faces to the right person while sending no more to a wrong one than the current model does
    at its own scale on the same faces (the strangers' wrong suggestions included: a scale measured on
    the learned people only let a retrained model suggest strangers and pair them up)."""
    scales = np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + 1e-9, SCALE_STEP)
    right = np.zeros(len(scales), np.int64)
    wrong = np.zeros(len(scales), np.int64)
    old_wrong = learned_queries = 0
    for fold, after in zip(folds, fold_vectors):
        index = (labels >= 0) & ~fold.held_out
        queries = fold.held_out & (labels >= 0)
        truth = np.where(fold.unseen, NOBODY, labels)[queries]
        learned_queries += int(np.count_nonzero(truth >= 0))
        old = rule_counts(before[queries], truth, before[index], labels[index], np.array([parent_scale]),
                          max_distance, margin)
        old_wrong += int(old.wrong[0])
        new = rule_counts(after[queries], truth, after[index], labels[index], scales, max_distance, margin)
        right += new.right
        wrong += new.wrong
    if learned_queries < MIN_QUERIES:
        return None
    allowed = max(old_wrong, 1)  # one mistake is the smallest share that can be told
    ok = np.flatnonzero(wrong <= allowed)
    if not len(ok):
        return None
    best = ok[np.argmax(right[ok])]  # the smallest such scale among the best
    return float(scales[best])
