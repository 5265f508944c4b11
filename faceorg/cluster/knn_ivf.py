"""Approximate k nearest neighbours of unit vectors by an inverted file of k-means cells (large libraries).

The faces are split into k-means cells of about ``cell_size`` (k-means fitted on a sample, in blocks). Each
query face looks for its neighbours in ``probes`` cells: its own and those of its cell's
``neighbour_cells`` nearest cells whose centres are nearest to it, exactly within them. The search runs
cell by cell of the base: all queries probing a cell are compared with its faces in one matrix product;
each query's own cell comes first, so its k-th best similarity is tight early and later cells only merge
the similarities that beat it. Nothing grows faster than n times the number of cells (the assignment of
faces to their nearest centre) - at 1M faces and cells of 256 that is 1/256 of the all-pairs work - and
memory stays linear in n (blocks bounded by ``MAX_BLOCK_ELEMENTS``).

One :class:`IvfIndex` serves the k-NN graph of all faces, the joining of the graph's pieces (capped
similarities, own piece masked) and the recall pass (nearest grouped faces of unsorted ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from faceorg.cluster.knn import KnnGraph, blas_single_thread, graph_from_similarities, worker_count
from faceorg.cluster.knn_exact import _TopK, knn_exact
from faceorg.vectors import l2_normalize

ASSIGN_BLOCK = 4096
MAX_BLOCK_ELEMENTS = 1 << 20  # similarities computed at once per thread (4 MB, its sort indices 8 MB)
QUERY_PARTS = 4  # queries split into at least this many parts, one thread each at a time
QUERY_CHUNK = 1 << 18  # queries searched together (each part visits every cell it probes: fewer, larger parts)
PROBE_BLOCK = 512  # rows whose probes are chosen at once (their cells' neighbour centres: 512 x 64 x d floats)
MERGE_BATCH = 1 << 21  # candidates merged into a search's running k best at once (about 40 MB)


def _nearest_centre(x: np.ndarray, centres: np.ndarray, pool: ThreadPoolExecutor) -> np.ndarray:
    """Index of each row's nearest centre (int32), in blocks on the pool's threads."""
    def block(start: int) -> np.ndarray:
        return np.argmax(x[start:start + ASSIGN_BLOCK] @ centres.T, axis=1).astype(np.int32)

    parts = list(pool.map(block, range(0, len(x), ASSIGN_BLOCK)))
    return np.concatenate(parts) if parts else np.empty(0, np.int32)


@dataclass(frozen=True)
class IvfSettings:
    """Shape of the inverted file for a library: faces per cell, cells searched per face, and among how many
    of its cell's nearest cells they are chosen."""

    cell_size: int
    probes: int
    neighbour_cells: int


def ivf_settings(n: int) -> IvfSettings:
    """Cells of 128 faces, 24 probed of the 64 nearest, below 300,000 faces; from there cells of 256, 10 probed
    of the 48 nearest (the assignment of every face to its cell costs n x cells: bigger cells keep it
    about 1/256 of all pairs). Measured on synthetic libraries (100k faces, cells of 128): 95% of the
    exact 16 nearest neighbours found, against 87% / 92% with 8 / 12 probes. At 1M faces (cells of 256) the
    true 16 nearest lie in the probed cells for 84% / 86% / 87% of them with 8 / 12 / 16 probes, each probe
    costing ~650 similarities per face (big cells are probed most); 300k faces grouped with 10, 12 or 16
    probes: BCubed F 0.8708, 0.8708, 0.8709, so 10."""
    if n < 300_000:
        return IvfSettings(cell_size=128, probes=24, neighbour_cells=64)
    return IvfSettings(cell_size=256, probes=10, neighbour_cells=48)


def _kmeans(x: np.ndarray, n_cells: int, pool: ThreadPoolExecutor, iterations: int = 4, sample_per_cell: int = 16,
            seed: int = 0) -> np.ndarray:
    """Spherical k-means centres [n_cells, d] fitted on a seeded sample, started from seeded rows of it; the
    assignments in blocks on the pool's threads (memory: one block of similarities per thread)."""
    rng = np.random.default_rng(seed)
    sample = x[np.sort(rng.choice(len(x), size=min(len(x), sample_per_cell * n_cells), replace=False))]
    centres = sample[np.sort(rng.choice(len(sample), size=n_cells, replace=False))].copy()
    for _ in range(iterations):
        assign = _nearest_centre(sample, centres, pool)
        order = np.argsort(assign, kind="stable")
        cells, starts = np.unique(assign[order], return_index=True)
        centres[cells] = l2_normalize(np.add.reduceat(sample[order], starts, axis=0))
    return centres


class _Pending:
    """Candidates for a :class:`_TopK`, merged in batches of ``MERGE_BATCH`` (each merge re-sorts the k best of
    every touched row: merging after every cell re-sorted each query's k best once per probed cell)."""

    def __init__(self, top: _TopK) -> None:
        self.top = top
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        if len(rows):
            self.parts.append((rows, cols, vals))
            self.size += len(rows)
            if self.size >= MERGE_BATCH:
                self.flush()

    def flush(self) -> None:
        if self.parts:
            self.top.merge(*(np.concatenate(arrays) for arrays in zip(*self.parts)))
        self.parts, self.size = [], 0


