"""The gate's measures: how two embeddings of the same faces do on held-out labels (the policy that
uses them is :mod:`faceorg.retrain.gate`).

Measured on held-out faces only, for the embeddings before and after training:

* verification rate at a fixed false-accept rate: over all pairs of held-out faces of one fold, the
  cosine-similarity threshold that lets through at most ``far`` of the different-person pairs, and
  the share of same-person pairs above it (per person, then averaged over people, so one person with
  hundreds of photos does not drown the rest);
* BCubed F of re-clustering those faces with ``cluster_fn`` (default: average-linkage agglomerative
  clustering cut at the cosine distance that gives the best BCubed F on the training faces, chosen
  separately for each model; when no training faces of two or more people exist, on the fold
  itself, which flatters both models alike).

Folds: a list of masks (k-fold over people, see :func:`faceorg.retrain.folds.kfold_people`), or one boolean mask of
held-out faces. Pairs and clusters never mix folds, so ``embeddings_after`` may be stitched from one
model per fold, each embedding the faces it did not train on (:func:`faceorg.retrain.folds.kfold_embeddings`), and only
held-out faces are ever used: a single mask holding at least ``SPLIT_MIN_PEOPLE`` people is split
into two halves by people, each half's clustering threshold chosen on the other. (The faces outside
the mask are used only for fewer people: the new model has trained on them, which flatters its
threshold, and callers may not have re-embedded them at all.) Scores are averaged over folds,
weighted by their number of people.

Numpy and scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from faceorg.cluster.metrics import bcubed
from faceorg.retrain import wording
from faceorg.retrain.folds import kfold_people
from faceorg.vectors import l2_normalize

ClusterFn = Callable[[np.ndarray], np.ndarray]
"""``cluster_fn(vectors [m, d]) -> labels [m]`` (negative = unclustered, counted as singletons)."""

MAX_CANDIDATES = 200  # clustering thresholds tried (quantiles of the trees' merge distances)
DEFAULT_THRESHOLD = 0.3  # cosine distance, used only when there is nothing to choose on
SPLIT_MIN_PEOPLE = 4  # a single held-out mask with this many people is split in two halves
MAX_THRESHOLD_FACES = 3000  # faces used to choose a clustering threshold (a seeded random subset)


def _as_folds(folds_or_holdout: np.ndarray | Sequence[np.ndarray], labels: np.ndarray,
              seed: int) -> list[np.ndarray]:
    """Checked folds; a single mask with enough people becomes two halves (see the module docstring)."""
    if isinstance(folds_or_holdout, np.ndarray) and folds_or_holdout.ndim == 1:
        folds = [folds_or_holdout]
    else:
        folds = [np.asarray(f) for f in folds_or_holdout]
    if not folds:
        raise ValueError("no folds")
    for fold in folds:
        if fold.shape != labels.shape or fold.dtype != bool:
            raise ValueError("each fold must be a boolean mask with one entry per face")
    for a in range(len(folds)):
        for b in range(a + 1, len(folds)):
            if np.any(folds[a] & folds[b]):
                raise ValueError("folds overlap")
    if len(folds) == 1 and len(np.unique(labels[folds[0] & (labels >= 0)])) >= SPLIT_MIN_PEOPLE:
        return kfold_people(np.where(folds[0], labels, -1), 2, seed)
    return folds


# ------------------------------------------------------------------------------------ verification
@dataclass(frozen=True)
class Verification:
    """Verification rate at a false-accept rate over the pairs of one set of faces."""

    rate: float
    threshold: float  # cosine similarity; same person above it
    achieved_far: float
    n_genuine: int
    n_impostor: int


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit rows in float64 (the gate's pair scores are cosine similarities)."""
    return l2_normalize(np.asarray(vectors, dtype=np.float64))


