"""The gate: a retrained embedder replaces the current one only if it does better on held-out labels.

In each fold (:mod:`faceorg.retrain.folds`) a share of every person's confirmed faces and all faces of
a share of the people are held out of training. The new model must do better on the held-out faces of
the people it learned (verification rate at a 1-in-1000 false-accept rate, and the BCubed F of
regrouping them: better on one, worse on neither; measured by :mod:`faceorg.retrain.scores`), and must
not match the faces of people it never saw clearly worse. The vectors judged are those of the model as
it will run (see :func:`faceorg.retrain.install.embed_as_installed`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from faceorg.retrain import wording
from faceorg.retrain.folds import GateFold
from faceorg.retrain.scores import gate_report

# The gate needs this much evidence before it may accept anything.
MIN_GATE_FACES = 15
MIN_GATE_PEOPLE = 3
UNSEEN_TOLERANCE = 0.02  # people the model never saw may be matched at most 2 points worse...
# People the model never saw veto it only when at least this many (with two faces or more) were held out:
# on the corrections benchmark, 6 such people matched 7-11 points worse by a model that lost only 0.06
# points of LFW accuracy on the 5,274 pairs of people outside the library. With fewer, the geometry
# guard (faceorg.retrain.shipping.MIN_GEOMETRY_KEPT) is what protects them.
MIN_UNSEEN_PEOPLE = 10
GATE_FAR = 1e-3
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


def judge(before: np.ndarray, after: np.ndarray, labels: np.ndarray, folds: list[GateFold],
          seed: int) -> GateDecision:
    """The gate: better on the known people's held-out faces, not clearly worse on unseen people."""
    known_rows = np.logical_or.reduce([f.known for f in folds]) & (labels >= 0)
    n_known_people = len(np.unique(labels[known_rows]))
    if known_rows.sum() < MIN_GATE_FACES or n_known_people < MIN_GATE_PEOPLE:
        return GateDecision(False, {}, {}, float("nan"), float("nan"), wording.too_few_to_judge(
            int(known_rows.sum()), n_known_people, MIN_GATE_FACES, MIN_GATE_PEOPLE))
    known = gate_report(before, after, labels, [f.known for f in folds], far=GATE_FAR, seed=seed)
    ub = ua = float("nan")
    tolerance = UNSEEN_TOLERANCE
    if any(f.unseen.any() for f in folds):
        masks = [f.unseen for f in folds if f.unseen.any()]
        unseen = gate_report(before, after, labels, masks, far=steady_far(labels, masks), seed=seed)
        ub, ua = unseen.before.verification_rate, unseen.after.verification_rate
        tolerance = unseen_tolerance(ub, sum(r.n_genuine_pairs for r in unseen.folds))
    unseen_rows = np.logical_or.reduce([f.unseen for f in folds]) & (labels >= 0)
    people, faces = np.unique(labels[unseen_rows], return_counts=True)
    judgeable = int(np.sum(faces >= 2)) >= MIN_UNSEEN_PEOPLE
    unseen_ok = not judgeable or np.isnan(ub) or np.isnan(ua) or ua >= ub - tolerance
    accepted = known.accepted and bool(unseen_ok)
    lines = [wording.checked_on(int(known_rows.sum()), n_known_people, len(folds)),
             wording.matched(GATE_FAR, known.before.verification_rate, known.after.verification_rate),
             wording.grouped(known.before.bcubed_f, known.after.bcubed_f)]
    if unseen_rows.any():
        lines.append(wording.unseen_people(len(people), ub, ua, judgeable))
    if accepted or not known.accepted:
        lines.append(wording.verdict(accepted, known.reason))
    else:
        lines.append(wording.unseen_worse(ub, ua))
    return GateDecision(accepted, asdict(known.before), asdict(known.after), float(ub), float(ua), lines,
                        unseen_worse=known.accepted and not bool(unseen_ok))
