"""Distances between L2-normalised face vectors (numpy only), shared by every layer."""

from __future__ import annotations

import numpy as np


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(vectors)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def distance_from_similarity(similarity: np.ndarray | float) -> np.ndarray:
    """Euclidean distance between unit vectors from their dot product: sqrt(2 - 2 a.b), float64."""
    s = np.asarray(similarity, dtype=np.float64)
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
