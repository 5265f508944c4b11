"""HDBSCAN on a k-nearest-neighbour graph: the clustering engine (a pure function of the vectors).

Exact HDBSCAN needs the minimum spanning tree of the complete mutual-reachability graph, which costs
O(n^2) distance evaluations in a slow loop (50k faces: 643 s). Here:

1. the k nearest neighbours of every face come from blocked matrix products (``knn.py``): exact, or from
   40,000 faces on, approximate (nearby k-means cells only; ~97% of neighbours, same clusters in practice);
2. each face's core distance is the distance to its ``min_samples``-th neighbour (as hdbscan defines it);
3. the mutual-reachability weight ``max(core[a], core[b], |a - b|)`` is put on every k-NN edge;
4. if that graph falls apart into several pieces, pieces are joined Boruvka-style by each piece's exact
   cheapest mutual-reachability edge to any other piece (rounds until one piece remains);
5. scipy's minimum spanning tree of that sparse graph gives the single-linkage hierarchy, and hdbscan's
   own condensed tree, stability and cluster selection (``eom``/``leaf``, epsilon) run on it;
6. bridging: the leaf clusters of that first hierarchy are linked to their nearest few clusters by their
   exact cheapest edges, and steps 5 runs again. Without this, a person whose photos form two looks of
   more than k faces each is only linked through strangers and gets split (exact HDBSCAN keeps them).

What remains approximate against exact HDBSCAN: long edges between groups that are neither k-NN nor among
the bridged pairs (they only matter at the top of the hierarchy), and from 40,000 faces the approximate
neighbour search. The benchmark (``benchmarks/cluster_bench.py``) measures the gap in BCubed F, and with
``--knn exact`` the effect of the approximate search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from hdbscan._hdbscan_tree import compute_stability, condense_tree, get_clusters, outlier_scores
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from faceorg.cluster.constraints import ConstraintReport, Constraints, apply_constraints
from faceorg.cluster.refine import refine_strays
from faceorg.cluster.knn import (
    KnnGraph,
    blas_single_thread,
    cheapest_edges_between_groups,
    knn_approximate,
    knn_exact,
    nearest_other_component,
    pair_distances,
    upper_pair_distances,
)

# scipy's sparse graphs drop zero entries; zero weights (duplicate photos) are stored as this and restored.
_ZERO_WEIGHT = 1e-300


@dataclass(frozen=True)
class ClusterParams:
    """How faces are grouped into people. Distances are between face vectors (same person: usually < 0.6).

    min_cluster_size: the smallest group of photos that becomes a person; smaller groups stay unsorted.
    min_samples: how many close photos a face needs around it to count as a solid member rather than a
        stray; higher means more faces left unsorted but fewer wrong merges.
    cluster_selection_epsilon: groups closer than this distance are never split apart (0 = off, the
        default). An absolute distance, so it depends on the embedder: on our LFW embeddings anything above
        ~0.8x the median core distance (about 0.25) starts merging different people, and 0.35 merges
        almost everyone.
    cluster_selection_method: "eom" picks the most stable groups (can prefer big merged groups); "leaf"
        picks the finest groups (more, smaller, purer people).
    k: neighbours each face is linked to when building the similarity graph (speed/accuracy trade-off,
        at least min_samples); 15-30 is plenty.
    bridge_partners: after a first pass, each small group of faces is also linked exactly to this many
        nearby groups, so one person's distinct looks (e.g. with and without glasses) stay connected
        even when each look has more than k photos; 0 turns this off.
    attach_distance: the farthest a face may be from a person's faces to be attached to that person when a
        group must be split between people or a face must move (constraints). 0.32 on our LFW embeddings:
        a face's nearest face of the same person is within 0.35 for 95% of faces, while its nearest face of
        another person is closer than 0.31 for only 5%.
    stray_distance: a face left unsorted joins the group of its nearest grouped face when that face is this
        near (0 = off; 0.30 by default, see ``refine.py``).
    pair_distance: two unsorted faces that are each other's nearest face, this near, become a group of two
        even below ``min_cluster_size`` (look-alike strays are almost always one person; 0 = off; 0.33 by
        default).
    allow_single_cluster: allow the answer "everyone is one person" (for tiny libraries of one person).
    max_spread: a group whose typical pair of faces is farther apart than this (the median distance over
        up to 200 of its faces) is not one person: it is split into the groups HDBSCAN finds inside it
        (0 = off; 0.45 by default, about LFW's same/different threshold). It stops HDBSCAN's "excess of
        mass" choice from taking one giant group of many people, which happened on a library of 3,291
        small degraded faces (3 groups, BCubed F 0.17; median pair distance in the giant group 0.51,
        while the 294 groups of a run with slightly different embeddings stayed at or below 0.43).
    knn_method: how neighbours are found: "exact" (every pair compared), "approximate" (only faces in nearby
        k-means cells, about 2x less work at 100k faces, ~97% of neighbours found, same clusters in
        practice), or "auto": exact below ``approximate_from`` faces, approximate from there on.
    """

    min_cluster_size: int = 3
    min_samples: int = 2
    cluster_selection_epsilon: float = 0.0
    cluster_selection_method: str = "eom"
    k: int = 16
    attach_distance: float = 0.32
    stray_distance: float = 0.0
    pair_distance: float = 0.0
    allow_single_cluster: bool = False
    max_spread: float = 0.45
    bridge_partners: int = 8
    knn_method: str = "auto"
    approximate_from: int = 40_000

    def validate(self) -> None:
        """Raise ValueError for settings hdbscan would reject."""
        if self.min_cluster_size < 2:
            raise ValueError("min_cluster_size must be at least 2")
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")
        if self.cluster_selection_epsilon < 0:
            raise ValueError("cluster_selection_epsilon must be >= 0")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise ValueError("cluster_selection_method must be 'eom' or 'leaf'")
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.max_spread < 0:
            raise ValueError("max_spread must be >= 0")
        if self.knn_method not in ("auto", "exact", "approximate"):
            raise ValueError("knn_method must be 'auto', 'exact' or 'approximate'")


def default_params(n_faces: int, sensitivity: float = 0.5) -> ClusterParams:
    """Settings for a library of ``n_faces`` faces.

    Larger libraries hold more strangers seen once or twice, so the smallest group that becomes a person
    grows with the library (2 faces below 2,000, 3 below 50,000, 4 below 200,000, then 5), which keeps the
    People view from filling with pairs of strangers; ``min_samples`` is 1 below 2,000 faces, else 2 (with 2,
    a small library of mostly strangers sometimes collapsed into one giant group: 1 of 3 random samples of
    300 LFW photos, exact HDBSCAN alike). A library that is essentially one person needs
    ``allow_single_cluster``, as in any HDBSCAN.

    ``sensitivity`` (0..1, default 0.5) is the single user-facing knob, "how readily faces are grouped":
    higher sorts more faces into groups (fewer left unsorted, more and smaller groups, more mistakes);
    lower keeps only surer groups (fewer groups, purer, more faces left unsorted). It moves
    ``min_samples`` by one (-1 above 0.75, +1 below 0.25); on LFW min_samples 1 / 2 / 3 gave 1146 / 852 /
    549 groups with 4920 / 5954 / 7030 faces unsorted. It deliberately leaves the merge distance
    (cluster_selection_epsilon) at 0, since a distance depends on the embedder's scale.

    Measured on this project's embeddings of all LFW photos (15,918 faces, central face of each photo
    scored): min_cluster_size 3 with min_samples 1 / 2 / 3 gives BCubed F 0.918 / 0.918 / 0.893 and
    precision 0.926 / 0.961 / 0.971 (pairwise F 0.977 at 2; published best on LFW 0.87). Giving unsorted
    faces a second chance (``stray_distance`` 0.30, and pairs within 0.33 when groups of two are allowed)
    raises it: min_cluster_size 3, min_samples 2 gives BCubed F 0.935 (P 0.942, R 0.928), pairwise F
    0.976. On a family-album-like sample (the 12 LFW people with the most photos, 52-530 each, plus 300
    strangers seen once) these settings keep every one of the 12 in a single group. Groups of two with
    ``min_samples`` 2 are not used: on a hard library (158 LFW people, faces 25-40 px, JPEG q25-50, half
    grey; 3,291 faces) they collapsed into one group of 2,934 faces (BCubed F 0.17), while 3 / 2 gives
    108 groups (BCubed F 0.46).
    """
    if not 0.0 <= sensitivity <= 1.0:
        raise ValueError("sensitivity must be between 0 and 1")
    if n_faces < 2_000:
        min_cluster_size, min_samples = 2, 1
    elif n_faces < 50_000:
        min_cluster_size, min_samples = 3, 2
    elif n_faces < 200_000:
        min_cluster_size, min_samples = 4, 2
    else:
        min_cluster_size, min_samples = 5, 2
    if sensitivity < 0.25:
        min_samples += 1
    elif sensitivity > 0.75:
        min_samples = max(1, min_samples - 1)
    return ClusterParams(min_cluster_size=min_cluster_size, min_samples=min_samples, stray_distance=0.30,
                         pair_distance=0.33)


@dataclass
class ClusterResult:
    """labels: per face, a cluster or person label, -1 for unsorted (noise). strengths: 0..1 membership.

    base_labels: hdbscan's labels before constraints (0..n_clusters-1, -1 noise).
    outlier_scores: GLOSH score per face (0 typical .. 1 stray), from hdbscan's condensed tree.
    timings: seconds per stage. graph_components: pieces of the k-NN graph before they were joined.
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
    constraint_report: ConstraintReport | None = None
    knn_method: str = "none"

    @property
    def n_clusters(self) -> int:
        return int(len(np.unique(self.labels[self.labels >= 0])))

    @property
    def n_noise(self) -> int:
        return int(np.count_nonzero(self.labels < 0))