def verification_at_far(vectors: np.ndarray, labels: np.ndarray, far: float) -> Verification:
    """All pairs of ``vectors`` (labels >= 0): the threshold lets through at most ``far`` of the
    different-person pairs (the ``floor(far * n) + 1``-th highest impostor score), and the rate is the
    share of same-person pairs scoring above it, averaged over people. NaN without both kinds of pair."""
    keep = np.asarray(labels) >= 0
    x, y = normalise(vectors[keep]), np.asarray(labels)[keep]
    upper = np.triu_indices(len(y), k=1)
    scores = (x @ x.T)[upper]
    same = y[upper[0]] == y[upper[1]]
    impostor = scores[~same]
    n_genuine, n_impostor = int(same.sum()), len(impostor)
    if n_genuine == 0 or n_impostor == 0:
        return Verification(math.nan, math.nan, math.nan, n_genuine, n_impostor)
    rank = min(math.floor(far * n_impostor), n_impostor - 1)  # 0: the highest impostor score
    threshold = float(np.partition(impostor, n_impostor - 1 - rank)[n_impostor - 1 - rank])  # (no full sort)
    _, person = np.unique(y[upper[0]][same], return_inverse=True)
    hits = np.bincount(person, weights=scores[same] > threshold)
    rate = float(np.mean(hits / np.bincount(person)))
    return Verification(rate, threshold, float(np.mean(impostor > threshold)), n_genuine, n_impostor)


# -------------------------------------------------------------------------------------- clustering
def average_linkage(vectors: np.ndarray) -> np.ndarray:
    """scipy's average-linkage tree over cosine distances (needs at least 2 vectors)."""
    return linkage(normalise(vectors), method="average", metric="cosine")


def cut(tree: np.ndarray | None, n: int, threshold: float) -> np.ndarray:
    """Cluster labels of the ``n`` leaves of ``tree`` cut at cosine distance ``threshold``."""
    if tree is None or n < 2:
        return np.arange(n)
    return fcluster(tree, t=threshold, criterion="distance")


def candidate_thresholds(trees: Sequence[np.ndarray], limit: int = MAX_CANDIDATES) -> np.ndarray:
    """Cuts worth trying: midpoints between consecutive merge distances of the trees (every distinct
    flat clustering), thinned to ``limit`` evenly spaced quantiles. Scale-free: the retrained model's
    distances need not be on the original's scale."""
    if not trees:
        return np.zeros(0)
    heights = np.unique(np.concatenate([t[:, 2] for t in trees]))
    if len(heights) < 2:
        return heights
    midpoints = (heights[:-1] + heights[1:]) / 2
    if len(midpoints) > limit:
        midpoints = np.unique(np.quantile(midpoints, np.linspace(0.0, 1.0, limit)))
    return midpoints


def f_table(trees: Sequence[tuple[np.ndarray | None, np.ndarray]], candidates: np.ndarray) -> np.ndarray:
    """``[groups, candidates]`` BCubed F of each ``(tree, labels)`` group cut at each candidate."""
    return np.array([[bcubed(cut(tree, len(y), th), y).f for th in candidates] for tree, y in trees])


