"""The precision pass at the end of grouping: poorly fitting faces are left unsorted, never a user's face."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from faceorg.cluster.engine import cluster_embeddings
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.metrics import score_clustering
from faceorg.cluster.params import PRUNE_DISTANCE, PRUNE_FROM, PRUNE_RATIO, default_params
from faceorg.cluster.prune import prune_groups
from faceorg.cluster.synthetic import make_faces
from faceorg.vectors import l2_normalize, unit_distances

DIM = 128


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def blob(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    return l2_normalize(centre + rng.normal(scale=spread / np.sqrt(DIM), size=(n, DIM)))


def brute_prune(x: np.ndarray, labels: np.ndarray, distance: float, ratio: float, nearest: int) -> np.ndarray:
    """Every grouped face against every group, the slow obvious way."""
    d = unit_distances(x, x)
    np.fill_diagonal(d, np.inf)
    out = labels.copy()
    for i in np.flatnonzero(labels >= 0):
        mates = np.sort(d[i, labels == labels[i]])[:nearest]
        mates = mates[np.isfinite(mates)]
        own = float(mates.mean()) if len(mates) else 0.0
        other = min((float(np.sort(d[i, labels == g])[:nearest].mean())
                     for g in np.unique(labels[labels >= 0]) if g != labels[i]), default=np.inf)
        if (distance > 0 and own > distance) or (ratio > 0 and other < ratio * own):
            out[i] = -1
    left = np.bincount(out[out >= 0], minlength=labels.max() + 1)
    before = np.bincount(labels[labels >= 0], minlength=labels.max() + 1)
    out[(out >= 0) & (left[np.maximum(out, 0)] == 1) & (before[np.maximum(out, 0)] > 1)] = -1  # lost its mates
    return out


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_brute_force_loop(seed: int) -> None:
    """With every face in the graph, the pass is exactly the obvious loop over all faces and groups."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=6)
    x = np.vstack([blob(rng, unit(rng), int(n), 0.22) for n in sizes]).astype(np.float32)
    labels = np.repeat(np.arange(6), sizes)
    # A few faces moved to a wrong group or left unsorted.
    wrong = rng.choice(len(x), size=4, replace=False)
    labels[wrong] = rng.integers(-1, labels.max() + 1, size=4)
    graph = knn_exact(x, len(x) - 1)
    for distance, ratio, nearest in ((0.35, 1.05, 3), (0.3, 0.0, 2), (0.0, 1.0, 3), (0.5, 1.1, 1)):
        out, strengths, report = prune_groups(labels, np.ones(len(x)), graph, distance=distance, ratio=ratio,
                                              nearest=nearest)
        assert np.array_equal(out, brute_prune(x, labels, distance, ratio, nearest))
        assert report.faces_unsorted + report.groups_dissolved == int(np.count_nonzero((labels >= 0) & (out < 0)))
        assert np.all(strengths[(labels >= 0) & (out < 0)] == 0)


def test_a_stranger_leaves_a_group_but_a_users_face_stays() -> None:
    rng = np.random.default_rng(3)
    a, b = unit(rng), unit(rng)
    x = np.vstack([blob(rng, a, 8, 0.2), blob(rng, b, 8, 0.2), blob(rng, unit(rng), 1, 0.2)]).astype(np.float32)
    labels = np.array([0] * 8 + [1] * 8 + [0])  # face 16, a stranger, was put with person A
    graph = knn_exact(x, 15)
    out, _, report = prune_groups(labels, np.ones(len(x)), graph, distance=PRUNE_DISTANCE * 1.5, ratio=PRUNE_RATIO)
    assert out[16] == -1 and report.faces_unsorted == 1
    assert np.array_equal(out[:16], labels[:16])  # the true members all stay
    fixed = np.full(len(x), -1)
    fixed[16] = 7  # the user said the stranger is person 7's
    out, _, report = prune_groups(labels, np.ones(len(x)), graph, distance=PRUNE_DISTANCE * 1.5, ratio=PRUNE_RATIO,
                                  fixed=fixed)
    assert out[16] == 0 and report.faces_unsorted == 0


def test_a_pair_that_loses_a_face_is_dissolved() -> None:
    rng = np.random.default_rng(4)
    a = unit(rng)
    x = np.vstack([blob(rng, a, 6, 0.2), blob(rng, unit(rng), 1, 0.2), blob(rng, unit(rng), 1, 0.2)])
    labels = np.array([0] * 6 + [1, 1])  # two strangers paired up
    out, _, report = prune_groups(labels, np.ones(len(x)), knn_exact(x.astype(np.float32), 7),
                                  distance=PRUNE_DISTANCE * 1.5, ratio=0.0)
    assert np.all(out[6:] == -1) and np.all(out[:6] == 0)
    assert report.faces_unsorted == 2


def test_on_by_default_from_a_few_thousand_faces() -> None:
    assert default_params(PRUNE_FROM).prune_distance == PRUNE_DISTANCE
    assert default_params(PRUNE_FROM).prune_ratio == PRUNE_RATIO
    assert default_params(PRUNE_FROM - 1).prune_distance == 0 and default_params(PRUNE_FROM - 1).prune_ratio == 0


def test_it_raises_precision_of_the_engine() -> None:
    """A seeded synthetic library on LFW's distance scale: the engine with the pass is more precise and
    better overall than without it, and says what it did."""
    faces = make_faces(3000, seed=2)
    params = default_params(len(faces.vectors))
    on = cluster_embeddings(faces.vectors, params)
    off = cluster_embeddings(faces.vectors, replace(params, prune_distance=0.0, prune_ratio=0.0))
    s_on, s_off = score_clustering(on.labels, faces.identities), score_clustering(off.labels, faces.identities)
    assert on.prune_report is not None and on.prune_report.faces_unsorted > 0
    assert off.prune_report is None
    assert s_on.bcubed.precision > s_off.bcubed.precision
    assert s_on.bcubed.f >= s_off.bcubed.f - 0.002