def core_distances(graph: KnnGraph, min_samples: int) -> np.ndarray:
    """Distance from each face to its ``min_samples``-th nearest other face (hdbscan's core distance)."""
    return graph.distances[:, min_samples - 1].copy()


def _graph_matrix(graph: KnnGraph, core: np.ndarray, extra_a: np.ndarray, extra_b: np.ndarray,
                  extra_weights: np.ndarray) -> csr_matrix:
    """The mutual-reachability graph as a sparse matrix: row i holds i's k-NN edges, plus the extra edges.

    scipy treats the matrix as undirected, so an edge stored in both directions is harmless; only one
    coordinate stored twice would be summed, which the extra edges are checked against. Zero weights are
    stored as a tiny positive value (sparse graphs drop zeros)."""
    n, k = graph.indices.shape
    valid = graph.indices >= 0
    cols = np.where(valid, graph.indices, 0)
    weights = np.maximum(np.maximum(graph.distances, core[:, None]), core[cols])
    rows_nnz = valid.sum(axis=1)
    knn = csr_matrix((np.maximum(weights[valid], _ZERO_WEIGHT), graph.indices[valid],
                      np.concatenate([[0], np.cumsum(rows_nnz)])), shape=(n, n))
    if len(extra_a) == 0:
        return knn
    lo, hi = np.minimum(extra_a, extra_b), np.maximum(extra_a, extra_b)
    keys, first = np.unique(lo * np.int64(n) + hi, return_index=True)
    lo, hi, w = lo[first], hi[first], extra_weights[first]
    fresh = (lo != hi) & ~(graph.indices[lo] == hi[:, None]).any(axis=1)  # not already a k-NN edge lo -> hi
    extra = coo_matrix((np.maximum(w[fresh], _ZERO_WEIGHT), (lo[fresh], hi[fresh])), shape=(n, n)).tocsr()
    return (knn + extra).tocsr()


