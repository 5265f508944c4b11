"""Clustering metrics against brute-force loops over faces and pairs on small random labelings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from faceorg.cluster.metrics import bcubed, nmi, pairwise, score_clustering, singletons_for_noise


def _with_singletons(labels: np.ndarray) -> list[object]:
    return [("noise", i) if v < 0 else int(v) for i, v in enumerate(labels)]


def brute_bcubed(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    p, t = _with_singletons(pred), _with_singletons(truth)
    n = len(p)
    precision = recall = 0.0
    for i in range(n):
        same_cluster = [j for j in range(n) if p[j] == p[i]]
        same_identity = [j for j in range(n) if t[j] == t[i]]
        both = [j for j in same_cluster if t[j] == t[i]]
        precision += len(both) / len(same_cluster)
        recall += len(both) / len(same_identity)
    return precision / n, recall / n


def brute_pairwise(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    p, t = _with_singletons(pred), _with_singletons(truth)
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(p)), 2):
        same_p, same_t = p[i] == p[j], t[i] == t[j]
        tp += same_p and same_t
        fp += same_p and not same_t
        fn += same_t and not same_p
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def brute_nmi(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _with_singletons(pred), _with_singletons(truth)
    n = len(p)

    def entropy(xs: list[object]) -> float:
        return -sum(c / n * math.log(c / n) for c in (xs.count(v) for v in set(xs)))

    mi = 0.0
    for a in set(p):
        for b in set(t):
            joint = sum(1 for i in range(n) if p[i] == a and t[i] == b)
            if joint:
                mi += joint / n * math.log(joint * n / (p.count(a) * t.count(b)))
    h_p, h_t = entropy(p), entropy(t)
    if h_p == 0 and h_t == 0:
        return 1.0
    return mi / ((h_p + h_t) / 2)


@pytest.mark.parametrize("seed", range(12))
def test_metrics_match_brute_force_on_random_labelings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    pred = rng.integers(-1, int(rng.integers(1, 6)), size=n)
    truth = rng.integers(-1, int(rng.integers(1, 8)), size=n)
    b = bcubed(pred, truth)
    assert (b.precision, b.recall) == pytest.approx(brute_bcubed(pred, truth))
    pw = pairwise(pred, truth)
    assert (pw.precision, pw.recall) == pytest.approx(brute_pairwise(pred, truth))
    assert nmi(pred, truth) == pytest.approx(brute_nmi(pred, truth))


def test_perfect_clustering_scores_one_and_noise_counts_as_singletons() -> None:
    truth = np.array([0, 0, 1, 1, 2])
    scores = score_clustering(np.array([5, 5, 7, 7, -1]), truth)
    assert scores.bcubed.f == pytest.approx(1.0)
    assert scores.pairwise.f == pytest.approx(1.0)
    assert scores.nmi == pytest.approx(1.0)
    assert (scores.n_clusters, scores.n_noise) == (2, 1)
    # All noise: every face alone; precision perfect, recall only for the singleton identity.
    all_noise = bcubed(np.full(5, -1), truth)
    assert all_noise.precision == 1.0
    assert all_noise.recall == pytest.approx((0.5 * 4 + 1) / 5)


def test_nmi_agrees_with_scikit_learn() -> None:
    from sklearn.metrics import normalized_mutual_info_score

    rng = np.random.default_rng(3)
    pred, truth = rng.integers(0, 9, 300), rng.integers(0, 12, 300)
    assert nmi(pred, truth) == pytest.approx(normalized_mutual_info_score(truth, pred))


def test_singletons_for_noise_gives_each_noise_face_its_own_id() -> None:
    ids = singletons_for_noise(np.array([3, -1, 3, -1, 0]))
    assert ids[0] == ids[2]
    assert len({ids[1], ids[3], ids[4], ids[0]}) == 4


def test_metrics_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        bcubed(np.zeros(3), np.zeros(4))
