"""How retraining holds faces out: k-fold splits over people and over each person's faces.

A :class:`GateFold` holds out a share of every person's labelled faces (``known``: people the model
learns from their other faces) and every face of a share of the people (``unseen``: people the model
never sees). Unlabelled faces are in no fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

TrainAndEmbed = Callable[[np.ndarray], np.ndarray]
"""``train_and_embed(train_mask [n]) -> embeddings [n, d]``: train without the faces outside the mask,
embed every face with the result."""

MIN_PEOPLE_FOR_UNSEEN = 4  # fewer people: no one is held out whole (each fold needs two known people)


def kfold_people(labels: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """``k`` boolean masks over the faces, each holding all faces of about 1/k of the labelled people;
    folds are balanced by face count (people in a seeded random order, each to the fold with the
    fewest faces so far, the larger people first). Unlabelled faces are in no fold."""
    labels = np.asarray(labels)
    people, counts = np.unique(labels[labels >= 0], return_counts=True)
    if not 2 <= k <= len(people):
        raise ValueError(f"k must be between 2 and the number of labelled people ({len(people)})")
    rng = np.random.default_rng([seed, 21])
    order = rng.permutation(len(people))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes = np.zeros(k, dtype=np.int64)
    fold_of = {}
    for i in order:
        fold = int(np.argmin(sizes))
        fold_of[int(people[i])] = fold
        sizes[fold] += counts[i]
    assigned = np.array([fold_of.get(int(label), -1) for label in labels])
    return [assigned == f for f in range(k)]


def kfold_embeddings(folds: Sequence[np.ndarray], train_and_embed: TrainAndEmbed) -> np.ndarray:
    """Out-of-fold embeddings: for each fold, train without its faces (``train_and_embed(~fold)``)
    and keep that model's embeddings of the fold's faces; rows in no fold are left at zero. The cost
    is ``len(folds)`` trainings: the caller decides."""
    out: np.ndarray | None = None
    for fold in folds:
        fold = np.asarray(fold, dtype=bool)
        embeddings = np.asarray(train_and_embed(~fold), dtype=np.float32)
        if out is None:
            out = np.zeros_like(embeddings)
        out[fold] = embeddings[fold]
    if out is None:
        raise ValueError("no folds")
    return out


@dataclass(frozen=True)
class GateFold:
    """What one fold holds out: faces of people the model learns (``known``), people it never sees."""

    known: np.ndarray
    unseen: np.ndarray

    @property
    def held_out(self) -> np.ndarray:
        return self.known | self.unseen


def kfold_faces(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """``k`` masks splitting every person's labelled faces evenly (seeded), unlabelled faces in none."""
    rng = np.random.default_rng([seed, 7])
    fold_of = np.full(len(labels), -1)
    for person in np.unique(labels[labels >= 0]):
        rows = rng.permutation(np.flatnonzero(labels == person))
        fold_of[rows] = (np.arange(len(rows)) + int(rng.integers(k))) % k
    return [fold_of == f for f in range(k)]


def gate_folds(labels: np.ndarray, k: int, seed: int) -> list[GateFold]:
    """``k`` folds over the labelled faces; with few people only faces are held out, not whole people."""
    n_people = len(np.unique(labels[labels >= 0]))
    faces = kfold_faces(labels, k, seed)
    if n_people < MIN_PEOPLE_FOR_UNSEEN:
        return [GateFold(known=f, unseen=np.zeros_like(f)) for f in faces]
    people = kfold_people(labels, min(k, n_people), seed)
    return [GateFold(known=faces[i] & ~people[i], unseen=people[i]) for i in range(len(people))]


def without(labels: np.ndarray, fold: GateFold) -> np.ndarray:
    """The labels a fold's model may learn from."""
    out = labels.copy()
    out[fold.held_out] = -1
    return out