def _join_pieces(vectors: np.ndarray, matrix: csr_matrix, core: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Boruvka rounds over the graph's connected pieces: each piece but the largest adds its exact cheapest
    mutual-reachability edge to another piece, until one piece remains. Returns (a, b, pieces before)."""
    n_pieces, piece = connected_components(matrix, directed=False)
    initial = int(n_pieces)
    found_a: list[np.ndarray] = [np.empty(0, np.int64)]
    found_b: list[np.ndarray] = [np.empty(0, np.int64)]
    while n_pieces > 1:
        search = np.flatnonzero(piece != np.argmax(np.bincount(piece)))
        partner, best = nearest_other_component(vectors, piece, core, search)
        order = np.lexsort((best, piece[search]))  # by piece, cheapest first
        first = order[np.unique(piece[search][order], return_index=True)[1]]
        a, b = search[first], partner[first]
        found_a.append(a)
        found_b.append(b)
        links = coo_matrix((np.ones(len(a)), (piece[a], piece[b])), shape=(n_pieces, n_pieces))
        n_pieces, merged = connected_components(links, directed=False)
        piece = merged[piece]
    return np.concatenate(found_a), np.concatenate(found_b), initial


def mutual_reachability_mst(
    vectors: np.ndarray, graph: KnnGraph, core: np.ndarray, extra: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], int]:
    """Minimum spanning tree of the mutual-reachability graph on the k-NN edges plus ``extra`` edges (a, b);
    pieces of a disconnected graph are joined first (``_join_pieces``).

    Returns ([n-1, 3] float64 rows (a, b, weight) sorted by weight, the extra edges actually used including
    the joining ones, the number of pieces before joining)."""
    extra_a, extra_b = extra if extra is not None else (np.empty(0, np.int64), np.empty(0, np.int64))

    def build(a: np.ndarray, b: np.ndarray) -> csr_matrix:
        w = np.maximum(np.maximum(pair_distances(vectors, a, b), core[a]), core[b])
        return _graph_matrix(graph, core, a, b, w)

    matrix = build(extra_a, extra_b)
    join_a, join_b, pieces = _join_pieces(vectors, matrix, core)
    if len(join_a):
        extra_a, extra_b = np.concatenate([extra_a, join_a]), np.concatenate([extra_b, join_b])
        matrix = build(extra_a, extra_b)

    tree = minimum_spanning_tree(matrix).tocoo()
    edge_weights = np.where(tree.data <= _ZERO_WEIGHT, 0.0, tree.data)
    edges = np.column_stack([tree.row.astype(np.float64), tree.col.astype(np.float64), edge_weights])
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0], edges[:, 2]))]  # by weight; ties in a fixed order
    return edges, (extra_a, extra_b), pieces


def single_linkage_tree(edges: np.ndarray) -> np.ndarray:
    """scipy-style linkage [n-1, 4] (cluster a, cluster b, distance, size) from MST edges sorted by weight.

    Same output as hdbscan's ``label`` (tested), which is far slower on deep trees (8 s vs 0.25 s for
    100k faces): a union-find with path halving over plain Python lists."""
    n = len(edges) + 1
    left = edges[:, 0].astype(np.int64).tolist()
    right = edges[:, 1].astype(np.int64).tolist()
    parent = list(range(2 * n - 1))
    size = [1] * n + [0] * (n - 1)
    out_left = [0] * (n - 1)
    out_right = [0] * (n - 1)
    out_size = [0] * (n - 1)
    for i in range(n - 1):
        a = left[i]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = right[i]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        merged = n + i
        out_left[i], out_right[i] = a, b
        size[merged] = out_size[i] = size[a] + size[b]
        parent[a] = parent[b] = merged
    return np.column_stack([np.array(out_left, np.float64), np.array(out_right, np.float64),
                            edges[:, 2].astype(np.float64), np.array(out_size, np.float64)])


def _leaf_groups(edges: np.ndarray, params: ClusterParams) -> np.ndarray:
    """Leaf clusters of the condensed tree (finest groups of at least min_cluster_size faces), -1 elsewhere."""
    hierarchy = single_linkage_tree(edges)
    condensed = condense_tree(hierarchy, params.min_cluster_size)
    labels, _, _ = get_clusters(condensed, compute_stability(condensed), cluster_selection_method="leaf")
    return labels.astype(np.int64)


def _select_clusters(edges: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """hdbscan's own flat-cluster extraction from a sorted MST: (labels, strengths, persistence, GLOSH)."""
    hierarchy = single_linkage_tree(edges)
    condensed = condense_tree(hierarchy, params.min_cluster_size)
    stability = compute_stability(condensed)
    labels, strengths, persistence = get_clusters(
        condensed,
        stability,
        cluster_selection_method=params.cluster_selection_method,
        allow_single_cluster=params.allow_single_cluster,
        match_reference_implementation=False,
        cluster_selection_epsilon=float(params.cluster_selection_epsilon),
    )
    glosh = outlier_scores(condensed)
    return labels.astype(np.int64), strengths, persistence, glosh


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
    for group in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == group)
        if len(members) < 2 * params.min_cluster_size or group_spread(vectors, members) <= params.max_spread:
            continue
        if depth >= MAX_SPLIT_DEPTH:
            continue
        inner = replace(params, stray_distance=0.0, pair_distance=0.0, allow_single_cluster=False,
                        bridge_partners=0)
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


