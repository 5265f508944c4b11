"""benchmarks/effort_tune.py: its pair rules on a hand-made k-NN graph, and that its patches reach the app's
grouping (the cluster parameters and the pair rule the engine calls) in this process only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import effort_tune
from faceorg.cluster.knn import KnnGraph


def graph(rows: dict[int, list[tuple[int, float]]], n: int, k: int = 4) -> KnnGraph:
    """Each face's neighbours (face, distance), nearest first, padded with -1 / inf."""
    idx = np.full((n, k), -1, np.int64)
    dist = np.full((n, k), np.inf)
    for i, near in rows.items():
        for c, (j, d) in enumerate(near[:k]):
            idx[i, c], dist[i, c] = j, d
    return KnnGraph(idx, dist)


# Faces 0-4: a group (label 0); face 4 sits at its edge (its group mates 0.40-0.45 away) and face 5, unsorted,
# is its nearest face at 0.30 (and 4 is 5's). Faces 6 and 7 are unsorted; 6's nearest face is 0 (grouped),
# its nearest unsorted face is 7 at 0.31, and 7's is 6.
LABELS = np.array([0, 0, 0, 0, 0, -1, -1, -1])
G = graph({
    0: [(1, 0.1), (2, 0.1), (3, 0.1), (6, 0.2)],
    1: [(0, 0.1), (2, 0.1), (3, 0.1)],
    2: [(0, 0.1), (1, 0.1), (3, 0.1)],
    3: [(0, 0.1), (1, 0.1), (2, 0.1)],
    4: [(5, 0.30), (0, 0.40), (1, 0.45), (2, 0.45)],
    5: [(4, 0.30), (7, 0.50)],
    6: [(0, 0.2), (7, 0.31)],
    7: [(6, 0.31), (5, 0.50)],
}, 8)


def test_steal_takes_a_loosely_held_face_out_of_its_group_for_a_pair() -> None:
    out = effort_tune.steal_pairs(LABELS, G, 0.33, 1.2)
    assert out[4] == out[5] and out[4] not in (-1, 0)
    assert (out[:4] == 0).all() and out[6] == out[7] == -1  # only the steal: no pair of unsorted faces
    # a group mate nearer than 1.2 x the pair's distance keeps the face: 0.40-0.45 on average is not > 1.5 x 0.30
    assert (effort_tune.steal_pairs(LABELS, G, 0.33, 1.5) == LABELS).all()
    assert (effort_tune.steal_pairs(LABELS, G, 0.29, 1.2) == LABELS).all()  # beyond the pair distance


def test_unsorted_pairs_skip_grouped_neighbours() -> None:
    out = effort_tune.pair_unsorted(LABELS, G, 0.33)
    assert out[6] == out[7] and out[6] >= 1 and out[4] == 0 and out[5] == -1


@pytest.fixture
def restore() -> Iterator[None]:
    import faceorg.cluster.engine as engine
    import faceorg.cluster.refine as refine
    import faceorg.people.clustering as clustering

    saved = (clustering.cluster_params, refine.pair_strays, engine._recall)
    yield
    clustering.cluster_params, refine.pair_strays, engine._recall = saved


def test_patches_reach_the_apps_grouping(restore: None) -> None:
    import faceorg.cluster.refine as refine
    import faceorg.people.clustering as clustering
    from faceorg.settings import Settings

    effort_tune.patch(effort_tune.parse_sets(["pair_distance=0.36", "min_cluster_size=2"]))
    effort_tune.patch_pair_rule("app_steal", "none", 1.2)
    params = clustering.cluster_params(Settings(), 15_000, 1.0)
    assert params.pair_distance == 0.36 and params.min_cluster_size == 2 and params.prune_distance == 0.35
    # the engine's refine_strays calls the module's pair_strays: now the app's rule after the steal
    paired, _ = refine.refine_strays(LABELS, np.zeros(8), G, stray_distance=0.0, pair_distance=0.33)
    assert paired[4] == paired[5] != 0
    with pytest.raises(SystemExit):
        effort_tune.parse_sets(["no_such_knob=1"])
