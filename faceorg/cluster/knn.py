"""k-nearest-neighbour graph of unit vectors by blocked matrix products (numpy, float32).

``knn_exact`` compares every pair; ``knn_approximate`` (for large libraries) only faces in nearby k-means
cells. The rest of this docstring is about the exact search.

Every pair of faces is compared exactly once: the similarity matrix is computed tile by tile (each tile
serves the rows of both of its blocks), and a tile's entries are only looked at when they beat the row's
current k-th best similarity, so the cost is one matrix product over half the pairs plus a comparison
per entry. Faces are first put in a coarse order (by nearest of a few hundred k-means centres) so that
each row's true neighbours tend to share its tile and the thresholds become tight early. Memory stays
bounded by the tile size (``tile`` x ``tile`` float32) plus the [n, k] result.

Tiles are computed by worker threads with BLAS held to one thread each (multi-threaded BLAS inside
threads, or on a busy machine, spins and slows everything down); the calling thread merges candidates.
Distances are ``sqrt(2 - 2 a.b)`` in float64 from the float32 similarity (error ~2e-6), recomputed as
``|a - b|`` for near-duplicates, where that formula loses precision.

Also here: the exact searches that complete the graph for HDBSCAN (nearest face in another piece of a
disconnected graph; cheapest edge between nearby groups).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

DEFAULT_TILE = 1024


@dataclass(frozen=True)
class KnnGraph:
    """Each face's ``k`` nearest other faces: ``indices`` [n, k] int64 and ``distances`` [n, k] float64,
    nearest first. Rows of faces with fewer than ``k`` others are padded with index -1, distance inf."""

    indices: np.ndarray
    distances: np.ndarray

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])


def pair_distances(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 32768) -> np.ndarray:
    """Euclidean distances |vectors[a] - vectors[b]| (as float64), computed in blocks of pairs."""
    out = np.empty(len(a), dtype=np.float64)
    for start in range(0, len(a), block):
        stop = start + block
        diff = vectors[a[start:stop]] - vectors[b[start:stop]]
        out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def upper_pair_distances(vectors: np.ndarray) -> np.ndarray:
    """Distances between every two rows of a small ``vectors`` (the upper triangle, row by row, float64)."""
    x = np.asarray(vectors, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    return np.sqrt(d2[np.triu_indices(len(x), 1)])


def _row_neighbour_distances(rows: np.ndarray, ids: np.ndarray, vectors: np.ndarray, block: int = 4096) -> np.ndarray:
    """Distances |rows[i] - vectors[ids[i, j]]| for an [m, k] neighbour table, as float64."""
    out = np.empty(ids.shape, dtype=np.float64)
    for start in range(0, len(ids), block):
        stop = start + block
        diff = vectors[ids[start:stop]].astype(np.float64) - rows[start:stop, None, :]
        out[start:stop] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return out


def kmeans_centres(vectors: np.ndarray, n_cells: int, iterations: int = 3, seed: int = 0,
                   sample_per_cell: int = 40) -> np.ndarray:
    """Spherical k-means centres [n_cells, d] fitted on a seeded sample (deterministic)."""
    n = len(vectors)
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, sample_per_cell * n_cells), replace=False))]
    centres = sample[np.sort(rng.choice(len(sample), size=n_cells, replace=False))].copy()
    for _ in range(iterations):
        assign = np.argmax(sample @ centres.T, axis=1)
        order = np.argsort(assign, kind="stable")
        cells, starts = np.unique(assign[order], return_index=True)
        sums = np.add.reduceat(sample[order], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres[cells] = sums / np.where(norms > 0, norms, 1.0)
    return centres


def coarse_order(vectors: np.ndarray, n_cells: int, iterations: int = 3, seed: int = 0) -> np.ndarray:
    """A permutation that puts faces of the same coarse k-means cell next to each other."""
    n = len(vectors)
    if n_cells <= 1 or n <= n_cells:
        return np.arange(n)
    centres = kmeans_centres(vectors, n_cells, iterations, seed, sample_per_cell=50)
    cells = np.concatenate([np.argmax(vectors[s:s + 8192] @ centres.T, axis=1) for s in range(0, n, 8192)])
    return np.argsort(cells, kind="stable")


class _TopK:
    """Running top-k similarities per row with a per-row admission threshold."""

    def __init__(self, n: int, k: int) -> None:
        self.k = k
        self.sims = np.full((n, k), -np.inf, dtype=np.float32)
        self.ids = np.full((n, k), -1, dtype=np.int64)
        self.bound = np.full(n, -np.inf, dtype=np.float32)

    def merge(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Offer candidate (row, col, similarity) triples; each pair must be offered at most once."""
        # Candidates found with an older threshold may be stale. Ties are admitted and broken by the lower
        # column, so the result does not depend on the order in which threads deliver candidates.
        beats = vals >= self.bound[rows]
        if not beats.all():
            rows, cols, vals = rows[beats], cols[beats], vals[beats]
        if rows.size == 0:
            return
        k = self.k
        touched = np.unique(rows)
        all_rows = np.concatenate([np.repeat(touched, k), rows])
        all_sims = np.concatenate([self.sims[touched].ravel(), vals])
        all_ids = np.concatenate([self.ids[touched].ravel(), cols])
        order = np.lexsort((all_ids, -all_sims, all_rows))
        all_rows, all_sims, all_ids = all_rows[order], all_sims[order], all_ids[order]
        starts = np.searchsorted(all_rows, touched)
        counts = np.diff(np.append(starts, len(all_rows)))
        rank = np.arange(len(all_rows)) - np.repeat(starts, counts)
        keep = rank < k
        self.sims[all_rows[keep], rank[keep]] = all_sims[keep]
        self.ids[all_rows[keep], rank[keep]] = all_ids[keep]
        self.bound[touched] = self.sims[touched, k - 1]