def _cluster(x: np.ndarray, params: ClusterParams, constraints: Constraints | None, graph: KnnGraph | None) -> ClusterResult:
    n = len(x)
    timings: dict[str, float] = {}
    min_samples = max(1, min(n - 1, params.min_samples))
    k = max(params.k, min_samples)
    knn_method = "none"

    if n < max(2, params.min_cluster_size) or n <= min_samples:
        base = np.full(n, -1, dtype=np.int64)
        strengths = np.zeros(n)
        glosh = np.zeros(n)
        persistence = np.zeros(0)
        pieces = 1
    else:
        start = time.perf_counter()
        if graph is not None and graph.indices.shape[0] != n:
            raise ValueError("the k-NN graph does not match the vectors")
        knn_method = "given"
        if graph is None or graph.k < min_samples:
            approximate = params.knn_method == "approximate" or (
                params.knn_method == "auto" and n >= params.approximate_from)
            knn_method = "approximate" if approximate else "exact"
            graph = (knn_approximate if approximate else knn_exact)(x, min(k, n - 1))
        timings["knn"] = time.perf_counter() - start

        start = time.perf_counter()
        core = core_distances(graph, min_samples)
        edges, joins, pieces = mutual_reachability_mst(x, graph, core)
        timings["mst"] = time.perf_counter() - start

        if params.bridge_partners > 0:
            start = time.perf_counter()
            leaves = _leaf_groups(edges, params)
            bridge_a, bridge_b = cheapest_edges_between_groups(x, leaves, core, params.bridge_partners)
            extra = (np.concatenate([joins[0], bridge_a]), np.concatenate([joins[1], bridge_b]))
            edges, _, _ = mutual_reachability_mst(x, graph, core, extra=extra)
            timings["bridges"] = time.perf_counter() - start

        start = time.perf_counter()
        base, strengths, persistence, glosh = _select_clusters(edges, params)
        timings["select"] = time.perf_counter() - start

        if params.max_spread > 0:
            start = time.perf_counter()
            base, strengths = split_spread_groups(x, base, strengths, params)
            timings["spread"] = time.perf_counter() - start

        if params.stray_distance > 0 or params.pair_distance > 0:
            start = time.perf_counter()
            base, strengths = refine_strays(base, strengths, graph, stray_distance=params.stray_distance,
                                            pair_distance=params.pair_distance)
            timings["strays"] = time.perf_counter() - start

    labels, final_strengths, report = base, strengths, None
    if constraints is not None:
        start = time.perf_counter()
        labels, final_strengths, report = apply_constraints(
            x, base, strengths, constraints, attach_distance=params.attach_distance, graph=graph
        )
        timings["constraints"] = time.perf_counter() - start

    return ClusterResult(
        labels=labels,
        strengths=final_strengths,
        base_labels=base,
        outlier_scores=glosh,
        cluster_persistence=persistence,
        k=graph.k if graph is not None else 0,
        graph_components=int(pieces),
        timings=timings,
        constraint_report=report,
        knn_method=knn_method,
    )