def _top_columns(sims: np.ndarray, take: int, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``sims``, the ``take`` largest entries as (labels of their columns, similarities), most
    similar first, ties broken by the lower label (so the result does not depend on column order)."""
    if take < sims.shape[1]:
        top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
    else:
        top = np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
    top_sims = np.take_along_axis(sims, top, axis=1)
    top_labels = labels[top]
    rank = np.lexsort((top_labels, -top_sims), axis=1)
    return np.take_along_axis(top_labels, rank, axis=1), np.take_along_axis(top_sims, rank, axis=1)


class IvfIndex:
    """An inverted file over unit rows ``x``: k-means cells of about ``cell_size`` rows, each row's cell, the
    rows of each cell, and each cell's ``neighbour_cells`` nearest cells by centre (its own first).

    Built once per grouping and searched several times (the k-NN graph, joining pieces, the recall pass).
    Queries are rows of ``x`` itself; a search may leave out columns (``allowed``), cap each column's
    similarity (``cap``: mutual reachability) and skip columns of the query's own ``group``.
    Deterministic for given inputs (the thread count does not matter)."""

    def __init__(self, x: np.ndarray, cell_size: int = 128, neighbour_cells: int = 64,
                 threads: int | None = None) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.threads = threads
        n = len(self.x)
        self.n_cells = max(1, n // max(1, cell_size))
        self.neighbour_cells = max(1, min(neighbour_cells, self.n_cells))
        with blas_single_thread(), ThreadPoolExecutor(max_workers=worker_count(threads)) as pool:
            self.centres = _kmeans(self.x, self.n_cells, pool)
            self.cell = _nearest_centre(self.x, self.centres, pool)
        near = np.empty((self.n_cells, self.neighbour_cells), dtype=np.int64)
        for start in range(0, self.n_cells, 1024):
            sims = self.centres[start:start + 1024] @ self.centres.T
            sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = np.inf
            near[start:start + 1024] = _top_columns(sims, self.neighbour_cells, np.arange(self.n_cells))[0]
        self.near_cells = near
        self.order = np.argsort(self.cell, kind="stable")
        self.start = np.searchsorted(self.cell[self.order], np.arange(self.n_cells + 1))

    def search(self, rows: np.ndarray, k: int, probes: int = 24, *, allowed: np.ndarray | None = None,
               cap: np.ndarray | None = None, group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each row index in ``rows``: the ``k`` most similar other rows among the cells nearest to it,
        as (indices [m, k] int64, similarities [m, k] float32), most similar first, padded with -1 / -inf.

        ``probes``: cells searched per row (its own and the nearest others among its cell's neighbours).
        ``allowed`` (bool per row of ``x``): only these may be found. ``cap`` (float32 per row of ``x``):
        a found row's similarity counts as at most this. ``group`` (int per row of ``x``): rows of the
        query's own group are not found."""
        x, rows = self.x, np.asarray(rows, dtype=np.int64)
        m = len(rows)
        if k <= 0 or m == 0:
            return np.full((m, max(k, 0)), -1, dtype=np.int64), np.full((m, max(k, 0)), -np.inf, dtype=np.float32)
        probed = self._probes(rows, max(1, min(probes, self.neighbour_cells)))
        workers = worker_count(self.threads)
        # Parts do not depend on the thread count: a matrix product's rounding may depend on its block's rows.
        parts = np.array_split(np.arange(m, dtype=np.int32), max(QUERY_PARTS, -(-m // QUERY_CHUNK)))

        top = _TopK(m, k)
        own = self.cell[rows]
        floor = np.finfo(np.float32).min

        def cell_rows(cell: int) -> np.ndarray:
            base = self.order[self.start[cell]:self.start[cell + 1]]
            return base[allowed[base]] if allowed is not None else base

        def by_cell(pair_pos: np.ndarray, pair_cell: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            """(positions, base rows) per cell, a big cell's positions in bounded blocks."""
            order = np.argsort(pair_cell, kind="stable")
            pair_pos, pair_cell = pair_pos[order], pair_cell[order]
            cells, first = np.unique(pair_cell, return_index=True)
            for cell, lo, hi in zip(cells.tolist(), first.tolist(), [*first[1:].tolist(), len(pair_cell)]):
                base = cell_rows(cell)
                if len(base):
                    step = max(1, MAX_BLOCK_ELEMENTS // len(base))
                    for s in range(lo, hi, step):
                        yield pair_pos[s:min(hi, s + step)], base

        def own_cell(positions: np.ndarray, base: np.ndarray, pending: _Pending) -> None:
            """Exact top k of each query within its own cell (every mask applied before choosing)."""
            query = rows[positions]
            sims = x[query] @ x[base].T
            if cap is not None:
                np.minimum(sims, cap[base][None, :], out=sims)
            sims[base[None, :] == query[:, None]] = -np.inf  # never the query itself
            if group is not None:
                sims[group[base][None, :] == group[query][:, None]] = -np.inf
            take = min(k, len(base))
            cand = np.argpartition(-sims, take - 1, axis=1)[:, :take] if take < len(base) else \
                np.broadcast_to(np.arange(len(base)), sims.shape)
            vals = np.take_along_axis(sims, cand, axis=1)
            keep = vals > -np.inf
            pending.add(np.repeat(positions, take)[keep.ravel()], base[cand][keep], vals[keep])

        def other_cell(positions: np.ndarray, base: np.ndarray, pending: _Pending) -> None:
            """Entries of another cell that beat the query's k-th best so far (the query is not in it)."""
            query = rows[positions]
            sims = x[query] @ x[base].T
            if cap is not None:
                np.minimum(sims, cap[base][None, :], out=sims)
            flat = np.flatnonzero(sims >= np.maximum(top.bound[positions], floor)[:, None])
            if not len(flat):
                return
            r, c = np.divmod(flat, len(base))
            if group is not None:
                differ = group[base[c]] != group[query[r]]
                flat, r, c = flat[differ], r[differ], c[differ]
            pending.add(positions[r], base[c], sims.reshape(-1)[flat])

        def search(part: np.ndarray) -> None:
            # Each query's own cell first (its best candidates), then its nearest other cell: a tight k-th
            # similarity early. Then, cell by cell of the base, every query probing that cell at once; only
            # similarities that beat the query's k-th best are kept (a comparison per entry), and merged in
            # large batches (a merge sorts each touched query's k best again).
            pending = _Pending(top)
            for positions, base in by_cell(part, own[part]):
                own_cell(positions, base, pending)
            pending.flush()
            if probed.shape[1] > 1:
                for positions, base in by_cell(part, probed[part, 1]):
                    other_cell(positions, base, pending)
                pending.flush()
            if probed.shape[1] > 2:
                for positions, base in by_cell(np.repeat(part, probed.shape[1] - 2), probed[part, 2:].ravel()):
                    other_cell(positions, base, pending)
                pending.flush()

        with blas_single_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(search, parts))
        ids, sims_out = top.ids, top.sims
        ids[~np.isfinite(sims_out)] = -1
        return ids, sims_out

    def _probes(self, rows: np.ndarray, probes: int) -> np.ndarray:
        """The ``probes`` cells searched for each row: its own cell and the nearest others among the
        neighbours of its cell, by the row's similarity to their centres, nearest first. [m, probes] int32."""
        out = np.empty((len(rows), probes), dtype=np.int32)
        for start in range(0, len(rows), PROBE_BLOCK):
            block = rows[start:start + PROBE_BLOCK]
            nearby = self.near_cells[self.cell[block]]
            sims = np.matmul(self.centres[nearby], self.x[block][:, :, None])[:, :, 0]
            sims[:, 0] = np.inf  # its own cell (first among its cell's neighbours) always
            top = (np.argpartition(-sims, probes - 1, axis=1)[:, :probes] if probes < sims.shape[1]
                   else np.broadcast_to(np.arange(sims.shape[1]), sims.shape))
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable"),
                                     axis=1)  # nearest first: its own cell, then the next nearest
            out[start:start + len(block)] = np.take_along_axis(nearby, top, axis=1)
        return out

    def knn_graph(self, k: int, probes: int = 24) -> KnnGraph:
        """Approximate k nearest neighbours of every row (see :func:`knn_approximate`)."""
        x = self.x
        n = len(x)
        k_eff = max(0, min(k, n - 1))
        ids, sims_out = self.search(np.arange(n), k_eff, probes)
        short = np.flatnonzero((ids < 0).any(axis=1))
        for start in range(0, len(short), 256):  # faces whose probed cells held fewer than k others: search all
            rows = short[start:start + 256]
            sims = x[rows] @ x.T
            sims[np.arange(len(rows)), rows] = -np.inf
            ids[rows], sims_out[rows] = _top_columns(sims, k_eff, np.arange(n))
        return graph_from_similarities(x, ids, sims_out, k)


def knn_approximate(
    vectors: np.ndarray, k: int, cell_size: int = 128, probes: int = 24, threads: int | None = None,
    neighbour_cells: int = 64,
) -> KnnGraph:
    """Approximate k nearest neighbours of every face by an :class:`IvfIndex` searched for each face; faces
    whose probed cells held fewer than ``k`` others are searched against all faces. Deterministic.

    Libraries too small for ``2 * probes`` cells are searched exactly (``knn_exact``)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if min(k, len(x) - 1) <= 0 or len(x) // max(1, cell_size) < 2 * probes:
        return knn_exact(x, k, threads=threads)
    return IvfIndex(x, cell_size, neighbour_cells, threads).knn_graph(k, probes)
