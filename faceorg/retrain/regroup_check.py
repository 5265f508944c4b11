"""The gate's library check: regroup the user's named faces as the app groups a library, under the
current and the new model, and count what a user would see.

Each fold's held-out named faces (faces of people the fold's model learned from their other faces, and
every face of people it never saw) are grouped by the app's own clustering (:func:`cluster_params` with
the library's settings, each model at its distance scale); the counts over all folds are compared:

- ``right``: faces in a group whose main person is theirs (the group that holds most of that person's
  faces, when the person is in several);
- ``wrong``: faces in a group whose main person is someone else; ``mixed``: groups holding two people;
- ``split``: people spread over two groups or more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from faceorg.cluster.engine import cluster_embeddings
from faceorg.people.clustering import cluster_params
from faceorg.settings import Settings

# Changes smaller than this many faces (per 1,000 checked, at least one face) are not told apart from
# chance: the regrouping of a few hundred faces moves a face or two between any two runs of training.
TOLERANCE_PER_1000 = 5


@dataclass(frozen=True)
class GroupingCounts:
    """What regrouping the checked faces gives (see the module docstring)."""

    faces: int = 0
    right: int = 0
    wrong: int = 0
    mixed: int = 0
    split: int = 0

    def __add__(self, other: GroupingCounts) -> GroupingCounts:
        return GroupingCounts(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))


def grouping_counts(predicted: np.ndarray, labels: np.ndarray) -> GroupingCounts:
    """Count right and wrong faces, mixed groups and split people of one grouping (-1: unsorted)."""
    right = wrong = mixed = 0
    main_group: dict[int, int] = {}
    for person in np.unique(labels):
        groups = Counter(int(g) for g in predicted[labels == person] if g >= 0)
        if groups:
            main_group[int(person)] = groups.most_common(1)[0][0]
    split = sum(1 for person in np.unique(labels)
                if len({int(g) for g in predicted[labels == person] if g >= 0}) >= 2)
    for group in np.unique(predicted[predicted >= 0]):
        members = Counter(int(y) for y in labels[predicted == group])
        owner, count = members.most_common(1)[0]
        mixed += len(members) >= 2
        wrong += sum(members.values()) - count
        right += count if main_group.get(owner) == int(group) else 0
    return GroupingCounts(len(labels), right, wrong, mixed, split)


def regroup(vectors: np.ndarray, labels: np.ndarray, rows: np.ndarray, scale: float,
            settings: Settings | None = None) -> np.ndarray:
    """The app's grouping of ``rows`` at distance ``scale`` (-1: unsorted)."""
    if len(rows) < 2:
        return np.full(len(rows), -1, np.int64)
    params = cluster_params(settings or Settings(), len(rows), scale)
    return np.asarray(cluster_embeddings(vectors[rows], params).labels, np.int64)


def regroup_counts(vectors: np.ndarray, labels: np.ndarray, masks: list[np.ndarray], scale: float,
                   settings: Settings | None = None) -> GroupingCounts:
    """Group each mask's faces on its own (the app's clustering at distance ``scale``) and sum the counts."""
    total = GroupingCounts()
    for mask in masks:
        rows = np.flatnonzero(mask & (labels >= 0))
        total = total + grouping_counts(regroup(vectors, labels, rows, scale, settings), labels[rows])
    return total


def tolerance(faces: int) -> int:
    """How many faces a count may change by before it counts as a change."""
    return max(1, faces * TOLERANCE_PER_1000 // 1000)


def worse(before: GroupingCounts, after: GroupingCounts) -> list[str]:
    """What got worse beyond :func:`tolerance`: any of "right", "wrong", "mixed", "split"."""
    slack = tolerance(before.faces)
    out = []
    if after.right < before.right - slack:
        out.append("right")
    if after.wrong > before.wrong + slack:
        out.append("wrong")
    if after.mixed > before.mixed + max(1, slack // 4):
        out.append("mixed")
    if after.split > before.split + max(1, slack // 4):
        out.append("split")
    return out


def better(before: GroupingCounts, after: GroupingCounts) -> bool:
    """Clearly better on at least one count."""
    slack = tolerance(before.faces)
    return (after.right > before.right + slack or after.wrong < before.wrong - slack
            or after.mixed < before.mixed - max(1, slack // 4) or after.split < before.split - max(1, slack // 4))
