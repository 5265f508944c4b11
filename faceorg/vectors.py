"""Distances between L2-normalised face vectors and spherical k-means (numpy only), shared by every layer."""

from __future__ import annotations

from typing import Any

import numpy as np


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); keeps the dtype of a float input."""
    x = np.asarray(vectors)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def distance_from_similarity(similarity: np.ndarray | float, dtype: Any = np.float64) -> np.ndarray:
    """Euclidean distance between unit vectors from their dot product: sqrt(2 - 2 a.b), in ``dtype``
    (float64 by default; float32 halves the memory of large blocks)."""
    s = np.asarray(similarity, dtype=dtype)
    return np.sqrt(np.maximum(2.0 - 2.0 * s, 0.0))


def unit_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances [len(a), len(b)] between two sets of unit vectors."""
    return distance_from_similarity(np.asarray(a) @ np.asarray(b).T)


def upper_pair_distances(vectors: np.ndarray) -> np.ndarray:
    """Distances between every two rows of a small ``vectors`` (the upper triangle, row by row, float64).

    Exact for vectors of any length (not only unit vectors).
    """
    x = np.asarray(vectors, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    return np.sqrt(d2[np.triu_indices(len(x), 1)])


def farthest_first(vectors: np.ndarray, n_centres: int) -> np.ndarray:
    """Deterministic start for k-means on unit rows: the normalised mean, then each time the row least
    similar to the centres chosen so far."""
    centres = [l2_normalize(vectors.mean(axis=0))]
    for _ in range(1, n_centres):
        sims = np.max(vectors @ np.array(centres).T, axis=1)
        centres.append(vectors[int(np.argmin(sims))])
    return np.array(centres)


def spherical_kmeans(vectors: np.ndarray, n_centres: int, iterations: int = 10,
                     start: np.ndarray | None = None) -> np.ndarray:
    """Spherical k-means centres [n_centres, d] of unit rows ``vectors``, in their dtype. Deterministic.

    Starts from ``start`` (rows [n_centres, d], e.g. a seeded sample for large sets) or else from
    :func:`farthest_first`; then ``iterations`` Lloyd steps (each centre becomes the normalised sum of the
    rows nearest to it; a centre nobody is nearest to stays where it is).
    """
    centres = (farthest_first(vectors, n_centres) if start is None else np.array(start)).astype(vectors.dtype)
    for _ in range(iterations):
        assign = np.argmax(vectors @ centres.T, axis=1)
        order = np.argsort(assign, kind="stable")
        cells, starts = np.unique(assign[order], return_index=True)
        centres[cells] = l2_normalize(np.add.reduceat(vectors[order], starts, axis=0))
    return centres
