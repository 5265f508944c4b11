"""The k-nearest-neighbour graph of unit vectors, and what its two searches share.

The searches themselves: ``knn_exact.py`` (every pair compared, by tiles) and ``knn_ivf.py`` (only faces in
nearby k-means cells, for large libraries). Both keep each row's best similarities and turn them into a
:class:`KnnGraph` here: distances are ``sqrt(2 - 2 a.b)`` in float64 from the float32 similarity (error
~2e-6), recomputed as ``|a - b|`` for near-duplicates, where that formula loses precision.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

from faceorg.vectors import distance_from_similarity, spherical_kmeans

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


def empty_graph(n: int, k: int) -> KnnGraph:
    """A graph of ``n`` faces without neighbours (every row padding)."""
    return KnnGraph(np.full((n, k), -1, np.int64), np.full((n, k), np.inf))


def worker_count(threads: int | None) -> int:
    """Worker threads for a search: ``threads``, or the number of CPUs, at most 4."""
    return threads or min(4, os.cpu_count() or 1)


def blas_single_thread() -> contextlib.AbstractContextManager[object]:
    """Keep BLAS to one thread while our own threads split the work (multi-threaded BLAS inside
    several threads, or on a busy machine, spins and slows everything down)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: comes with scikit-learn, which hdbscan requires
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def pair_distances(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 32768) -> np.ndarray:
    """Euclidean distances |vectors[a] - vectors[b]| (as float64), computed in blocks of pairs."""
    out = np.empty(len(a), dtype=np.float64)
    for start in range(0, len(a), block):
        stop = start + block
        diff = vectors[a[start:stop]] - vectors[b[start:stop]]
        out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def kmeans_centres(vectors: np.ndarray, n_cells: int, iterations: int = 3, seed: int = 0,
                   sample_per_cell: int = 40) -> np.ndarray:
    """Spherical k-means centres [n_cells, d] fitted on a seeded sample, started from seeded rows of it."""
    n = len(vectors)
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, sample_per_cell * n_cells), replace=False))]
    start = sample[np.sort(rng.choice(len(sample), size=n_cells, replace=False))]
    return spherical_kmeans(sample, n_cells, iterations, start=start)


def _row_neighbour_distances(rows: np.ndarray, ids: np.ndarray, vectors: np.ndarray, block: int = 4096) -> np.ndarray:
    """Distances |rows[i] - vectors[ids[i, j]]| for an [m, k] neighbour table, as float64."""
    out = np.empty(ids.shape, dtype=np.float64)
    for start in range(0, len(ids), block):
        stop = start + block
        diff = vectors[ids[start:stop]].astype(np.float64) - rows[start:stop, None, :]
        out[start:stop] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return out


def graph_from_similarities(x: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int) -> KnnGraph:
    """Neighbour table from similarities (rows nearest first): distances, near-duplicates made exact, padding."""
    n, k_eff = ids.shape
    dist = distance_from_similarity(sims)
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
