"""The passes after HDBSCAN run in their order: precision pass, recall pass, then pairs among the faces
still unsorted (the late pair rule), each as the obvious slow loop would do it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from faceorg.cluster.engine import cluster_embeddings, recall_settings
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.params import LATE_PAIR_DISTANCE, PRUNE_FROM, ClusterParams, default_params
from faceorg.cluster.prune import prune_groups
from faceorg.cluster.recall_pass import recall_pass
from faceorg.cluster.synthetic import make_faces
from faceorg.people.clustering import cluster_params
from faceorg.settings import Settings
from faceorg.vectors import unit_distances


def brute_pairs(x: np.ndarray, labels: np.ndarray, distance: float) -> np.ndarray:
    """Unsorted faces that are each other's nearest face (of all faces), within ``distance``, become pairs."""
    d = unit_distances(x, x)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(axis=1)
    out = labels.copy()
    label = int(labels.max(initial=-1)) + 1
    for i in np.flatnonzero(labels < 0):
        j = int(nearest[i])
        if j > i and nearest[j] == i and labels[j] < 0 and d[i, j] <= distance:
            out[i] = out[j] = label
            label += 1
    return out


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Same groups (whatever their numbers) and the same faces unsorted."""
    if not np.array_equal(a < 0, b < 0):
        return False
    grouped = a >= 0
    pairs = set(zip(a[grouped].tolist(), b[grouped].tolist()))
    return len(pairs) == len({p for p, _ in pairs}) == len({q for _, q in pairs})


@pytest.mark.parametrize("seed", [2, 5])
def test_precision_then_recall_then_late_pairs(seed: int) -> None:
    """On a seeded synthetic library with the default settings (every pass on), the engine's groups are the
    three passes applied by hand in this order to its grouping without them; in the other order (recall
    pass before the precision pass, as before) they differ, so the order is what is checked."""
    faces = make_faces(3000, seed=seed)
    x = faces.vectors
    params = default_params(len(x))
    assert params.prune_distance > 0 and params.recall_pass and params.late_pair_distance > 0
    graph = knn_exact(x, params.k)
    engine = cluster_embeddings(x, params, graph=graph)
    # Without the passes (and without the stray rule, which the recall pass's attaching replaces).
    start = cluster_embeddings(x, replace(params, recall_pass=False, stray_distance=0.0, prune_distance=0.0,
                                          prune_ratio=0.0, late_pair_distance=0.0), graph=graph)

    def prune(labels: np.ndarray, strengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, st, _ = prune_groups(labels, strengths, graph, distance=params.prune_distance,
                                  ratio=params.prune_ratio, nearest=params.prune_nearest)
        return out, st

    def recall(labels: np.ndarray, strengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, st, _ = recall_pass(x, labels, strengths, graph, recall_settings(params))
        return out, st

    expected = brute_pairs(x, recall(*prune(start.base_labels, start.strengths))[0], params.late_pair_distance)
    assert same_partition(engine.base_labels, expected)
    assert np.array_equal(engine.labels < 0, expected < 0)
    old_order = prune(*recall(start.base_labels, start.strengths))[0]
    assert not same_partition(engine.base_labels, old_order)
    assert engine.timings.keys() >= {"prune", "recall", "late_pairs"}


def test_late_pairs_form_only_among_faces_left_unsorted() -> None:
    """The late pair rule alone adds groups of two and moves no face that has a group."""
    faces = make_faces(3000, seed=3)
    params = default_params(len(faces.vectors))
    graph = knn_exact(faces.vectors, params.k)
    without = cluster_embeddings(faces.vectors, replace(params, late_pair_distance=0.0), graph=graph)
    with_pairs = cluster_embeddings(faces.vectors, params, graph=graph)
    grouped = without.base_labels >= 0
    assert np.array_equal(with_pairs.base_labels[grouped], without.base_labels[grouped])
    new = (~grouped) & (with_pairs.base_labels >= 0)
    assert new.any()
    assert np.all(np.bincount(with_pairs.base_labels[new])[np.unique(with_pairs.base_labels[new])] == 2)
    assert np.all(with_pairs.strengths[new] > 0)


def test_late_pairs_follow_the_defaults_and_the_users_settings() -> None:
    assert default_params(PRUNE_FROM).late_pair_distance == LATE_PAIR_DISTANCE > 0
    assert default_params(PRUNE_FROM - 1).late_pair_distance == 0  # only where the precision pass runs
    with pytest.raises(ValueError):
        ClusterParams(late_pair_distance=-0.1).validate()
    balanced = cluster_params(Settings(), 10_000)
    more = cluster_params(Settings(cluster_sensitivity="more"), 10_000)
    assert balanced.late_pair_distance == LATE_PAIR_DISTANCE
    assert more.late_pair_distance > balanced.late_pair_distance  # the second chance reaches further
    assert cluster_params(Settings(min_group_size=3), 10_000).late_pair_distance == 0  # no pairs below 3
    assert cluster_params(Settings(min_group_size=2), 10_000).late_pair_distance == LATE_PAIR_DISTANCE
