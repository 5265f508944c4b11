"""The inverted file of large libraries (knn_ivf.IvfIndex): its searches, and memory that grows with n only."""

from __future__ import annotations

import tracemalloc

import numpy as np

from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.knn_ivf import IvfIndex, knn_approximate
from faceorg.cluster.reachability import nearest_other_component
from faceorg.cluster.recall_pass import RecallSettings, group_members, recall_pass
from faceorg.cluster.synthetic import make_faces


def _every_cell(x: np.ndarray, cell_size: int) -> tuple[IvfIndex, int]:
    index = IvfIndex(x, cell_size=cell_size, neighbour_cells=10_000)
    return index, index.n_cells


def test_search_probing_every_cell_is_exact_and_respects_allowed_cap_and_group() -> None:
    x = make_faces(3000, seed=11).vectors
    index, cells = _every_cell(x, 200)
    rows = np.arange(0, 3000, 7)
    ids, sims = index.search(rows, 10, probes=cells)
    exact = knn_exact(x, 10)
    np.testing.assert_allclose(np.sqrt(np.maximum(2 - 2 * sims, 0)), exact.distances[rows], atol=2e-3)
    assert (ids != rows[:, None]).all()

    rng = np.random.default_rng(0)
    allowed = rng.random(3000) < 0.5
    cap = rng.uniform(0.5, 1.0, 3000).astype(np.float32)
    group = rng.integers(0, 20, 3000)
    ids, sims = index.search(rows, 5, probes=cells, allowed=allowed, cap=cap, group=group)
    brute = np.minimum(x[rows] @ x.T, cap[None, :])
    brute[:, ~allowed] = -np.inf
    brute[group[rows][:, None] == group[None, :]] = -np.inf
    brute[np.arange(len(rows)), rows] = -np.inf
    np.testing.assert_allclose(sims, -np.sort(-brute, axis=1)[:, :5], atol=1e-5)
    assert allowed[ids].all() and (group[ids] != group[rows][:, None]).all()


def test_nearest_other_component_with_an_index_finds_an_edge_for_every_component() -> None:
    x = make_faces(4000, seed=12).vectors
    component = np.random.default_rng(1).integers(0, 40, 4000)
    core = knn_exact(x, 4).distances[:, 1]
    rows = np.flatnonzero(component != 0)
    index, cells = _every_cell(x, 100)
    partner, best = nearest_other_component(x, component, core, rows, index=index, probes=cells)
    exact_partner, exact_best = nearest_other_component(x, component, core, rows)
    np.testing.assert_allclose(best, exact_best, atol=2e-3)
    # Few probes: rows may miss, but every component still gets its cheapest edge among what was found.
    partner, best = nearest_other_component(x, component, core, rows, index=index, probes=1)
    found = partner >= 0
    assert (component[partner[found]] != component[rows[found]]).all()
    assert set(np.unique(component[rows[found]])) == set(np.unique(component[rows]))
    assert (best[found] >= exact_best[found] - 1e-6).all()


def test_recall_pass_with_an_index_probing_every_cell_attaches_as_the_exact_one() -> None:
    faces = make_faces(3000, seed=13)
    x = faces.vectors
    labels = np.where(np.random.default_rng(2).random(3000) < 0.3, -1, faces.identities % 50)
    graph = knn_exact(x, 10)
    settings = RecallSettings(join_distance=0.0, join_spread=0.4, attach_distance=0.38, ratio=1.13, nearest=3)
    exact, _, exact_report = recall_pass(x, labels, np.ones(3000), graph, settings)
    index = IvfIndex(x, cell_size=300, neighbour_cells=100)  # 10 cells: all probed
    approx, _, report = recall_pass(x, labels, np.ones(3000), graph, settings, index=index)
    assert exact_report.faces_attached > 0
    np.testing.assert_array_equal(approx, exact)
    assert report.faces_attached == exact_report.faces_attached


def test_group_members_sorts_once() -> None:
    labels = np.array([2, -1, 0, 2, 5, 0, -1])
    members = group_members(labels)
    assert list(members) == [0, 2, 5]
    assert [m.tolist() for m in members.values()] == [[2, 5], [0, 3], [4]]


def test_approximate_neighbours_need_memory_linear_in_the_faces() -> None:
    # Before: k-means on 40 faces per cell of 64 compared a sample of n * 40 / 64 faces with n / 64 centres
    # in one matrix (80k faces: 250 MB; 1M faces: 37 GB). Now every step works in bounded blocks.
    x = make_faces(80_000, seed=14).vectors
    tracemalloc.start()
    try:
        graph = knn_approximate(x, 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert graph.indices.shape == (80_000, 16) and (graph.indices >= 0).all()
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"
