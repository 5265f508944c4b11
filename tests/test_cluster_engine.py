"""The k-NN-graph HDBSCAN engine against exact HDBSCAN, the exact k-NN search, and the parameters."""

from __future__ import annotations

from dataclasses import replace

import hdbscan
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from faceorg.cluster.engine import cluster_embeddings, group_spread, split_spread_groups
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.knn_ivf import knn_approximate
from faceorg.cluster.metrics import bcubed
from faceorg.cluster.params import ClusterParams, default_params
from faceorg.cluster.reachability import nearest_other_component
from faceorg.cluster.spanning_tree import core_distances, mutual_reachability_mst, single_linkage_tree
from faceorg.cluster.synthetic import make_faces


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def blobs(sizes: list[int], dim: int = 16, spread: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated unit-norm blobs: centres on distinct axes (sqrt(2) apart)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = np.eye(dim)[: len(sizes)]
    return unit(centres[labels] + spread * rng.standard_normal((len(labels), dim))), labels


def exact_labels(x: np.ndarray, p: ClusterParams) -> np.ndarray:
    return hdbscan.HDBSCAN(
        min_cluster_size=p.min_cluster_size,
        min_samples=p.min_samples,
        cluster_selection_epsilon=p.cluster_selection_epsilon,
        cluster_selection_method=p.cluster_selection_method,
    ).fit(x).labels_


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to renaming, with noise (-1) required to match exactly."""
    if not np.array_equal(a < 0, b < 0):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len({p for p, _ in pairs}) == len({q for _, q in pairs})


# ---- k-NN search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_knn_exact_matches_brute_force_across_tiles(threads: int) -> None:
    rng = np.random.default_rng(1)
    x = unit(rng.standard_normal((700, 12)))
    x[10] = x[11]  # an exact duplicate
    graph = knn_exact(x, 7, tile=256, threads=threads)
    d = np.linalg.norm(x[:, None, :].astype(np.float64) - x[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    expected = np.sort(d, axis=1)[:, :7]
    np.testing.assert_allclose(graph.distances, expected, atol=2e-6)
    assert (graph.indices != np.arange(700)[:, None]).all()
    np.testing.assert_allclose(np.take_along_axis(d, graph.indices, axis=1), graph.distances, atol=2e-6)
    assert graph.distances[10, 0] == pytest.approx(0.0, abs=1e-6)


def test_knn_ties_do_not_depend_on_thread_timing() -> None:
    x = np.repeat(make_faces(600, seed=2).vectors, 3, axis=0)  # every photo three times: ties everywhere
    single = knn_exact(x, 8, tile=256, threads=1)
    for threads in (2, 4):
        graph = knn_exact(x, 8, tile=256, threads=threads)
        np.testing.assert_array_equal(graph.indices, single.indices)


def test_knn_with_fewer_faces_than_k_pads_rows() -> None:
    x = unit(np.random.default_rng(0).standard_normal((3, 4)))
    graph = knn_exact(x, 5)
    assert graph.indices.shape == (3, 5)
    assert (graph.indices[:, 2:] == -1).all() and np.isinf(graph.distances[:, 2:]).all()


def test_nearest_other_component_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    x = unit(rng.standard_normal((300, 6)))
    component = rng.integers(0, 4, 300)
    core = rng.uniform(0.0, 0.8, 300)
    rows = np.flatnonzero(component != 0)
    partner, best = nearest_other_component(x, component, core, rows, max_elements=2000, threads=2)
    d = np.linalg.norm(x[:, None, :].astype(np.float64) - x[None, :, :], axis=2)
    mr = np.maximum(np.maximum(d, core[:, None]), core[None, :])
    mr[component[:, None] == component[None, :]] = np.inf
    np.testing.assert_allclose(best, mr[rows].min(axis=1), atol=1e-5)
    np.testing.assert_allclose(mr[rows, partner], best, atol=1e-5)


def test_single_linkage_tree_equals_hdbscans_label() -> None:
    from hdbscan._hdbscan_linkage import label

    rng = np.random.default_rng(0)
    n = 500
    order = rng.permutation(n)
    tree = np.column_stack([order[1:], order[rng.integers(0, np.arange(1, n))], np.sort(rng.random(n - 1))])
    np.testing.assert_array_equal(single_linkage_tree(tree.astype(np.float64)), label(tree.astype(np.float64)))


# ---- engine vs exact HDBSCAN -------------------------------------------------------------------------------


def test_well_separated_blobs_match_exact_hdbscan() -> None:
    x, truth = blobs([40, 25, 60, 12, 30])
    p = ClusterParams(min_cluster_size=5, min_samples=3, cluster_selection_epsilon=0.0, k=8)
    ours = cluster_embeddings(x, p)
    assert same_partition(ours.labels, exact_labels(x, p))
    assert same_partition(ours.labels, truth)
    assert ours.strengths.shape == (len(x),) and ((ours.strengths >= 0) & (ours.strengths <= 1)).all()


def test_complete_graph_reproduces_exact_mst_and_clusters() -> None:
    """With k = n - 1 the graph is complete: the MST weights must equal hdbscan's exactly, and the clusters
    too except where equal-weight merges are taken in another order (mutual reachability has many ties)."""
    faces = make_faces(400, seed=5)
    p = ClusterParams(min_cluster_size=3, min_samples=2, cluster_selection_epsilon=0.0, k=399, bridge_partners=0)
    graph = knn_exact(faces.vectors, 399)
    edges, _, pieces = mutual_reachability_mst(faces.vectors, graph, core_distances(graph, 2))
    reference = hdbscan.HDBSCAN(min_cluster_size=3, min_samples=2, gen_min_span_tree=True).fit(faces.vectors)
    reference_weights = np.sort(reference.minimum_spanning_tree_.to_numpy()[:, 2])
    assert pieces == 1
    np.testing.assert_allclose(edges[:, 2], reference_weights, atol=5e-6)
    ours = cluster_embeddings(faces.vectors, p, graph=graph)
    assert adjusted_rand_score(reference.labels_, ours.labels) > 0.98
    assert np.mean(ours.labels == -1) == pytest.approx(np.mean(reference.labels_ == -1), abs=0.01)


def test_realistic_faces_close_to_exact_hdbscan() -> None:
    faces = make_faces(2500, seed=2)
    p = replace(default_params(2500), stray_distance=0.0, pair_distance=0.0,
                recall_pass=False, prune_distance=0.0, prune_ratio=0.0,
                late_pair_distance=0.0)  # HDBSCAN alone, as exact does
    ours = cluster_embeddings(faces.vectors, p)
    reference = exact_labels(faces.vectors, p)
    # Groups of two (the default below 20,000 faces) make the partition more sensitive to a missing long
    # edge than larger groups; what matters to users, BCubed F, stays within a point.
    assert adjusted_rand_score(reference, ours.labels) > 0.95
    gap = bcubed(reference, faces.identities).f - bcubed(ours.labels, faces.identities).f
    assert abs(gap) < 0.01


def test_disconnected_graph_is_joined_and_matches_exact() -> None:
    # Each blob is larger than k, so no k-NN edge leaves it: the graph falls into five pieces.
    x, truth = blobs([30, 30, 30, 30, 30], spread=0.08, seed=3)
    p = ClusterParams(min_cluster_size=5, min_samples=4, cluster_selection_epsilon=0.0, k=6)
    ours = cluster_embeddings(x, p)
    assert ours.graph_components == 5
    assert same_partition(ours.labels, exact_labels(x, p))
    assert same_partition(ours.labels, truth)


def test_person_with_two_looks_larger_than_k_stays_one_cluster() -> None:
    """Two tight sub-groups of one person (e.g. with and without glasses), each with more than k photos, are
    linked in the k-NN graph only through scattered strangers. Exact HDBSCAN keeps them together; without
    the bridging pass the k-NN graph splits them."""
    rng = np.random.default_rng(0)
    dim = 32
    looks = unit(np.eye(dim)[0] + 0.25 * np.eye(dim)[[1, 2]])
    others = np.eye(dim)[[5, 6, 7]]
    strangers = 0.7 * unit(rng.standard_normal((30, dim))) + 0.5 * np.eye(dim)[[0, 5, 6, 7]][rng.integers(0, 4, 30)]
    x = unit(np.vstack([
        looks[0] + 0.04 * rng.standard_normal((40, dim)),
        looks[1] + 0.04 * rng.standard_normal((40, dim)),
        others[rng.integers(0, 3, 60)] + 0.04 * rng.standard_normal((60, dim)),
        strangers,
    ]))
    # compared with exact HDBSCAN, which has no spread guard (this toy geometry is not face-scaled)
    p = ClusterParams(min_cluster_size=5, min_samples=3, cluster_selection_epsilon=0.3, k=8, max_spread=0.0)
    bridged = cluster_embeddings(x, p)
    assert len(set(bridged.labels[:80].tolist())) == 1 and bridged.labels[0] >= 0
    assert same_partition(bridged.labels, exact_labels(x, p))
    unbridged = cluster_embeddings(x, ClusterParams(**{**p.__dict__, "bridge_partners": 0}))
    assert len(set(unbridged.labels[:80].tolist())) == 2


def test_duplicate_photos_match_exact_hdbscan() -> None:
    # The same photo imported three times: zero distances, zero core distances.
    x, truth = blobs([10, 8, 12], spread=0.05, seed=6)
    x = np.repeat(x, 3, axis=0)
    p = ClusterParams(min_cluster_size=4, min_samples=2, k=6)
    ours = cluster_embeddings(x, p)
    assert same_partition(ours.labels, exact_labels(x, p))
    assert same_partition(ours.labels, np.repeat(truth, 3))


def test_deterministic() -> None:
    faces = make_faces(1500, seed=9)
    p = default_params(1500)
    a = cluster_embeddings(faces.vectors, p)
    b = cluster_embeddings(faces.vectors.copy(), p)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.strengths, b.strengths)


def test_tiny_inputs() -> None:
    p = ClusterParams(min_cluster_size=3, min_samples=2)
    assert cluster_embeddings(np.empty((0, 8), np.float32), p).labels.shape == (0,)
    one = cluster_embeddings(unit(np.ones((1, 8))), p)
    assert one.labels.tolist() == [-1] and one.strengths.tolist() == [0.0]
    two = cluster_embeddings(unit(np.random.default_rng(0).standard_normal((2, 8))), p)
    assert two.labels.tolist() == [-1, -1]
    six, truth = blobs([3, 3], spread=0.01)
    small = ClusterParams(min_cluster_size=2, min_samples=1)
    assert same_partition(cluster_embeddings(six, small).labels, truth)
    assert same_partition(cluster_embeddings(six, small).labels, exact_labels(six, small))


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        cluster_embeddings(np.ones((4,), np.float32), ClusterParams())
    with pytest.raises(ValueError):
        cluster_embeddings(np.full((4, 3), np.nan, np.float32), ClusterParams())
    with pytest.raises(ValueError):
        cluster_embeddings(unit(np.ones((4, 3))), ClusterParams(min_cluster_size=1))


# ---- parameters -------------------------------------------------------------------------------------------


def test_default_params_grow_with_library_size() -> None:
    sizes = [default_params(n).min_cluster_size for n in (500, 5_000, 60_000, 500_000)]
    assert sizes == sorted(sizes) and sizes[0] == 2 and sizes[-1] == 5
    for n in (500, 5_000, 60_000, 500_000):
        default_params(n).validate()


def test_sensitivity_moves_support_not_distance() -> None:
    strict, normal, loose = (default_params(10_000, s) for s in (0.0, 0.5, 1.0))
    assert strict.min_samples > normal.min_samples > loose.min_samples
    assert strict.cluster_selection_epsilon == normal.cluster_selection_epsilon == loose.cluster_selection_epsilon == 0
    assert normal == default_params(10_000)
    with pytest.raises(ValueError):
        default_params(10, sensitivity=1.5)


# ---- synthetic library ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "same_median", "different_median"), [("lfw", 0.30, 0.58), ("wide", 0.46, 1.0)])
def test_synthetic_library_is_seeded_long_tailed_and_at_its_scale(profile: str, same_median: float,
                                                                  different_median: float) -> None:
    faces = make_faces(4000, seed=7, profile=profile)
    again = make_faces(4000, seed=7, profile=profile)
    np.testing.assert_array_equal(faces.vectors, again.vectors)
    assert faces.vectors.shape == (4000, 128) and faces.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(faces.vectors, axis=1), 1.0, atol=1e-5)
    _, counts = np.unique(faces.identities[~faces.is_outlier], return_counts=True)
    assert np.mean(counts <= 2) > 0.6 and counts.max() >= 50  # many seen once or twice, a few very often
    assert 0 < faces.is_outlier.sum() <= 100 and faces.lookalike_pairs
    x, ids = faces.vectors[:1500], faces.identities[:1500]
    d = np.sqrt(np.maximum(2 - 2 * x @ x.T, 0))
    same = (ids[:, None] == ids[None, :]) & ~np.eye(1500, dtype=bool)
    assert np.median(d[same]) == pytest.approx(same_median, abs=0.05)
    assert np.median(d[ids[:, None] != ids[None, :]]) == pytest.approx(different_median, abs=0.08)


# ---- approximate neighbours -------------------------------------------------------------------------------


def test_approximate_knn_finds_most_neighbours_deterministically() -> None:
    x = make_faces(6000, seed=4).vectors
    exact = knn_exact(x, 10)
    approx = knn_approximate(x, 10, cell_size=32, probes=8)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx.indices.tolist(), exact.indices.tolist())])
    assert recall > 0.9
    assert (approx.distances >= exact.distances - 5e-6).all()  # never nearer than the true neighbours
    assert (np.diff(approx.distances, axis=1) >= 0).all() and (approx.indices != np.arange(6000)[:, None]).all()
    np.testing.assert_array_equal(approx.indices, knn_approximate(x, 10, cell_size=32, probes=8, threads=1).indices)


def test_approximate_knn_falls_back_to_all_faces_when_cells_are_too_small() -> None:
    x = make_faces(3000, seed=5).vectors
    approx = knn_approximate(x, 12, cell_size=1, probes=1)  # most faces see fewer than 12 others: search all
    exact = knn_exact(x, 12)
    assert (approx.indices >= 0).all() and np.isfinite(approx.distances).all()
    assert (approx.distances >= exact.distances - 5e-6).all()
    assert np.mean(np.all(np.abs(approx.distances - exact.distances) < 5e-6, axis=1)) > 0.5


def test_engine_on_approximate_neighbours_matches_exact_neighbours() -> None:
    faces = make_faces(6000, seed=3)
    p = default_params(6000)
    exact = cluster_embeddings(faces.vectors, replace(p, knn_method="exact"))
    approx = cluster_embeddings(faces.vectors, replace(p, knn_method="approximate"))
    assert (exact.knn_method, approx.knn_method) == ("exact", "approximate")
    assert adjusted_rand_score(exact.labels, approx.labels) > 0.98
    assert abs(bcubed(exact.labels, faces.identities).f - bcubed(approx.labels, faces.identities).f) < 0.005
    assert default_params(100_000).knn_method == "auto"
    with pytest.raises(ValueError):
        ClusterParams(knn_method="fast").validate()


def test_strays_join_a_near_group_and_mutual_pairs_form_groups() -> None:
    """Second chances for unsorted faces: a stray near a group joins it; two strays that are each other's
    nearest face form a pair; a far stray stays unsorted; nothing chains through recovered strays."""
    from faceorg.cluster.knn import KnnGraph
    from faceorg.cluster.refine import attach_strays, pair_strays

    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1],  # a group (label 0)
                  [0.35, 0.0],  # a stray 0.25 from the group
                  [0.62, 0.0],  # a stray 0.27 from the first stray only: must not chain
                  [3.0, 3.0], [3.2, 3.0],  # two strays, mutual nearest, 0.2 apart
                  [9.0, 9.0]], np.float32)  # far from everything
    labels = np.array([0, 0, 0, -1, -1, -1, -1, -1])
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :4]  # brute-force neighbours, self excluded
    graph = KnnGraph(order, np.take_along_axis(d, order, axis=1))
    attached = attach_strays(labels, graph, 0.3)
    assert attached.tolist() == [0, 0, 0, 0, -1, -1, -1, -1]
    paired = pair_strays(attached, graph, 0.3)
    assert paired[5] == paired[6] == 1 and paired[4] == -1 and paired[7] == -1


def _blob(rng: np.random.Generator, centre: np.ndarray, n: int, noise: float) -> np.ndarray:
    x = centre + rng.normal(scale=noise / np.sqrt(len(centre)), size=(n, len(centre)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_group_spread_is_the_median_pair_distance() -> None:
    x = np.random.default_rng(0).normal(size=(30, 8))
    members = np.arange(0, 30, 2)
    pairs = [np.linalg.norm(x[a] - x[b]) for i, a in enumerate(members) for b in members[i + 1:]]
    assert group_spread(x, members) == pytest.approx(float(np.median(pairs)))
    assert group_spread(x, np.array([3])) == 0.0


def test_a_group_spread_over_several_people_is_split() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 64))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.vstack([_blob(rng, c, 20, 0.3) for c in centres])
    truth = np.repeat(np.arange(3), 20)
    merged = np.zeros(60, np.int64)  # as if HDBSCAN had picked one giant group
    merged[:2] = -1
    tight = np.vstack([x, _blob(rng, rng.normal(size=64), 10, 0.2)])  # plus a genuine group, left alone
    labels = np.concatenate([merged, np.full(10, 7)])
    params = replace(default_params(len(tight)), max_spread=0.45)
    assert group_spread(tight, np.flatnonzero(labels == 0)) > 0.45 > group_spread(tight, np.arange(60, 70))
    split, strengths = split_spread_groups(tight, labels, np.ones(len(labels)), params)
    assert np.array_equal(split[60:], labels[60:]) and np.all(strengths[60:] == 1.0)
    assert np.array_equal(split[:2], [-1, -1])
    found = split[:60]
    assert 0 not in found and len(np.unique(found[found >= 0])) >= 3
    for group in np.unique(found[found >= 0]):  # every new group is one person
        assert len(np.unique(truth[found == group])) == 1
    off = replace(params, max_spread=0.0)
    assert np.array_equal(cluster_embeddings(tight, off).labels, cluster_embeddings(tight, off).labels)
