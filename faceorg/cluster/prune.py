"""A precision pass after grouping: faces that fit their group poorly are left unsorted.

HDBSCAN and the pair rule put a few faces in a group they do not belong to: a stranger at the edge of a
dense group, one of two look-alikes, a face chained in through a neighbour. Such a face is usually far from
its group's nearest faces, or nearer to another group than to its own. The pass runs before the recall pass
(``recall_pass.py``), which may then give a freed face the group it clearly belongs to. From the k-NN graph
(no further search), per grouped face:

- ``own``: the mean distance to its ``nearest`` closest faces of its own group (fewer for smaller groups);
- ``other``: the same for the best other group among its neighbours.

A face whose ``own`` exceeds ``distance``, or whose ``other`` is below ``ratio`` times its ``own``, is left
unsorted; a group left with a single face is dissolved. Faces of its own group that the graph does not
show count as the row's farthest neighbour, a lower bound, so ``own`` is never overstated and the pass
errs towards keeping faces. Fixed faces (the user's decisions) are never touched. Measured on LFW and how
the thresholds were chosen: ``params.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceorg.cluster.knn import KnnGraph
from faceorg.cluster.recall_pass import group_scores


@dataclass
class PruneReport:
    """What the pass did: faces left unsorted for fitting their group poorly, groups dissolved."""

    faces_unsorted: int = 0
    groups_dissolved: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"faces_unsorted": self.faces_unsorted, "groups_dissolved": self.groups_dissolved}


BLOCK = 65536  # graph rows scored at once


def _row_scores(labels: np.ndarray, graph: KnnGraph, nearest: int, size: np.ndarray,
                rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(own, other) scores of the faces ``rows`` (all grouped), from their graph rows (ascending)."""
    idx, dist = graph.indices[rows], graph.distances[rows]
    valid = idx >= 0
    who = np.where(valid, labels[np.maximum(idx, 0)], -1)
    ceiling = np.where(valid, dist, -np.inf).max(axis=1)
    mine = labels[rows]
    want = np.minimum(nearest, size[mine] - 1)
    is_own = (who == mine[:, None]) & valid
    rank = np.cumsum(is_own, axis=1)
    take = is_own & (rank <= want[:, None])
    got = take.sum(axis=1)
    total = np.where(take, dist, 0.0).sum(axis=1) + (want - got) * ceiling
    own = np.divide(total, want, out=np.zeros(len(rows)), where=want > 0)
    # Other groups: own-group and unsorted neighbours become one dummy group that never scores.
    dummy = len(size)
    others = np.where((who >= 0) & ~is_own, who, dummy)
    far = np.where(others == dummy, np.inf, dist)
    sizes = np.append(size, nearest)
    best, best_score, _ = group_scores(far, others, sizes, nearest, ceiling)
    other = np.where(best == dummy, np.inf, best_score)
    return own, other


def prune_groups(labels: np.ndarray, strengths: np.ndarray, graph: KnnGraph, *, distance: float, ratio: float,
                 nearest: int = 3, fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, PruneReport]:
    """Leave unsorted the grouped faces that fit their group poorly (see the module's docstring).

    ``distance`` 0 turns the distance rule off, ``ratio`` 0 the other-group rule. Returns new labels,
    strengths (0 for faces left unsorted) and a report."""
    out, out_strength, report = labels.copy(), strengths.astype(np.float64).copy(), PruneReport()
    if (distance <= 0 and ratio <= 0) or not len(labels) or graph.k == 0:
        return out, out_strength, report
    movable = labels >= 0
    if fixed is not None:
        movable &= np.asarray(fixed) < 0
    rows = np.flatnonzero(movable)
    if not len(rows):
        return out, out_strength, report
    size = np.bincount(labels[labels >= 0])
    own = np.empty(len(rows))
    other = np.empty(len(rows))
    for at in range(0, len(rows), BLOCK):
        own[at:at + BLOCK], other[at:at + BLOCK] = _row_scores(labels, graph, nearest, size, rows[at:at + BLOCK])
    poor = np.zeros(len(rows), bool)
    if distance > 0:
        poor |= own > distance
    if ratio > 0:
        poor |= other < ratio * own
    gone = rows[poor]
    out[gone] = -1
    out_strength[gone] = 0.0
    report.faces_unsorted = int(len(gone))
    left = np.bincount(out[out >= 0], minlength=len(size))
    lonely = (out >= 0) & (left[np.maximum(out, 0)] == 1) & (size[np.maximum(out, 0)] > 1)
    if fixed is not None:
        lonely &= np.asarray(fixed) < 0
    report.groups_dissolved = int(np.count_nonzero(lonely))
    out[lonely] = -1
    out_strength[lonely] = 0.0
    return out, out_strength, report
