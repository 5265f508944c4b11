"""HDBSCAN on a k-nearest-neighbour graph: the clustering engine (a pure function of the vectors).

Exact HDBSCAN needs the minimum spanning tree of the complete mutual-reachability graph, which costs
O(n^2) distance evaluations in a slow loop (50k faces: 643 s). Here:

1. the k nearest neighbours of every face come from blocked matrix products (``knn_exact.py``): exact, or from
   40,000 faces on, approximate (``knn_ivf.py``: nearby k-means cells only; ~95% of neighbours, same
   clusters in practice);
2. each face's core distance is the distance to its ``min_samples``-th neighbour (as hdbscan defines it);
3. the mutual-reachability weight ``max(core[a], core[b], |a - b|)`` is put on every k-NN edge;
4. if that graph falls apart into several pieces, pieces are joined Boruvka-style by each piece's exact
   cheapest mutual-reachability edge to any other piece (rounds until one piece remains; steps 2-5:
   ``spanning_tree.py``, the exact searches in ``reachability.py``);
5. scipy's minimum spanning tree of that sparse graph gives the single-linkage hierarchy, and hdbscan's
   own condensed tree, stability and cluster selection (``eom``/``leaf``, epsilon) run on it
   (``hdbscan_adapter.py``);
6. bridging: the leaf clusters of that first hierarchy are linked to their nearest few clusters by their
   exact cheapest edges, and step 5 runs again. Without this, a person whose photos form two looks of
   more than k faces each is only linked through strangers and gets split (exact HDBSCAN keeps them).
   From 40,000 faces the new edges (and in step 4 the joining edges) are added to the spanning tree, not
   to the whole graph: an edge left out of a graph's tree is the heaviest on some cycle, so the tree
   weighs the same (below, the whole graph is used as before: equal weights may merge in another order).

What remains approximate against exact HDBSCAN: long edges between groups that are neither k-NN nor among
the bridged pairs (they only matter at the top of the hierarchy), and from 40,000 faces the approximate
neighbour search. The benchmark (``benchmarks/cluster_bench.py``) measures the gap in BCubed F, and with
``--knn exact`` the effect of the approximate search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from faceorg.cluster.constraints import ConstraintReport, Constraints, apply_constraints
from faceorg.cluster.knn import KnnGraph, blas_single_thread
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.knn_ivf import IvfIndex, ivf_settings
from faceorg.cluster.params import ClusterParams
from faceorg.cluster.prune import PruneReport, prune_groups
from faceorg.cluster.reachability import cheapest_edges_between_groups
from faceorg.cluster.recall_pass import RecallReport, RecallSettings, group_members, recall_pass
from faceorg.cluster.refine import refine_strays
from faceorg.cluster.spanning_tree import add_to_tree, core_distances, mutual_reachability_mst, single_linkage_tree
from faceorg.vectors import upper_pair_distances


@dataclass
class ClusterResult:
    """labels: per face, a cluster or person label, -1 for unsorted (noise). strengths: 0..1 membership.

    base_labels: hdbscan's labels before constraints (0..n_clusters-1, -1 noise).
    outlier_scores: GLOSH score per face (0 typical .. 1 stray), from hdbscan's condensed tree.
    timings: seconds per stage; cpu_timings: the process's CPU seconds per stage (all threads; on a busy machine
    the one to compare). graph_components: pieces of the k-NN graph before they were joined.
    knn_method: how the neighbours were found: "exact", "approximate", "given" (passed in) or "none".
    """

    labels: np.ndarray
    strengths: np.ndarray
    base_labels: np.ndarray
    outlier_scores: np.ndarray
    cluster_persistence: np.ndarray
    k: int
    graph_components: int
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)
    constraint_report: ConstraintReport | None = None
    knn_method: str = "none"
    recall_report: RecallReport | None = None
    prune_report: PruneReport | None = None

    @property
    def n_clusters(self) -> int:
        return int(len(np.unique(self.labels[self.labels >= 0])))

    @property
    def n_noise(self) -> int:
        return int(np.count_nonzero(self.labels < 0))


SPREAD_SAMPLE = 200
MAX_SPLIT_DEPTH = 4


def group_spread(vectors: np.ndarray, members: np.ndarray, seed: int = 0) -> float:
    """Median distance between two faces of a group (over a seeded sample of up to ``SPREAD_SAMPLE``)."""
    if len(members) < 2:
        return 0.0
    if len(members) > SPREAD_SAMPLE:
        members = np.random.default_rng(seed).choice(members, SPREAD_SAMPLE, replace=False)
    return float(np.median(upper_pair_distances(vectors[members])))


def split_spread_groups(vectors: np.ndarray, labels: np.ndarray, strengths: np.ndarray, params: ClusterParams,
                        depth: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split every group spread wider than ``params.max_spread`` into the groups HDBSCAN finds among its
    faces alone (faces in none of them become unsorted); repeated inside the parts, ``MAX_SPLIT_DEPTH``
    levels at most. Labels of untouched groups are kept; new groups get labels after the largest."""
    labels, strengths = labels.copy(), strengths.copy()
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for members in group_members(labels).values():
        if len(members) < 2 * params.min_cluster_size or group_spread(vectors, members) <= params.max_spread:
            continue
        if depth >= MAX_SPLIT_DEPTH:
            continue
        inner = replace(params, stray_distance=0.0, pair_distance=0.0, allow_single_cluster=False,
                        bridge_partners=0, recall_pass=False, prune_distance=0.0, prune_ratio=0.0,
                        late_pair_distance=0.0)
        part = _cluster(vectors[members], replace(inner, max_spread=0.0), None, None)
        sub, sub_strengths = split_spread_groups(vectors[members], part.base_labels, part.strengths, inner,
                                                 depth + 1)
        labels[members] = -1
        strengths[members] = 0.0
        for s in np.unique(sub[sub >= 0]):
            rows = sub == s
            labels[members[rows]] = next_label
            strengths[members[rows]] = sub_strengths[rows]
            next_label += 1
    return labels, strengths


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be [n, d], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("vectors contain NaN or infinity")
    return x


