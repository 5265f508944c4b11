"""The gate: a retrained embedder replaces the current one only if it does better on held-out labels.

In each fold (:mod:`faceorg.retrain.folds`) a share of every person's confirmed faces and all faces of
a share of the people are held out of training. The new model must do better on the held-out faces of
the people it learned (verification rate at a 1-in-1000 false-accept rate, and the BCubed F of
regrouping them: better on one, worse on neither; measured by :mod:`faceorg.retrain.scores`); the
library's own grouping of every held-out face (:mod:`faceorg.retrain.regroup_check`: right faces, wrong
faces, mixed groups, split people) must be no worse on any count; and it must not match the faces of
people it never saw clearly worse. Too few held-out faces or people to tell is a refusal. The vectors
judged are those of the model as it will run (see :func:`faceorg.retrain.install.embed_as_installed`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from faceorg.cluster.metrics import bcubed, singletons_for_noise
from faceorg.retrain import regroup_check, wording
from faceorg.retrain.folds import GateFold
from faceorg.retrain.scores import ModelScores, gate_report
from faceorg.settings import Settings

# The gate needs this much evidence before it may accept anything: with fewer held-out named faces one
# face moved changes a share by two points or more, and with few people a model can look better by chance
# (28 faces of 7 people made a model that mixed more strangers into groups look "+1.9 points" better).
MIN_GATE_FACES = 60
MIN_GATE_PEOPLE = 8
UNSEEN_TOLERANCE = 0.02  # people the model never saw may be matched at most 2 points worse...
# People the model never saw veto it only when at least this many (with two faces or more) were held out:
# on the corrections benchmark, 6 such people matched 7-11 points worse by a model that lost only 0.06
# points of LFW accuracy on the 5,274 pairs of people outside the library. With fewer, the geometry
# guard (faceorg.retrain.shipping.MIN_GEOMETRY_KEPT) is what protects them.
MIN_UNSEEN_PEOPLE = 10
GATE_FAR = 1e-3
VERIFICATION_TOLERANCE = 0.005  # half a point of verification: within chance
MIN_IMPOSTORS_PASSED = 10


def steady_far(labels: np.ndarray, masks: list[np.ndarray], far: float = GATE_FAR) -> float:
    """The false-accept rate to measure verification at on few people: ``far``, or higher when the masks
    hold too few different-person pairs for it (the threshold then lets ``MIN_IMPOSTORS_PASSED`` of them
    through instead of hanging on the single closest pair)."""
    fewest = None
    for mask in masks:
        y = labels[mask & (labels >= 0)]
        counts = np.bincount(np.unique(y, return_inverse=True)[1]) if len(y) else np.zeros(0, np.int64)
        impostors = (len(y) ** 2 - int(np.sum(counts ** 2))) // 2
        fewest = impostors if fewest is None else min(fewest, impostors)
    return far if not fewest else max(far, MIN_IMPOSTORS_PASSED / fewest)


def unseen_tolerance(rate: float, genuine_pairs: int) -> float:
    """...or, with few of their faces, worse by less than two standard errors of the measured rate (a
    drop smaller than that cannot be told from chance: 6 people with 50 pairs of faces at 85% allow 10
    points)."""
    if genuine_pairs <= 0 or not np.isfinite(rate):
        return UNSEEN_TOLERANCE
    return max(UNSEEN_TOLERANCE, 2.0 * float(np.sqrt(rate * (1.0 - rate) / genuine_pairs)))


@dataclass
class GateDecision:
    accepted: bool
    before: dict[str, float]
    after: dict[str, float]
    unseen_before: float
    unseen_after: float
    lines: list[str]
    unseen_worse: bool = False  # refused only because people it never saw are matched worse
    regrouped_before: dict[str, int] = field(default_factory=dict)  # the library check's counts
    regrouped_after: dict[str, int] = field(default_factory=dict)


def fold_vectors(after: np.ndarray, after_unseen: np.ndarray | None, fold: GateFold) -> np.ndarray:
    """One fold's held-out faces as its own model embeds them (``after`` for the faces of people it learned,
    ``after_unseen`` for the people it never saw; a face is held out as one in one fold and maybe as the
    other in another, and vectors of two folds' models must never be compared)."""
    if after_unseen is None:
        return after
    out = after.copy()
    out[fold.unseen] = after_unseen[fold.unseen]
    return out


def _unsorted(vectors: np.ndarray) -> np.ndarray:
    return np.arange(len(vectors))


def _with_grouping(scores: ModelScores, predicted: list[np.ndarray], truth: list[np.ndarray]) -> ModelScores:
    """``scores`` with the BCubed figures of the app's grouping of the checked faces."""
    if not predicted:
        return scores
    prf = bcubed(singletons_for_noise(np.concatenate(predicted)), np.concatenate(truth))
    return replace(scores, bcubed_f=prf.f, bcubed_precision=prf.precision, bcubed_recall=prf.recall)


def checked_once(folds: list[GateFold]) -> list[np.ndarray]:
    """Per fold, the held-out faces its regrouping check counts, so that every face counts once: its known
    faces, and the faces of its unseen people that no other fold holds out as known."""
    known_anywhere = np.logical_or.reduce([f.known for f in folds])
    return [f.known | (f.unseen & ~known_anywhere) for f in folds]


