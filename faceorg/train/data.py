"""The training set as plain data: what the library layer hands to the trainers.

No database and no torch here: the library fills a :class:`TrainingSet` from its tables, the
trainers read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

UNLABELLED = -1

ChipLoader = Callable[[np.ndarray], np.ndarray]
"""Loads aligned face chips: row indices into the training set -> float32 ``[k, 3, 150, 150]``
RGB 0..255 (the embedder's input)."""


@dataclass
class TrainingSet:
    """Faces to train on, row ``i`` describing one face.

    ``labels[i]`` is a person number ``0..n_people-1`` (``person_ids[label]`` is that person's
    database id) or ``UNLABELLED``. ``cannot_link`` holds pairs of row indices known to be different
    people (a "not this person" answer, two faces of one photo), whether or not they are labelled; a
    cannot-link pair overrides equal labels. ``features`` are the embedder's 256-d pooled features
    under the current model (what the quick head trains on); ``load_chips`` is needed only by a
    full-depth trainer.
    """

    face_ids: np.ndarray
    labels: np.ndarray
    person_ids: np.ndarray
    cannot_link: np.ndarray
    features: np.ndarray | None = None
    load_chips: ChipLoader | None = None

    def __post_init__(self) -> None:
        self.face_ids = np.asarray(self.face_ids, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.person_ids = np.asarray(self.person_ids, dtype=np.int64)
        self.cannot_link = np.asarray(self.cannot_link, dtype=np.int64).reshape(-1, 2)
        n = len(self.face_ids)
        if self.face_ids.ndim != 1 or self.labels.shape != (n,):
            raise ValueError("face_ids and labels must be 1-D arrays of the same length")
        if np.any((self.labels < UNLABELLED) | (self.labels >= len(self.person_ids))):
            raise ValueError("labels must be -1 or an index into person_ids")
        if self.cannot_link.size and (self.cannot_link.min() < 0 or self.cannot_link.max() >= n):
            raise ValueError("cannot_link pairs must index rows of the training set")
        if np.any(self.cannot_link[:, 0] == self.cannot_link[:, 1]):
            raise ValueError("a face cannot be cannot-linked to itself")
        if self.features is not None:
            self.features = np.asarray(self.features, dtype=np.float32)
            if self.features.ndim != 2 or self.features.shape[0] != n:
                raise ValueError("features must be [n_faces, dim]")

    def __len__(self) -> int:
        return len(self.face_ids)

    @property
    def n_people(self) -> int:
        return len(self.person_ids)

    @property
    def n_labelled(self) -> int:
        return int(np.count_nonzero(self.labels >= 0))

    def cannot_link_pairs(self) -> list[tuple[int, int]]:
        """The cannot-link pairs as a list of index tuples (the form ``train_head`` takes)."""
        return [(int(i), int(j)) for i, j in self.cannot_link]