def cluster_embeddings(
    vectors: np.ndarray,
    params: ClusterParams,
    constraints: Constraints | None = None,
    graph: KnnGraph | None = None,
) -> ClusterResult:
    """Group L2-normalised face vectors [n, d] into people; -1 = unsorted. Deterministic.

    ``constraints`` (fixed labels, "not this person", cannot-link, one-face-per-photo) are applied after
    clustering, see ``constraints.apply_constraints``. ``graph`` may pass a precomputed k-NN graph with at
    least ``min_samples`` neighbours.
    """
    params.validate()
    x = _check_vectors(vectors)
    with blas_single_thread():
        return _cluster(x, params, constraints, graph)


def _cluster(
    x: np.ndarray, params: ClusterParams, constraints: Constraints | None, graph: KnnGraph | None
) -> ClusterResult:
    # Imported here, before any timing starts: hdbscan brings scikit-learn and SciPy (about a second), which
    # the window would otherwise load at start-up through every module that reads the library's groups.
    from faceorg.cluster.hdbscan_adapter import flat_clusters, leaf_clusters

    n = len(x)
    timings: dict[str, float] = {}
    cpu_timings: dict[str, float] = {}
    min_samples = max(1, min(n - 1, params.min_samples))
    k = max(params.k, min_samples)
    knn_method = "none"
    recall_report = None
    prune_report = None

    if n < max(2, params.min_cluster_size) or n <= min_samples:
        base = np.full(n, -1, dtype=np.int64)
        strengths = np.zeros(n)
        glosh = np.zeros(n)
        persistence = np.zeros(0)
        pieces = 1
    else:
        start = time.perf_counter()
        cpu = time.process_time()
        if graph is not None and graph.indices.shape[0] != n:
            raise ValueError("the k-NN graph does not match the vectors")
        knn_method = "given"
        approximate = params.knn_method == "approximate" or (
            params.knn_method == "auto" and n >= params.approximate_from
        )
        # Large libraries: one inverted file serves the neighbours, the joining of pieces and the recall pass.
        shape = ivf_settings(n)
        index = (IvfIndex(x, shape.cell_size, shape.neighbour_cells)
                 if approximate and n // shape.cell_size >= 2 * shape.probes else None)
        if graph is None or graph.k < min_samples:
            knn_method = "approximate" if approximate else "exact"
            graph = (index.knn_graph(min(k, n - 1), shape.probes) if index is not None
                     else knn_exact(x, min(k, n - 1)))
        timings["knn"] = time.perf_counter() - start
        cpu_timings["knn"] = time.process_time() - cpu

        start = time.perf_counter()

        cpu = time.process_time()
        core = core_distances(graph, min_samples)
        edges, joins, pieces = mutual_reachability_mst(x, graph, core, index=index)
        timings["mst"] = time.perf_counter() - start
        cpu_timings["mst"] = time.process_time() - cpu

        if params.bridge_partners > 0:
            start = time.perf_counter()
            cpu = time.process_time()
            leaves = leaf_clusters(single_linkage_tree(edges), params.min_cluster_size)
            bridge_a, bridge_b = cheapest_edges_between_groups(x, leaves, core, params.bridge_partners)
            if index is not None:  # large libraries: the tree stands for the whole graph (same weights)
                edges = add_to_tree(x, edges, core, bridge_a, bridge_b)
            else:  # small ones: the whole graph again, so their groups stay exactly as they were (equal weights)
                extra = (np.concatenate([joins[0], bridge_a]), np.concatenate([joins[1], bridge_b]))
                edges, _, _ = mutual_reachability_mst(x, graph, core, extra=extra)
            timings["bridges"] = time.perf_counter() - start
            cpu_timings["bridges"] = time.process_time() - cpu

        start = time.perf_counter()

        cpu = time.process_time()
        base, strengths, persistence, glosh = flat_clusters(
            single_linkage_tree(edges),
            params.min_cluster_size,
            params.cluster_selection_method,
            params.allow_single_cluster,
            params.cluster_selection_epsilon,
        )
        timings["select"] = time.perf_counter() - start
        cpu_timings["select"] = time.process_time() - cpu

        if params.max_spread > 0:
            start = time.perf_counter()
            cpu = time.process_time()
            base, strengths = split_spread_groups(x, base, strengths, params)
            timings["spread"] = time.perf_counter() - start
            cpu_timings["spread"] = time.process_time() - cpu

        # The recall pass's ratio test replaces the nearest-face rule for strays (same recall, fewer mistakes).
        stray_distance = 0.0 if params.recall_pass and params.recall_attach_distance > 0 else params.stray_distance
        if stray_distance > 0 or params.pair_distance > 0:
            start = time.perf_counter()
            cpu = time.process_time()
            base, strengths = refine_strays(base, strengths, graph, stray_distance=stray_distance,
                                            pair_distance=params.pair_distance)
            timings["strays"] = time.perf_counter() - start
            cpu_timings["strays"] = time.process_time() - cpu

        # The precision pass first, then the recall pass on the groups it cleaned (a face it frees may find its
        # true group there), then pairs among the faces still unsorted (see ``params.py`` for the figures).
        if params.prune_distance > 0 or params.prune_ratio > 0:
            start = time.perf_counter()
            cpu = time.process_time()
            base, strengths, prune_report = prune_groups(
                base, strengths, graph, distance=params.prune_distance, ratio=params.prune_ratio,
                nearest=params.prune_nearest, fixed=constraints.fixed if constraints is not None else None)
            timings["prune"] = time.perf_counter() - start
            cpu_timings["prune"] = time.process_time() - cpu

        if params.recall_pass:
            start = time.perf_counter()
            cpu = time.process_time()
            base, strengths, recall_report = _recall(x, base, strengths, graph, params, constraints, index)
            timings["recall"] = time.perf_counter() - start
            cpu_timings["recall"] = time.process_time() - cpu

        if params.late_pair_distance > 0:
            start = time.perf_counter()
            cpu = time.process_time()
            base, strengths = refine_strays(base, strengths, graph, stray_distance=0.0,
                                            pair_distance=params.late_pair_distance)
            timings["late_pairs"] = time.perf_counter() - start
            cpu_timings["late_pairs"] = time.process_time() - cpu

    labels, final_strengths, report = base, strengths, None
    if constraints is not None:
        start = time.perf_counter()
        cpu = time.process_time()
        labels, final_strengths, report = apply_constraints(
            x, base, strengths, constraints, attach_distance=params.attach_distance, graph=graph
        )
        timings["constraints"] = time.perf_counter() - start
        cpu_timings["constraints"] = time.process_time() - cpu

    return ClusterResult(
        labels=labels,
        strengths=final_strengths,
        base_labels=base,
        outlier_scores=glosh,
        cluster_persistence=persistence,
        k=graph.k if graph is not None else 0,
        graph_components=int(pieces),
        timings=timings,
        cpu_timings=cpu_timings,
        constraint_report=report,
        knn_method=knn_method,
        recall_report=recall_report,
        prune_report=prune_report,
    )


def recall_settings(params: ClusterParams) -> RecallSettings:
    """The recall pass's thresholds from the clustering parameters."""
    return RecallSettings(join_distance=params.recall_join_distance, join_spread=params.recall_join_spread,
                          attach_distance=params.recall_attach_distance, ratio=params.recall_ratio,
                          nearest=params.recall_nearest)


def _recall(x: np.ndarray, labels: np.ndarray, strengths: np.ndarray, graph: KnnGraph, params: ClusterParams,
            constraints: Constraints | None, index: IvfIndex | None) -> tuple[np.ndarray, np.ndarray, RecallReport]:
    c = constraints or Constraints()
    return recall_pass(x, labels, strengths, graph, recall_settings(params), photo=c.groups, fixed=c.fixed,
                       cannot_link=c.cannot_link, forbidden=c.forbidden, index=index)
