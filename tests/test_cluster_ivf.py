"""The inverted file of large libraries (knn_ivf.IvfIndex): its searches, and memory that grows with n only."""

from __future__ import annotations

import tracemalloc

import numpy as np

from faceorg.cluster.knn_exact import knn_exact, row_best_order
from faceorg.cluster.knn_ivf import IvfIndex, ivf_settings, knn_approximate
from faceorg.cluster.reachability import cheapest_edges_between_groups, nearest_other_component
from faceorg.cluster.recall_pass import RecallSettings, group_members, recall_pass
from faceorg.cluster.spanning_tree import (
    add_to_tree,
    core_distances,
    mutual_reachability_mst,
)
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


def test_row_best_order_sorts_as_a_three_key_lexsort_with_ties_and_signed_zeros() -> None:
    # The merge of running top-k lists sorts by one 64-bit key (row, similarity) instead of a three-key
    # lexsort (five times slower on millions of entries); runs of equal keys are ordered by id afterwards.
    rng = np.random.default_rng(3)
    values = np.array([-np.inf, -1.0, -0.5, -0.0, 0.0, 1e-30, 0.25, 0.5, 0.9, 1.0], dtype=np.float32)
    for _ in range(50):
        n = int(rng.integers(1, 400))
        rows = rng.integers(0, 30, n)
        sims = rng.choice(values, n)
        ids = rng.permutation(5000)[:n]
        order = row_best_order(rows, sims, ids)
        expected = np.lexsort((ids, -sims, rows))
        np.testing.assert_array_equal(rows[order], rows[expected])
        np.testing.assert_array_equal(ids[order], ids[expected])


def test_search_finds_the_exact_best_among_the_probed_cells() -> None:
    # The search merges candidates in large batches with a threshold fixed between merges; whatever the
    # batching, each query must get the exact k best of the cells it probes (ties: lower index first).
    x = make_faces(6000, seed=15).vectors
    x[100] = x[101]  # duplicate faces: equal similarities
    index = IvfIndex(x, cell_size=64, neighbour_cells=12)
    rows = np.arange(0, 6000, 5)
    probed = index._probes(rows, 4)
    rng = np.random.default_rng(4)
    cap = rng.uniform(0.7, 1.0, 6000).astype(np.float32)
    group = rng.integers(0, 300, 6000)
    allowed = rng.random(6000) < 0.8
    for k, options in ((16, {}), (1, {"cap": cap, "group": group}), (20, {"allowed": allowed})):
        ids, sims = index.search(rows, k, probes=4, **options)
        for i, row in enumerate(rows):
            cols = np.flatnonzero(np.isin(index.cell, probed[i]) & (np.arange(6000) != row))
            if "allowed" in options:
                cols = cols[allowed[cols]]
            if "group" in options:
                cols = cols[group[cols] != group[row]]
            s = x[cols] @ x[row]
            if "cap" in options:
                s = np.minimum(s, cap[cols])
            best = np.sort(s)[::-1][:k]
            found = ids[i, :len(best)]
            assert np.isin(found, cols).all() and len(set(found.tolist())) == len(best)
            np.testing.assert_allclose(sims[i, :len(best)], best, atol=1e-5)
            np.testing.assert_allclose(np.sort(s[np.searchsorted(cols, found)])[::-1], best, atol=1e-5)


def test_approximate_neighbours_find_most_of_the_exact_ones() -> None:
    # Recall of the true 16 nearest neighbours with the settings of libraries below 300,000 faces.
    x = make_faces(60_000, seed=16).vectors
    shape = ivf_settings(60_000)
    approx = knn_approximate(x, 16, cell_size=shape.cell_size, probes=shape.probes,
                             neighbour_cells=shape.neighbour_cells)
    rows = np.arange(0, 60_000, 97)
    sims = x[rows] @ x.T
    sims[np.arange(len(rows)), rows] = -np.inf
    exact = np.argpartition(-sims, 16, axis=1)[:, :16]
    found = np.mean([len(set(exact[i]) & set(approx.indices[r])) / 16 for i, r in enumerate(rows)])
    assert found >= 0.93, found


def test_cheapest_edges_between_groups_are_exact_whatever_the_block_size() -> None:
    # Each (group, partner) gets the exact cheapest mutual-reachability edge between the two groups, whether
    # many partners share one block of similarities or each has its own.
    faces = make_faces(3000, seed=17)
    x = faces.vectors
    groups = np.where(np.random.default_rng(5).random(3000) < 0.2, -1, faces.identities % 150)
    core = knn_exact(x, 4).distances[:, 1]
    a, b = cheapest_edges_between_groups(x, groups, core, 6)
    one_by_one = cheapest_edges_between_groups(x, groups, core, 6, max_elements=1)
    dist = np.sqrt(np.maximum(2 - 2 * (x @ x.T), 0))
    mr = np.maximum(np.maximum(dist, core[:, None]), core[None, :])
    assert len(a) > 150 and (groups[a] != groups[b]).all() and (groups[a] >= 0).all() and (groups[b] >= 0).all()
    for edges in ((a, b), one_by_one):
        for u, v in zip(*edges):
            both = mr[np.ix_(groups == groups[u], groups == groups[v])]
            assert abs(mr[u, v] - both.min()) < 1e-5
    pairs = {frozenset(p) for p in zip(groups[a].tolist(), groups[b].tolist())}
    assert pairs == {frozenset(p) for p in zip(groups[one_by_one[0]].tolist(), groups[one_by_one[1]].tolist())}


def test_edges_added_to_the_spanning_tree_give_the_tree_of_the_whole_graph() -> None:
    # Large libraries join pieces and bridge groups by adding edges to the spanning forest / tree instead of
    # building the whole k-NN graph again: an edge left out of a graph's tree is the heaviest on some cycle,
    # so the tree of (tree + new edges) weighs edge for edge as the tree of (graph + new edges).
    x = make_faces(4000, seed=18).vectors
    graph = knn_exact(x, 4)
    core = core_distances(graph, 2)
    index = IvfIndex(x, cell_size=400, neighbour_cells=100)  # 10 cells, all probed: exact joins
    edges, (join_a, join_b), pieces = mutual_reachability_mst(x, graph, core, index=index)
    whole, (whole_a, whole_b), _ = mutual_reachability_mst(x, graph, core)  # the whole graph with its joins
    assert pieces > 1 and len(join_a) >= pieces - 1 and len(edges) == 3999
    np.testing.assert_allclose(edges[:, 2], whole[:, 2], atol=1e-9)

    rng = np.random.default_rng(6)
    a, b = rng.integers(0, 4000, 3000), rng.integers(0, 4000, 3000)
    expected, _, _ = mutual_reachability_mst(x, graph, core, extra=(np.concatenate([whole_a, a]),
                                                                     np.concatenate([whole_b, b])))
    got = add_to_tree(x, edges, core, a, b)
    assert len(got) == 3999 and got[:, 2].sum() < edges[:, 2].sum()
    np.testing.assert_allclose(got[:, 2], expected[:, 2], atol=1e-9)
