"""Groups of poor faces are not people: tiny, blurred, cut-off or half-hidden faces look alike to the
embedder whoever they are, and HDBSCAN gathers them into "junk" groups (on all of LFW one such group held
751 background faces and would have been the first card in People).

A group whose median face quality is far below the library's (``margin`` under the median quality of all
its faces) is left unsorted, unless the user placed one of its faces. The threshold is relative: in a
library of poor photos every group is poor, and its people are still grouped.

Measured on the effort benchmark's libraries after the app's grouping (``benchmarks/poor_groups_check.py``),
margin 0.25: LFW (median quality 0.86) 93 groups, 896 faces, 1 group mostly one person, 3 faces of people
with two or more photos; degraded (0.45) 2 groups, 5 faces, none of a person; family-shaped (0.86) 12 groups,
57 faces, none of a person. Margin 0.2 took 6 groups of one person on LFW; 0.3 left 29 more junk groups.
"""

from __future__ import annotations

import numpy as np

POOR_GROUP_MARGIN = 0.25


def poor_groups(labels: np.ndarray, quality: np.ndarray, held: np.ndarray, margin: float | None = None) -> list[int]:
    """Labels (>= 0) of the groups whose median quality is more than ``margin`` (``POOR_GROUP_MARGIN``; 0: none)
    below the median quality of all faces, among groups with no ``held`` face (bool per face: the user's
    decisions, named people)."""
    margin = POOR_GROUP_MARGIN if margin is None else margin
    labels = np.asarray(labels)
    quality = np.asarray(quality, dtype=np.float64)
    if margin <= 0 or not len(labels):
        return []
    floor = float(np.median(quality)) - margin
    rows = np.flatnonzero(labels >= 0)
    kept = set(np.unique(labels[rows[np.asarray(held, dtype=bool)[rows]]]).tolist())
    order = rows[np.argsort(labels[rows], kind="stable")]  # each group's faces side by side
    by_label, by_quality = labels[order], quality[order]
    starts = np.flatnonzero(np.r_[True, by_label[1:] != by_label[:-1]]) if len(order) else np.array([], np.int64)
    ends = np.r_[starts[1:], len(order)]
    out = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        label = int(by_label[start])
        if end - start >= 2 and label not in kept and float(np.median(by_quality[start:end])) < floor:
            out.append(label)
    return out