def pick_threshold(candidates: np.ndarray, scores: np.ndarray) -> float:
    """The middle one of the candidates with the best score: the clusterings the choice was made on
    do not change across that plateau, and its middle transfers best to other faces."""
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(candidates[best[len(best) // 2]])


def best_cluster_threshold(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The cut with the best mean BCubed F over the ``(vectors, labels)`` groups (among
    :func:`candidate_thresholds`, see :func:`pick_threshold`); ``DEFAULT_THRESHOLD`` without a
    usable group."""
    trees = [(average_linkage(v), y) for v, y in groups if len(v) >= 2]
    candidates = candidate_thresholds([t for t, _ in trees])
    if len(candidates) == 0:
        return DEFAULT_THRESHOLD
    return pick_threshold(candidates, f_table(trees, candidates).mean(axis=0))


def threshold_cluster_fn(threshold: float) -> ClusterFn:
    """Average-linkage clustering cut at cosine distance ``threshold``."""

    def cluster(vectors: np.ndarray) -> np.ndarray:
        return cut(average_linkage(vectors) if len(vectors) >= 2 else None, len(vectors), threshold)

    return cluster


def threshold_groups(labels: np.ndarray, folds: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Rows the clustering thresholds are chosen on, one group per entry: with several folds, the
    folds themselves (fold i's threshold comes from the others, so out-of-fold embeddings of
    different models never meet); with one held-out mask, the labelled faces outside it (at most
    ``MAX_THRESHOLD_FACES``, a seeded random subset)."""
    labelled = np.asarray(labels) >= 0
    if len(folds) > 1:
        return [np.flatnonzero(f & labelled) for f in folds]
    rows = np.flatnonzero(labelled & ~folds[0])
    if len(rows) > MAX_THRESHOLD_FACES:
        rows = np.sort(np.random.default_rng([seed, 22]).choice(rows, MAX_THRESHOLD_FACES, replace=False))
    return [rows]


def default_clustering(vectors: np.ndarray, labels: np.ndarray, evaluated: list[np.ndarray],
                       groups: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
    """Per evaluated fold, ``(threshold, predicted labels)`` of average linkage cut at the threshold
    with the best mean BCubed F over the other groups (the groups other than the fold itself; the
    fold itself when no other group has two people, which flatters every model alike)."""
    def tree(rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        return (average_linkage(vectors[rows]) if len(rows) >= 2 else None), labels[rows]

    folds_are_groups = len(evaluated) > 1  # as threshold_groups makes them: group i is fold i
    choosers = [tree(g) for g in groups]
    usable = [t is not None and len(np.unique(y)) >= 2 for t, y in choosers]
    candidates = candidate_thresholds([t for (t, _), ok in zip(choosers, usable) if ok and t is not None])
    table = f_table(choosers, candidates) if len(candidates) else np.zeros((len(choosers), 0))
    out = []
    for i, rows in enumerate(evaluated):
        fold_tree, fold_labels = choosers[i] if folds_are_groups else tree(rows)
        others = [j for j in range(len(choosers)) if usable[j] and not (folds_are_groups and j == i)]
        if others and len(candidates):
            threshold = pick_threshold(candidates, table[others].mean(axis=0))
        else:  # nothing else to choose on: the fold itself
            threshold = best_cluster_threshold([(vectors[rows], labels[rows])])
        out.append((threshold, cut(fold_tree, len(fold_labels), threshold)))
    return out


# ---------------------------------------------------------------------------------------- reports
@dataclass(frozen=True)
class ModelScores:
    """One model's scores on one fold (or averaged over folds)."""

    verification_rate: float
    bcubed_f: float
    bcubed_precision: float
    bcubed_recall: float
    cluster_threshold: float | None = None


@dataclass(frozen=True)
class FoldReport:
    index: int
    n_faces: int
    n_people: int
    n_genuine_pairs: int
    n_impostor_pairs: int
    before: ModelScores
    after: ModelScores


@dataclass(frozen=True)
class GateReport:
    """Before/after scores on the held-out faces, and the decision.

    ``accepted``: the new model is better on at least one score by more than ``min_gain`` and worse
    on neither by more than ``tolerance`` (see :func:`gate_report`); ``reason`` says why in plain words.
    """

    before: ModelScores
    after: ModelScores
    far: float
    folds: list[FoldReport] = field(default_factory=list)
    accepted: bool = False
    reason: str = ""

    @property
    def n_faces(self) -> int:
        return sum(f.n_faces for f in self.folds)

    @property
    def n_people(self) -> int:
        return sum(f.n_people for f in self.folds)

    @property
    def verification_gain(self) -> float:
        return self.after.verification_rate - self.before.verification_rate

    @property
    def bcubed_gain(self) -> float:
        return self.after.bcubed_f - self.before.bcubed_f

    def summary_lines(self) -> list[str]:
        """The comparison in plain words, one line each (worded by :mod:`faceorg.retrain.wording`)."""
        return [wording.checked_on(self.n_faces, self.n_people, len(self.folds), yours=False),
                wording.matched(self.far, self.before.verification_rate, self.after.verification_rate),
                wording.grouped(self.before.bcubed_f, self.after.bcubed_f),
                wording.verdict(self.accepted, self.reason)]


def _model_scores(vectors: np.ndarray, labels: np.ndarray, evaluated: list[np.ndarray],
                  groups: list[np.ndarray], far: float,
                  cluster_fn: ClusterFn | None) -> list[tuple[ModelScores, Verification]]:
    """One model's scores on every fold."""
    clusterings: Sequence[tuple[float | None, np.ndarray]]
    if cluster_fn is None:
        clusterings = default_clustering(vectors, labels, evaluated, groups)
    else:
        clusterings = [(None, np.asarray(cluster_fn(vectors[rows]))) for rows in evaluated]
    out = []
    for rows, (threshold, predicted) in zip(evaluated, clusterings):
        verification = verification_at_far(vectors[rows], labels[rows], far)
        prf = bcubed(predicted, labels[rows])
        out.append((ModelScores(verification.rate, prf.f, prf.precision, prf.recall, threshold),
                    verification))
    return out


def _mean_scores(scores: list[ModelScores], weights: np.ndarray) -> ModelScores:
    def mean(values: list[float]) -> float:
        v = np.asarray(values, dtype=np.float64)
        ok = ~np.isnan(v)
        return float(np.average(v[ok], weights=weights[ok])) if ok.any() else math.nan

    return ModelScores(mean([s.verification_rate for s in scores]), mean([s.bcubed_f for s in scores]),
                       mean([s.bcubed_precision for s in scores]), mean([s.bcubed_recall for s in scores]))


def decide(before: ModelScores, after: ModelScores, tolerance: float,
           min_gain: float = 0.0) -> tuple[bool, str]:
    """Accept when ``after`` beats ``before`` by more than ``min_gain`` on verification or BCubed F
    and loses on neither by more than ``tolerance``; the reason in words."""
    if math.isnan(before.verification_rate) or math.isnan(after.verification_rate):
        return False, ("too few held-out labels to compare the models "
                       "(at least two people with two faces each).")
    d_ver = after.verification_rate - before.verification_rate
    d_f = after.bcubed_f - before.bcubed_f
    if d_ver < -tolerance:
        return False, f"it matches fewer faces of the same person ({100 * d_ver:+.1f} points)."
    if d_f < -tolerance:
        return False, f"it groups faces into people worse ({100 * d_f:+.1f} points of BCubed F)."
    if d_ver <= 0 and d_f <= 0:
        return False, "it is no better than the current model."
    if d_ver <= min_gain and d_f <= min_gain:
        return False, (f"it is not clearly better ({100 * d_ver:+.1f} points of matching, "
                       f"{100 * d_f:+.1f} points of grouping).")
    return True, f"{100 * d_ver:+.1f} points of matching, {100 * d_f:+.1f} points of grouping."


def gate_report(embeddings_before: np.ndarray, embeddings_after: np.ndarray, labels: np.ndarray,
                folds_or_holdout: np.ndarray | Sequence[np.ndarray], *, far: float = 1e-3,
                cluster_fn: ClusterFn | None = None, tolerance: float = 0.005,
                min_gain: float = 0.005, seed: int = 0) -> GateReport:
    """Compare two embeddings of the same faces on held-out labels (see the module docstring).

    ``labels [n]``: person numbers, -1 unlabelled (ignored). ``folds_or_holdout``: a list of disjoint
    boolean masks (folds), or one mask of held-out faces (split in two halves by people when it holds
    at least ``SPLIT_MIN_PEOPLE`` people). ``cluster_fn``: how to re-cluster a fold's
    faces (default: average linkage at the threshold chosen on the training faces). Accepted when
    one score improves by more than ``min_gain`` and neither gets worse by more than ``tolerance``
    (shares: 0.005 = half a point).
    """
    before = np.asarray(embeddings_before, dtype=np.float32)
    after = np.asarray(embeddings_after, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if before.shape != after.shape or before.ndim != 2 or labels.shape != (len(before),):
        raise ValueError("embeddings must be [n, d] of the same shape, labels [n]")
    folds = _as_folds(folds_or_holdout, labels, seed)
    evaluated = [np.flatnonzero(fold & (labels >= 0)) for fold in folds]
    groups = threshold_groups(labels, folds, seed)
    scores_before = _model_scores(before, labels, evaluated, groups, far, cluster_fn)
    scores_after = _model_scores(after, labels, evaluated, groups, far, cluster_fn)
    reports = [FoldReport(i, len(rows), len(np.unique(labels[rows])), vb.n_genuine, vb.n_impostor, b, a)
               for i, (rows, (b, vb), (a, _)) in enumerate(zip(evaluated, scores_before, scores_after))]
    weights = np.array([r.n_people for r in reports], dtype=np.float64)
    mean_before = _mean_scores([r.before for r in reports], weights)
    mean_after = _mean_scores([r.after for r in reports], weights)
    accepted, reason = decide(mean_before, mean_after, tolerance, min_gain)
    return GateReport(mean_before, mean_after, far, reports, accepted, reason)
