"""A new model's distance scale, calibrated so its suggestions are as careful as the old model's.

Grouping and suggestions use thresholds measured on the base model (``SUGGEST_MAX_DISTANCE`` 0.32,
``SUGGEST_MARGIN`` 0.03 and the grouping distances), multiplied by the active model's distance scale.
A retrained model spreads faces differently, so its scale is chosen on the user's own labels: the
held-out faces of people the model learned are matched against the confirmed faces it trained on, as the
app matches new photos; the scale is the one at which the new model sends the most of them to the right
person while sending no larger share to a wrong one than the old model did at its own scale.

(For a dataset whose people are not the library's, :func:`distance_scale` uses the ratio of the typical
same-person spacing instead.)

Learning also calibrates how a new model matches new faces (:func:`fold_calibrated_matching`): which margin
over the runner-up makes a match sure enough to be made unasked, and which is enough for a suggestion.
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


def fold_queries(fold: GateFold, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One gate fold as matching sees it: the labelled faces its model trained on (a mask), its held-out
    labelled faces (a mask) and who each of those is to that model (``NOBODY`` for a person it never saw)."""
    index = (labels >= 0) & ~fold.held_out
    queries = fold.held_out & (labels >= 0)
    return index, queries, np.where(fold.unseen, NOBODY, labels)[queries]


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
        index, queries, truth = fold_queries(fold, labels)
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




# Learning's matching rule for new faces (:func:`fold_calibrated_matching`): the share of the faces it sends
# to a person unasked that must go to the right one, in new photos holding the library's own mix of its
# named people and others (the brief's bar for automatic matches: 95 in 100 on held-out faces).
SURE_PRECISION = 0.95
MATCH_MARGINS = np.arange(0.0, 0.3 + 1e-9, 0.0025)  # in the new model's own distances
MIN_MATCH_RIGHT = 15  # held-out faces the rule must send to the right person before it is trusted at all
STRANGER_SHARE_RANGE = (0.05, 0.95)  # the library's share of faces no named person holds, kept within this


@dataclass(frozen=True)
class MatchCounts:
    """The suggestion rule at every margin of ``MATCH_MARGINS`` on the folds' held-out faces: faces of the
    people a fold's model learned sent to the right / a wrong person (of ``known``), and faces of people it
    never saw (strangers to it) sent to anyone (of ``unseen``)."""

    right: np.ndarray
    wrong: np.ndarray
    strangers: np.ndarray
    known: int
    unseen: int

    def precision(self, stranger_share: float) -> np.ndarray:
        """Per margin: the share of the faces sent to someone that go to the right person, for new faces of
        which ``stranger_share`` are strangers (the folds hold out a third of the people whole, far more
        strangers than a library's new photos hold)."""
        k = (1.0 - stranger_share) / max(self.known, 1)
        u = stranger_share / max(self.unseen, 1) if self.unseen else 0.0
        sent = k * (self.right + self.wrong) + u * self.strangers
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sent > 0, k * self.right / np.where(sent > 0, sent, 1.0), 1.0)

    def smallest_margin(self, stranger_share: float, precision: float) -> int | None:
        """The index of the smallest margin at which, and at every larger one, the rule is right at least
        ``precision`` of the time, and finds ``MIN_MATCH_RIGHT`` faces or more; None when there is none (a
        margin that sends nobody anywhere is no evidence against)."""
        ok = self.precision(stranger_share) >= precision
        steady = np.flip(np.cumprod(np.flip(ok))).astype(bool)  # a lucky dip cannot pick a margin
        usable = np.flatnonzero(steady & (self.right >= MIN_MATCH_RIGHT))
        return int(usable[0]) if len(usable) else None


def fold_match_counts(fold_vectors: list[np.ndarray], labels: np.ndarray, folds: list[GateFold],
                      max_distance: float) -> MatchCounts:
    """:class:`MatchCounts` as :func:`fold_calibrated_scale` matches: each fold's held-out faces, under the
    model that never trained on them, against the confirmed faces that model trained on (the app's rule:
    the nearest person within ``max_distance``, the runner-up at least the margin farther)."""
    right = np.zeros(len(MATCH_MARGINS), np.int64)
    wrong = np.zeros(len(MATCH_MARGINS), np.int64)
    strangers = np.zeros(len(MATCH_MARGINS), np.int64)
    known = unseen = 0
    for fold, after in zip(folds, fold_vectors):
        index, queries, truth = fold_queries(fold, labels)
        people, dist = person_distances(after[queries], build_person_index(after[index], labels[index]))
        if len(people) < 2:
            continue
        stranger = truth == NOBODY
        known += int(np.count_nonzero(~stranger))
        unseen += int(np.count_nonzero(stranger))
        order = np.argsort(dist, axis=1, kind="stable")[:, :2]
        rows = np.arange(len(truth))
        best_d, second_d = dist[rows, order[:, 0]], dist[rows, order[:, 1]]
        sent = (best_d <= max_distance)[None, :] & ((second_d - best_d)[None, :] >= MATCH_MARGINS[:, None])
        correct = people[order[:, 0]] == truth
        right += (sent & correct).sum(axis=1)
        wrong += (sent & ~correct & ~stranger).sum(axis=1)
        strangers += (sent & stranger).sum(axis=1)
    return MatchCounts(right, wrong, strangers, known, unseen)


@dataclass(frozen=True)
class LearnedMatching:
    """How new faces are matched to named people under a model learning made (stored in its report as
    ``sure_match``; the new model's own distances): a face within ``max_distance`` of a person and at least
    ``margin`` nearer to them than to anyone else joins them unasked (automatic, never confirmed).
    ``precision``: how often it was right on the ``held_out_faces``, for the library's ``stranger_share``."""

    max_distance: float
    margin: float
    precision: float
    stranger_share: float
    held_out_faces: int

    def as_report(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def stranger_share(named_faces: int, all_faces: int) -> float:
    """The share of a library's faces that no named person holds (within ``STRANGER_SHARE_RANGE``)."""
    share = 1.0 - named_faces / all_faces if all_faces else 1.0
    return float(np.clip(share, *STRANGER_SHARE_RANGE))


def fold_calibrated_matching(fold_vectors: list[np.ndarray], labels: np.ndarray, folds: list[GateFold],
                             max_distance: float, strangers: float,
                             precision: float = SURE_PRECISION) -> LearnedMatching | None:
    """The smallest margin right at least ``precision`` of the time on the folds' held-out faces (weighted to
    the library's share of ``strangers``, see :class:`MatchCounts`), there and at every larger margin; None
    when there is none (matches then stay suggestions, as under the current model)."""
    counts = fold_match_counts(fold_vectors, labels, folds, max_distance)
    k = counts.smallest_margin(strangers, precision)
    if k is None:
        return None
    return LearnedMatching(float(max_distance), float(MATCH_MARGINS[k]), float(counts.precision(strangers)[k]),
                           strangers, counts.known + counts.unseen)
