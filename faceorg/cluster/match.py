"""Incremental assignment of new faces to named people, and keeping unnamed clusters' ids across re-runs.

``match_to_people`` compares new faces with the people's *confirmed* faces only. A person is represented
either by a few centres (spherical k-means of their confirmed faces: one per ``faces_per_centre`` faces, at
most ``max_centres``, so childhood and adult photos can each have one) or by all their confirmed faces
(nearest face). A face goes to the nearest person when that person is within ``max_distance`` and beats
the runner-up by at least ``margin``; otherwise it stays unassigned (-1), and the caller can show the
distance and runner-up as the reason.

Measured on this project's embeddings of LFW (central face of each photo; 217 people with 8+ photos are
"named" from 3 or 10 random confirmed photos, the other 5,500 people are strangers): at the threshold that
accepts 1% of strangers, centres found 91.7% (3 confirmed) / 96.0% (10) of the named people's other photos,
nearest face only 82.0% / 90.2%; centres are also cheaper, so they are the default. Defaults
``max_distance`` 0.32 and ``margin`` 0.03 (3 confirmed): 94.3% found, 0.05% given to a wrong person, 1.0% of
strangers accepted; at 0.36 a third more strangers per 0.01 - distances on these normalised vectors are
small (same person median 0.31, different people median 0.57).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from faceorg.vectors import l2_normalize, spherical_kmeans

METHODS = ("centres", "nearest_face")


@dataclass(frozen=True)
class PersonIndex:
    """Reference vectors [m, d] (unit norm) with the person label of each; several rows per person allowed."""

    vectors: np.ndarray
    labels: np.ndarray
    method: str

    @property
    def people(self) -> np.ndarray:
        return np.unique(self.labels)


@dataclass(frozen=True)
class PersonMatch:
    """Per query face: assigned person (-1 = none), its distance, the runner-up person (-1 if none) and
    its distance (inf if none)."""

    labels: np.ndarray
    distances: np.ndarray
    runner_up_labels: np.ndarray
    runner_up_distances: np.ndarray


def build_person_index(
    vectors: np.ndarray,
    labels: np.ndarray,
    method: str = "centres",
    max_centres: int = 3,
    faces_per_centre: int = 10,
) -> PersonIndex:
    """Index the confirmed faces ``vectors`` [m, d] of people ``labels`` [m] (>= 0) for matching."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    x = np.asarray(vectors, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    if len(x) != len(y) or (y < 0).any():
        raise ValueError("one person label >= 0 per confirmed face")
    if method == "nearest_face":
        return PersonIndex(vectors=x, labels=y, method=method)
    rows: list[np.ndarray] = []
    owners: list[int] = []
    for person in np.unique(y).tolist():
        faces = x[y == person]
        count = int(np.clip(len(faces) // faces_per_centre, 1, max_centres))
        centres = spherical_kmeans(l2_normalize(faces.astype(np.float64)), count)
        rows.append(centres)
        owners += [person] * len(centres)
    return PersonIndex(vectors=np.vstack(rows).astype(np.float32) if rows else np.empty((0, x.shape[1]), np.float32),
                       labels=np.array(owners, dtype=np.int64), method=method)


def person_distances(vectors: np.ndarray, index: PersonIndex, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query to each person (nearest of the person's reference rows):
    returns (people [p], distances [n, p])."""
    q = np.asarray(vectors, dtype=np.float64)  # float64: distances shown to users stay exact when small
    order = np.argsort(index.labels, kind="stable")
    refs = index.vectors[order].astype(np.float64)
    people, starts = np.unique(index.labels[order], return_index=True)
    ref_sq = np.einsum("ij,ij->i", refs, refs)
    out = np.empty((len(q), len(people)))
    for start in range(0, len(q), block):
        chunk = q[start:start + block]
        # |q - r|^2 = |q|^2 + |r|^2 - 2 q.r, exact for vectors whose norm is not exactly 1
        sq = np.einsum("ij,ij->i", chunk, chunk)[:, None] + ref_sq[None, :] - 2.0 * (chunk @ refs.T)
        best = np.minimum.reduceat(sq, starts, axis=1) if len(starts) else sq[:, :0]
        out[start:start + block] = np.sqrt(np.maximum(best, 0.0))
    return people, out


def match_to_people(
    vectors: np.ndarray, index: PersonIndex, margin: float = 0.03, max_distance: float = 0.32
) -> PersonMatch:
    """Nearest person of each new face, accepted when within ``max_distance`` and at least ``margin`` nearer
    than the runner-up (ties and near-ties stay unassigned)."""
    return match_distances(*person_distances(np.asarray(vectors, dtype=np.float32), index), margin, max_distance)


def match_distances(people: np.ndarray, dist: np.ndarray, margin: float, max_distance: float) -> PersonMatch:
    """:func:`match_to_people`'s rule on distances already computed by :func:`person_distances`."""
    n = len(dist)
    if len(people) == 0:
        none = np.full(n, -1, dtype=np.int64)
        return PersonMatch(none, np.full(n, np.inf), none.copy(), np.full(n, np.inf))
    order = np.argsort(dist, axis=1, kind="stable")[:, :2]
    rows = np.arange(n)
    best_label = people[order[:, 0]]
    best_dist = dist[rows, order[:, 0]]
    if len(people) > 1:
        second_label = people[order[:, 1]]
        second_dist = dist[rows, order[:, 1]]
    else:
        second_label = np.full(n, -1, dtype=np.int64)
        second_dist = np.full(n, np.inf)
    accepted = (best_dist <= max_distance) & (second_dist - best_dist >= margin)
    return PersonMatch(
        labels=np.where(accepted, best_label, -1).astype(np.int64),
        distances=best_dist,
        runner_up_labels=second_label.astype(np.int64),
        runner_up_distances=second_dist,
    )


def carry_over_labels(
    old_labels_by_face: dict[int, int],
    new_clusters: dict[int, list[int]],
    min_jaccard: float = 0.5,
) -> dict[int, int]:
    """Give new clusters the ids of the old (unnamed) clusters they mostly are, so the grid does not reshuffle.

    ``old_labels_by_face``: face id -> old cluster label, for faces that still exist (labels < 0 ignored).
    ``new_clusters``: new cluster id -> its face ids. Pairs are matched greedily by overlap (largest first,
    ties by lower ids), each old label and new cluster at most once, and only when the Jaccard index
    |old & new| / |old | new| reaches ``min_jaccard`` (0.5 means the shared faces are at least half of
    each side). Returns new cluster id -> old label; new clusters missing from it need fresh ids.
    """
    old_sizes = Counter(label for label in old_labels_by_face.values() if label >= 0)
    overlaps: Counter[tuple[int, int]] = Counter()
    new_sizes: dict[int, int] = {}
    for cluster, faces in new_clusters.items():
        unique_faces = set(faces)
        new_sizes[cluster] = len(unique_faces)
        for face in unique_faces:
            old = old_labels_by_face.get(face, -1)
            if old >= 0:
                overlaps[(cluster, old)] += 1
    ranked = sorted(overlaps.items(), key=lambda item: (-item[1], item[0][0], item[0][1]))
    result: dict[int, int] = {}
    used_old: set[int] = set()
    for (cluster, old), shared in ranked:
        if cluster in result or old in used_old:
            continue
        union = new_sizes[cluster] + old_sizes[old] - shared
        if union and shared / union >= min_jaccard:
            result[cluster] = old
            used_old.add(old)
    return result