def judge(before: np.ndarray, after: np.ndarray, labels: np.ndarray, folds: list[GateFold], seed: int, *,
          after_unseen: np.ndarray | None = None, scales: tuple[float, float] = (1.0, 1.0),
          settings: Settings | None = None) -> GateDecision:
    """The gate: better on the named people's held-out faces, their regrouping no worse on any count (see
    :mod:`faceorg.retrain.regroup_check`), not clearly worse on people it never saw; refused when the
    evidence is too thin to tell. ``after``: each held-out face of a known person under its fold's model;
    ``after_unseen`` (default ``after``): each face of an unseen person under the model of the fold that
    held that person out; ``scales``: the current and the new model's distance scales."""
    unseen_vectors = after if after_unseen is None else after_unseen
    known_rows = np.logical_or.reduce([f.known for f in folds]) & (labels >= 0)
    n_known_people = len(np.unique(labels[known_rows]))
    if known_rows.sum() < MIN_GATE_FACES or n_known_people < MIN_GATE_PEOPLE:
        return GateDecision(False, {}, {}, float("nan"), float("nan"), wording.too_few_to_judge(
            int(known_rows.sum()), n_known_people, MIN_GATE_FACES, MIN_GATE_PEOPLE))
    known = gate_report(before, after, labels, [f.known for f in folds], far=GATE_FAR, seed=seed,
                        cluster_fn=_unsorted)  # the grouping is judged by the app's own, below
    ub = ua = float("nan")
    tolerance = UNSEEN_TOLERANCE
    if any(f.unseen.any() for f in folds):
        masks = [f.unseen for f in folds if f.unseen.any()]
        unseen = gate_report(before, unseen_vectors, labels, masks, far=steady_far(labels, masks), seed=seed,
                             cluster_fn=_unsorted)
        ub, ua = unseen.before.verification_rate, unseen.after.verification_rate
        tolerance = unseen_tolerance(ub, sum(r.n_genuine_pairs for r in unseen.folds))
    unseen_rows = np.logical_or.reduce([f.unseen for f in folds]) & (labels >= 0)
    people, faces = np.unique(labels[unseen_rows], return_counts=True)
    judgeable = int(np.sum(faces >= 2)) >= MIN_UNSEEN_PEOPLE
    unseen_ok = not judgeable or np.isnan(ub) or np.isnan(ua) or ua >= ub - tolerance
    grouped_before = regroup_check.GroupingCounts()
    grouped_after = regroup_check.GroupingCounts()
    predicted_before, predicted_after, truth = [], [], []
    for k, (fold, rows) in enumerate(zip(folds, checked_once(folds))):
        rows = np.flatnonzero(rows & (labels >= 0))
        got_before = regroup_check.regroup(before, labels, rows, scales[0], settings)
        got_after = regroup_check.regroup(fold_vectors(after, after_unseen, fold), labels, rows, scales[1], settings)
        grouped_before += regroup_check.grouping_counts(got_before, labels[rows])
        grouped_after += regroup_check.grouping_counts(got_after, labels[rows])
        offset = (k + 1) * (len(labels) + 1)  # keeps the folds' groups apart
        predicted_before.append(np.where(got_before >= 0, got_before + offset, -1))
        predicted_after.append(np.where(got_after >= 0, got_after + offset, -1))
        truth.append(labels[rows])
    scores_before = _with_grouping(known.before, predicted_before, truth)
    scores_after = _with_grouping(known.after, predicted_after, truth)
    worse = regroup_check.worse(grouped_before, grouped_after)
    d_ver = scores_after.verification_rate - scores_before.verification_rate
    matched_worse = bool(d_ver < -VERIFICATION_TOLERANCE)
    better = bool(d_ver > VERIFICATION_TOLERANCE) or regroup_check.better(grouped_before, grouped_after)
    accepted = better and not matched_worse and bool(unseen_ok) and not worse
    lines = [wording.checked_on(int(known_rows.sum()), n_known_people, len(folds)),
             wording.regrouped(grouped_before, grouped_after),
             wording.recognised(known.before.verification_rate, known.after.verification_rate)]
    if unseen_rows.any():
        lines.append(wording.unseen_people(len(people), ub, ua, judgeable))
    if accepted:
        lines.append(wording.verdict(True, wording.ACCEPTED))
    elif matched_worse:
        lines.append(wording.verdict(False, wording.MATCHED_WORSE))
    elif worse:
        lines.append(wording.verdict(False, wording.regrouped_worse(worse)))
    elif not better:
        lines.append(wording.verdict(False, wording.NOT_BETTER))
    else:
        lines.append(wording.unseen_worse(ub, ua))
    return GateDecision(accepted, asdict(scores_before), asdict(scores_after), float(ub), float(ua), lines,
                        unseen_worse=better and not matched_worse and not worse and not bool(unseen_ok),
                        regrouped_before=asdict(grouped_before), regrouped_after=asdict(grouped_after))
