"""Exact k nearest neighbours of unit vectors by blocked matrix products (numpy, float32, worker threads).

Every pair of faces is compared exactly once: the similarity matrix is computed tile by tile (each tile
serves the rows of both of its blocks), and a tile's entries are only looked at when they beat the row's
current k-th best similarity, so the cost is one matrix product over half the pairs plus a comparison
per entry. Faces are first put in a coarse order (by nearest of a few hundred k-means centres) so that
each row's true neighbours tend to share its tile and the thresholds become tight early. Memory stays
bounded by the tile size (``tile`` x ``tile`` float32) plus the [n, k] result.

Tiles are computed by worker threads with BLAS held to one thread each (multi-threaded BLAS inside
threads, or on a busy machine, spins and slows everything down); the calling thread merges candidates.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from faceorg.cluster.knn import (
    DEFAULT_TILE,
    KnnGraph,
    blas_single_thread,
    empty_graph,
    graph_from_similarities,
    kmeans_centres,
    worker_count,
)


def coarse_order(vectors: np.ndarray, n_cells: int, iterations: int = 3, seed: int = 0) -> np.ndarray:
    """A permutation that puts faces of the same coarse k-means cell next to each other."""
    n = len(vectors)
    if n_cells <= 1 or n <= n_cells:
        return np.arange(n)
    centres = kmeans_centres(vectors, n_cells, iterations, seed, sample_per_cell=50)
    cells = np.concatenate([np.argmax(vectors[s:s + 8192] @ centres.T, axis=1) for s in range(0, n, 8192)])
    return np.argsort(cells, kind="stable")


def _descending_key(vals: np.ndarray) -> np.ndarray:
    """uint64 whose ascending order is the descending order of float32 ``vals`` (no NaN)."""
    bits = (np.asarray(vals, dtype=np.float32) + np.float32(0.0)).view(np.uint32)  # -0.0 becomes 0.0
    # IEEE floats sort as integers once negative ones are inverted and positive ones get the sign bit set;
    # inverting all of that turns ascending into descending.
    ascending = np.where(bits >> 31 != 0, ~bits, bits | np.uint32(0x80000000))
    return (~ascending).astype(np.uint64)


def row_best_order(rows: np.ndarray, sims: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The permutation that sorts entries by row, then similarity (highest first), then id (lowest first).

    One sort of a 64-bit key (row, similarity) - five times faster than a three-key ``lexsort`` on millions
    of entries; only runs of equal row and similarity (duplicate faces) are then ordered by id."""
    key = (rows.astype(np.uint64) << np.uint64(32)) | _descending_key(sims)
    order = np.argsort(key)
    ties = np.flatnonzero(key[order][1:] == key[order][:-1])
    if ties.size:
        in_run = np.zeros(len(order), dtype=bool)
        in_run[ties] = in_run[ties + 1] = True
        slots = np.flatnonzero(in_run)
        members = order[slots]
        order[slots] = members[np.lexsort((ids[members], key[members]))]
    return order


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
        beats = (vals >= self.bound[rows]) & (vals > -np.inf)  # -inf: a masked pair, never a neighbour
        if not beats.all():
            rows, cols, vals = rows[beats], cols[beats], vals[beats]
        if rows.size == 0:
            return
        k = self.k
        seen = np.zeros(len(self.bound), dtype=bool)
        seen[rows] = True
        touched = np.flatnonzero(seen)  # np.unique(rows), without its sort or hash table
        held = self.sims[touched] > -np.inf  # the k best so far, without the empty slots
        all_rows = np.concatenate([np.repeat(touched, held.sum(axis=1)), rows])
        all_sims = np.concatenate([self.sims[touched][held], vals])
        all_ids = np.concatenate([self.ids[touched][held], cols])
        order = row_best_order(all_rows, all_sims, all_ids)
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
        return empty_graph(n, k)
    cells = order_cells if order_cells is not None else min(512, n // 200)
    order = coarse_order(x_in, cells)
    x = x_in[order]
    top = _TopK(n, k_eff)
    seed_block = 1 << max(8, int(np.ceil(np.log2(4 * k_eff))))
    tile = -(-max(tile, seed_block) // seed_block) * seed_block  # a multiple of the seed block
    workers = worker_count(threads)
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
    return graph_from_similarities(x_in, ids, sims, k)