class _Workspace(threading.local):
    """Per-thread buffers reused across tiles (fresh large arrays cost page faults every time)."""

    def __init__(self) -> None:
        self.sims = np.empty(0, dtype=np.float32)
        self.mask = np.empty(0, dtype=bool)

    def get(self, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        if self.sims.size < rows * cols:
            self.sims = np.empty(rows * cols, dtype=np.float32)
            self.mask = np.empty(rows * cols, dtype=bool)
        return self.sims[: rows * cols].reshape(rows, cols), self.mask[: rows * cols].reshape(rows, cols)


def _tile_candidates(
    x: np.ndarray, bound: np.ndarray, i0: int, i1: int, j0: int, j1: int, seed_block: int, workspace: _Workspace
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Similarities of rows i0:i1 with rows j0:j1 that beat the current threshold of either side, as
    (row, column, similarity) triples for both orientations. Runs in a worker thread (numpy releases the
    GIL); a stale ``bound`` only admits extra candidates, never loses one."""
    sims, mask = workspace.get(i1 - i0, j1 - j0)
    np.matmul(x[i0:i1], x[j0:j1].T, out=sims)
    width = j1 - j0
    flat_sims = sims.reshape(-1)
    if i0 == j0:
        for s in range(0, i1 - i0, seed_block):  # pairs inside a seed block were already offered
            sims[s:s + seed_block, s:s + seed_block] = -np.inf
    np.greater_equal(sims, bound[i0:i1, None], out=mask)
    flat = np.flatnonzero(mask)
    r, c = np.divmod(flat, width)
    if i0 == j0:
        return r + i0, c + j0, flat_sims[flat]
    np.greater_equal(sims, bound[None, j0:j1], out=mask)
    flat_t = np.flatnonzero(mask)
    rt, ct = np.divmod(flat_t, width)
    rows = np.concatenate([r + i0, ct + j0])
    cols = np.concatenate([c + j0, rt + i0])
    return rows, cols, np.concatenate([flat_sims[flat], flat_sims[flat_t]])


def _seed_diagonal(x: np.ndarray, top: _TopK, block: int) -> None:
    """Fill each row's first candidates from its small diagonal block (cheap, tightens thresholds)."""
    n, k = len(x), top.k
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = x[start:stop] @ x[start:stop].T
        np.fill_diagonal(sims, -np.inf)
        m = stop - start
        take = min(k, m - 1)
        if take <= 0:
            continue
        part = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        rows = np.repeat(np.arange(start, stop), take)
        top.merge(rows, part.ravel() + start, np.take_along_axis(sims, part, axis=1).ravel())


def _finish(x: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int) -> KnnGraph:
    """Neighbour table from similarities (rows nearest first): distances, near-duplicates made exact, padding."""
    n, k_eff = ids.shape
    dist = np.sqrt(np.maximum(2.0 - 2.0 * sims.astype(np.float64), 0.0))
    # sqrt(2 - 2 a.b) loses precision for near-duplicates: recompute those as |a - b|.
    close = np.flatnonzero((dist < 0.05).any(axis=1))
    if close.size:
        dist[close] = _row_neighbour_distances(x[close], ids[close], x)
        resort = np.argsort(dist[close], axis=1, kind="stable")
        ids[close] = np.take_along_axis(ids[close], resort, axis=1)
        dist[close] = np.take_along_axis(dist[close], resort, axis=1)
    if k_eff < k:
        ids = np.hstack([ids, np.full((n, k - k_eff), -1, np.int64)])
        dist = np.hstack([dist, np.full((n, k - k_eff), np.inf)])
    return KnnGraph(indices=ids, distances=dist)


def blas_single_thread() -> contextlib.AbstractContextManager[object]:
    """Keep BLAS to one thread while our own threads split the tiles (multi-threaded BLAS inside
    several threads, or on a busy machine, spins and slows everything down)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: comes with scikit-learn, which hdbscan requires
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def knn_exact(
    vectors: np.ndarray, k: int, tile: int = DEFAULT_TILE, order_cells: int | None = None, threads: int | None = None
) -> KnnGraph:
    """Exact k nearest neighbours (Euclidean on unit vectors) of every face, excluding itself.

    ``threads`` worker threads compute tiles (default: the number of CPUs, at most 4); the calling
    thread merges their candidates."""
    x_in = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x_in)
    k_eff = max(0, min(k, n - 1))
    if k_eff == 0:
        return KnnGraph(np.full((n, k), -1, np.int64), np.full((n, k), np.inf))
    cells = order_cells if order_cells is not None else min(512, n // 200)
    order = coarse_order(x_in, cells)
    x = x_in[order]
    top = _TopK(n, k_eff)
    seed_block = 1 << max(8, int(np.ceil(np.log2(4 * k_eff))))
    tile = -(-max(tile, seed_block) // seed_block) * seed_block  # a multiple of the seed block
    workers = threads or min(4, os.cpu_count() or 1)
    merge_every = 4

    with blas_single_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        _seed_diagonal(x, top, seed_block)
        tiles = [(i0, min(n, i0 + tile), j0, min(n, j0 + tile))
                 for i0 in range(0, n, tile) for j0 in range(i0, n, tile)]
        workspace = _Workspace()
        pending: deque[Future[tuple[np.ndarray, np.ndarray, np.ndarray]]] = deque()
        batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for number, (i0, i1, j0, j1) in enumerate(tiles):
            pending.append(pool.submit(_tile_candidates, x, top.bound, i0, i1, j0, j1, seed_block, workspace))
            while len(pending) > 2 * workers or (number == len(tiles) - 1 and pending):
                batch.append(pending.popleft().result())
                # Merging costs a sort of every touched row: do it for several tiles at once.
                if len(batch) >= merge_every or not pending:
                    top.merge(*(np.concatenate(parts) for parts in zip(*batch)))
                    batch = []

    ids = np.empty_like(top.ids)
    ids[order] = order[top.ids]
    sims = np.empty_like(top.sims)
    sims[order] = top.sims
    return _finish(x_in, ids, sims, k)


def knn_approximate(
    vectors: np.ndarray, k: int, cell_size: int = 64, probes: int = 12, threads: int | None = None
) -> KnnGraph:
    """Approximate k nearest neighbours by an inverted file: faces are split into k-means cells of about
    ``cell_size``; each face looks for its neighbours in the ``probes`` cells whose centres are nearest to it
    (exactly, within those cells). All faces of a cell are searched together against the union of their
    probed cells, so the work stays in matrix products. Deterministic.

    Measured on synthetic libraries (cells of 64, 12 probes): 98.1% / 97.5% of the exact neighbours found at
    50k / 100k faces, for 3.5 / 10.4 CPU-seconds against 6.2 / 19.6 for the exact search; clustering on
    this graph agreed with clustering on the exact one (ARI above 0.995 at 50k, same BCubed F).
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    k_eff = max(0, min(k, n - 1))
    n_cells = n // cell_size
    if k_eff == 0 or n_cells < 2 * probes:
        return knn_exact(x, k, threads=threads)
    workers = threads or min(4, os.cpu_count() or 1)
    with blas_single_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        centres = kmeans_centres(x, n_cells, iterations=4)

        def nearest_cells(start: int) -> np.ndarray:
            sims = x[start:start + 4096] @ centres.T
            top = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
            # Nearest cell first: it is the face's own cell.
            rank = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
            return np.take_along_axis(top, rank, axis=1)

        probed = np.vstack(list(pool.map(nearest_cells, range(0, n, 4096))))
        own = probed[:, 0]
        order = np.argsort(own, kind="stable")
        cell_start = np.searchsorted(own[order], np.arange(n_cells + 1))
        ids = np.empty((n, k_eff), dtype=np.int64)
        sims_out = np.empty((n, k_eff), dtype=np.float32)

        def search(cell: int) -> None:
            rows = order[cell_start[cell]:cell_start[cell + 1]]
            if len(rows) == 0:
                return
            others = np.unique(probed[rows])
            others = others[others != cell]
            candidates = np.concatenate([rows] + [order[cell_start[c]:cell_start[c + 1]] for c in others])
            sims = x[rows] @ x[candidates].T
            sims[np.arange(len(rows)), np.arange(len(rows))] = -np.inf  # each row is first in its own cell
            take = min(k_eff, len(candidates) - 1)
            top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
            top_sims = np.take_along_axis(sims, top, axis=1)
            rank = np.lexsort((candidates[top], -top_sims), axis=1)
            ids[rows, :take] = candidates[np.take_along_axis(top, rank, axis=1)]
            sims_out[rows, :take] = np.take_along_axis(top_sims, rank, axis=1)
            if take < k_eff:
                ids[rows, take:] = -1
                sims_out[rows, take:] = -np.inf

        list(pool.map(search, range(n_cells)))
    short = np.flatnonzero((ids < 0).any(axis=1))
    for start in range(0, len(short), 256):  # faces whose probed cells held fewer than k others: search all
        rows = short[start:start + 256]
        sims = x[rows] @ x.T
        sims[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
        top_sims = np.take_along_axis(sims, top, axis=1)
        rank = np.lexsort((top, -top_sims), axis=1)
        ids[rows] = np.take_along_axis(top, rank, axis=1)
        sims_out[rows] = np.take_along_axis(top_sims, rank, axis=1)
    return _finish(x, ids, sims_out, k)


def nearest_other_component(
    vectors: np.ndarray,
    component: np.ndarray,
    core: np.ndarray,
    rows: np.ndarray,
    max_elements: int = 1 << 22,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each face in ``rows``, the face in a *different* component at the smallest mutual-reachability
    distance ``max(core[a], core[b], |a - b|)``: returns (partner index, that distance) per row.

    Exact, by blocked matrix products against all faces, in similarity space: max(|a - b|, core[b]) is
    smallest where min(a.b, 1 - core[b]^2 / 2) is largest. Columns are ordered by component, so a block of
    rows from one component masks its own component as one slice."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    col_order = np.argsort(component, kind="stable")
    x_cols = x[col_order]
    core_sims = (1.0 - core[col_order] ** 2 / 2.0).astype(np.float32)
    comp_sorted = component[col_order]
    row_order = np.argsort(component[rows], kind="stable")
    chunk = max(1, min(len(rows), max_elements // max(1, n)))
    jobs: list[np.ndarray] = []
    for comp, start, count in zip(*np.unique(component[rows][row_order], return_index=True, return_counts=True)):
        for s in range(start, start + count, chunk):
            jobs.append(row_order[s:min(start + count, s + chunk)])

    partner = np.full(len(rows), -1, dtype=np.int64)
    best = np.full(len(rows), np.inf)

    def search(positions: np.ndarray) -> None:
        r = rows[positions]
        comp = component[r[0]]
        lo, hi = np.searchsorted(comp_sorted, comp), np.searchsorted(comp_sorted, comp, side="right")
        sims = x[r] @ x_cols.T
        np.minimum(sims, core_sims[None, :], out=sims)
        sims[:, lo:hi] = -np.inf
        j = np.argmax(sims, axis=1)
        s_best = sims[np.arange(len(r)), j].astype(np.float64)
        partner[positions] = col_order[j]
        best[positions] = np.maximum(np.sqrt(np.maximum(2.0 - 2.0 * s_best, 0.0)), core[r])

    with ThreadPoolExecutor(max_workers=threads or min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(search, jobs))
    return partner, best


def _cheapest_to_each(
    x: np.ndarray, core: np.ndarray, a_faces: np.ndarray, partner_faces: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest mutual-reachability edge from ``a_faces`` to each partner's faces: (a ends, b ends)."""
    b_faces = np.concatenate(partner_faces)
    sims = x[a_faces] @ x[b_faces].T
    mr = np.sqrt(np.maximum(2.0 - 2.0 * sims, 0.0))
    np.maximum(mr, core[a_faces, None], out=mr)
    np.maximum(mr, core[None, b_faces], out=mr)
    best_row = mr.argmin(axis=0)
    best = mr[best_row, np.arange(len(b_faces))]
    lengths = np.array([len(f) for f in partner_faces])
    seg_id = np.repeat(np.arange(len(partner_faces)), lengths)
    # Each segment's minimum: sort by (segment, value) and take each segment's first entry.
    first = np.lexsort((best, seg_id))[np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    return a_faces[best_row[first]], b_faces[first]


def cheapest_edges_between_groups(
    vectors: np.ndarray,
    groups: np.ndarray,
    core: np.ndarray,
    partners_per_group: int = 8,
    max_elements: int = 1 << 22,
) -> tuple[np.ndarray, np.ndarray]:
    """For each group (label >= 0 in ``groups``) and each of its ``partners_per_group`` nearest other groups
    (by centroid), the exact cheapest mutual-reachability edge between the two groups.

    Returns edges (a, b) as two int64 arrays (faces, a in the first group). The k-NN graph misses these
    when both groups are larger than k (e.g. two photo "modes" of one person), which would otherwise
    split such people.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    member_order = np.flatnonzero(groups >= 0)
    if member_order.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    member_order = member_order[np.argsort(groups[member_order], kind="stable")]
    ids, starts, sizes = np.unique(groups[member_order], return_index=True, return_counts=True)
    m = len(ids)
    if m < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sums = np.add.reduceat(x[member_order], starts, axis=0)
    centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    take = min(partners_per_group, m - 1)

    nearest = np.empty((m, take), dtype=np.int64)
    for r0 in range(0, m, 1024):
        sims = centres[r0:r0 + 1024] @ centres.T
        sims[np.arange(sims.shape[0]), np.arange(r0, r0 + sims.shape[0])] = -np.inf
        nearest[r0:r0 + 1024] = np.argpartition(-sims, take - 1, axis=1)[:, :take]

    pairs = np.unique(np.sort(np.column_stack([np.repeat(np.arange(m), take), nearest.ravel()]), axis=1), axis=0)
    firsts, first_at = np.unique(pairs[:, 0], return_index=True)
    first_end = np.append(first_at[1:], len(pairs))
    out_a = np.empty(len(pairs), dtype=np.int64)
    out_b = np.empty(len(pairs), dtype=np.int64)
    for g, lo, hi in zip(firsts, first_at, first_end):
        a_faces = member_order[starts[g]:starts[g] + sizes[g]]
        chunk_start = lo
        while chunk_start < hi:
            # As many partners as fit in one block of about max_elements similarities.
            budget = max(1, max_elements // len(a_faces))
            chunk_end = chunk_start + 1
            total = sizes[pairs[chunk_start, 1]]
            while chunk_end < hi and total + sizes[pairs[chunk_end, 1]] <= budget:
                total += sizes[pairs[chunk_end, 1]]
                chunk_end += 1
            partners = pairs[chunk_start:chunk_end, 1]
            out_a[chunk_start:chunk_end], out_b[chunk_start:chunk_end] = _cheapest_to_each(
                x, core, a_faces, [member_order[starts[p]:starts[p] + sizes[p]] for p in partners]
            )
            chunk_start = chunk_end
    return out_a, out_b
