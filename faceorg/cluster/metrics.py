"""Clustering quality against ground-truth identities: BCubed, pairwise P/R/F and NMI.

Unclustered faces (predicted label < 0) count as singletons, each its own cluster; so do ground-truth
labels < 0 (faces of unknown identity). Everything is computed from the sparse contingency matrix
(predicted cluster x true identity), so cost is O(n log n), not O(n^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix


@dataclass(frozen=True)
class PRF:
    """Precision, recall and their harmonic mean F."""

    precision: float
    recall: float
    f: float


@dataclass(frozen=True)
class ClusteringScores:
    """All scores of one clustering against the truth."""

    bcubed: PRF
    pairwise: PRF
    nmi: float
    n_clusters: int
    n_noise: int


def _f(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)


def singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    """Dense ids 0..m-1 where every negative label becomes its own new id."""
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    noise = out < 0
    top = int(out.max()) + 1 if out.size and (~noise).any() else 0
    out[noise] = top + np.arange(int(noise.sum()))
    return np.unique(out, return_inverse=True)[1].reshape(-1)


def contingency(
    predicted: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero cells of the contingency table: (cluster id, identity id, count) plus cluster and identity sizes."""
    predicted = np.asarray(predicted)
    truth = np.asarray(truth)
    if predicted.shape != truth.shape or predicted.ndim != 1:
        raise ValueError("predicted and truth must be 1-D arrays of the same length")
    p = singletons_for_noise(predicted)
    t = singletons_for_noise(truth)
    table = coo_matrix((np.ones(len(p), dtype=np.int64), (p, t))).tocsr().tocoo()  # tocsr sums duplicates
    return (
        table.row,
        table.col,
        table.data.astype(np.float64),
        np.bincount(p).astype(np.float64),
        np.bincount(t).astype(np.float64),
    )


def bcubed(predicted: np.ndarray, truth: np.ndarray) -> PRF:
    """BCubed: per face, the share of its cluster with its identity (precision) and the share of its
    identity inside its cluster (recall), averaged over faces."""
    n = len(predicted)
    if n == 0:
        return PRF(1.0, 1.0, 1.0)
    rows, cols, counts, cluster_sizes, identity_sizes = contingency(predicted, truth)
    precision = float(np.sum(counts**2 / cluster_sizes[rows]) / n)
    recall = float(np.sum(counts**2 / identity_sizes[cols]) / n)
    return PRF(precision, recall, _f(precision, recall))


def _pairs(x: np.ndarray) -> float:
    return float(np.sum(x * (x - 1) / 2.0))


def pairwise(predicted: np.ndarray, truth: np.ndarray) -> PRF:
    """Over all pairs of faces: precision = same-identity share of same-cluster pairs, recall = same-cluster
    share of same-identity pairs. With no predicted (or no true) pairs, that side counts as 1."""
    if len(predicted) == 0:
        return PRF(1.0, 1.0, 1.0)
    _, _, counts, cluster_sizes, identity_sizes = contingency(predicted, truth)
    both = _pairs(counts)
    predicted_pairs = _pairs(cluster_sizes)
    true_pairs = _pairs(identity_sizes)
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return PRF(precision, recall, _f(precision, recall))


def _entropy(sizes: np.ndarray, n: float) -> float:
    p = sizes[sizes > 0] / n
    return float(-np.sum(p * np.log(p)))


def nmi(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Normalised mutual information, I(C; T) / mean(H(C), H(T)) (scikit-learn's "arithmetic" default).
    1.0 when both sides are a single group."""
    n = float(len(predicted))
    if n == 0:
        return 1.0
    rows, cols, counts, cluster_sizes, identity_sizes = contingency(predicted, truth)
    h_c = _entropy(cluster_sizes, n)
    h_t = _entropy(identity_sizes, n)
    if h_c == 0.0 and h_t == 0.0:
        return 1.0
    mi = float(np.sum(counts / n * np.log(counts * n / (cluster_sizes[rows] * identity_sizes[cols]))))
    denominator = (h_c + h_t) / 2.0
    return float(np.clip(mi / denominator, 0.0, 1.0)) if denominator > 0 else 0.0


def score_clustering(predicted: np.ndarray, truth: np.ndarray) -> ClusteringScores:
    """BCubed, pairwise and NMI at once, plus the number of clusters and of unclustered faces."""
    predicted = np.asarray(predicted)
    return ClusteringScores(
        bcubed=bcubed(predicted, truth),
        pairwise=pairwise(predicted, truth),
        nmi=nmi(predicted, truth),
        n_clusters=int(len(np.unique(predicted[predicted >= 0]))),
        n_noise=int(np.count_nonzero(predicted < 0)),
    )
