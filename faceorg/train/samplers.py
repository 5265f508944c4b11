"""Batch sampling for triplet training: every batch holds several faces of each of several people.

Triplet mining can only find anchor-positive pairs inside a batch, so batches are built person by
person (the shape of pytorch-metric-learning's ``MPerClassSampler``), but with an epoch that shows
every labelled face at least once.

Only numpy is needed here; the sampler yields plain lists of indices into the training arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike


class PersonBatchSampler:
    """Yields batches of ``people_per_batch`` distinct people x ``faces_per_person`` faces each.

    Labels are person numbers; negative labels (unlabelled faces) are never sampled.

    One epoch works like this (all random choices come from ``seed`` and the epoch number, so an
    epoch is reproducible on its own):

    1. each person's faces are shuffled and cut into chunks of ``faces_per_person``; a short last
       chunk is topped up with other faces of the same person (drawn with replacement only when the
       person has fewer faces than ``faces_per_person``);
    2. the chunks of all people, person after person in a shuffled order, are dealt to the batches
       round-robin (chunk ``j`` goes to batch ``j % len(self)``); because no person has more chunks
       than there are batches, no batch receives two chunks of the same person;
    3. batches with fewer than ``people_per_batch`` chunks are filled with random chunks of people
       not yet in them; the batch order is shuffled.

    Guarantee: every labelled face appears in at least one batch of every epoch, and every batch has
    exactly ``people_per_batch`` distinct people with exactly ``faces_per_person`` entries each.
    Epoch length: ``max(ceil(total_chunks / people_per_batch), most_chunks_of_one_person)`` batches.
    ``people_per_batch`` is reduced to the number of labelled people when there are fewer.
    """

    def __init__(self, labels: ArrayLike, people_per_batch: int, faces_per_person: int, *,
                 seed: int) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError("labels must be a 1-D integer array")
        if people_per_batch < 1 or faces_per_person < 1:
            raise ValueError("people_per_batch and faces_per_person must be at least 1")
        labelled = np.flatnonzero(labels >= 0)
        if labelled.size == 0:
            raise ValueError("no labelled faces to sample")
        order = labelled[np.argsort(labels[labelled], kind="stable")]
        _, starts = np.unique(labels[order], return_index=True)
        self._faces_by_person: list[np.ndarray] = np.split(order, starts[1:])
        self.people_per_batch = min(people_per_batch, len(self._faces_by_person))
        self.faces_per_person = faces_per_person
        self.seed = seed
        self._epoch = 0
        chunks = [math.ceil(len(f) / faces_per_person) for f in self._faces_by_person]
        self._n_batches = max(math.ceil(sum(chunks) / self.people_per_batch), max(chunks))

    @property
    def n_people(self) -> int:
        return len(self._faces_by_person)

    @property
    def batch_size(self) -> int:
        return self.people_per_batch * self.faces_per_person

    def __len__(self) -> int:
        """Batches per epoch."""
        return self._n_batches

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration produce epoch ``epoch`` (iteration otherwise counts up from 0)."""
        self._epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.epoch_batches(self._epoch)
        self._epoch += 1
        return iter(batches)

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """All batches of epoch ``epoch`` (a pure function of the seed and ``epoch``)."""
        rng = np.random.default_rng([self.seed, epoch])
        batches: list[list[np.ndarray]] = [[] for _ in range(self._n_batches)]
        people_in: list[set[int]] = [set() for _ in range(self._n_batches)]
        j = 0
        for person in rng.permutation(self.n_people):
            for chunk in self._epoch_chunks(person, rng):
                batches[j % self._n_batches].append(chunk)
                people_in[j % self._n_batches].add(int(person))
                j += 1
        for batch, present in zip(batches, people_in):
            missing = self.people_per_batch - len(batch)
            if missing:
                absent = np.setdiff1d(np.arange(self.n_people), list(present))
                for person in rng.choice(absent, size=missing, replace=False):
                    batch.append(self._random_chunk(person, rng))
        return [np.concatenate(batches[b]).tolist() for b in rng.permutation(self._n_batches)]

    def _epoch_chunks(self, person: int, rng: np.random.Generator) -> list[np.ndarray]:
        """The person's faces, shuffled, cut into full chunks (the last one topped up)."""
        faces = self._faces_by_person[person]
        m = self.faces_per_person
        if len(faces) <= m:
            return [self._random_chunk(person, rng)]
        shuffled = rng.permutation(faces)
        remainder = len(faces) % m
        if remainder:
            rest = shuffled[: len(faces) - remainder]  # enough faces (>= m) to top up without repeats
            shuffled = np.concatenate([shuffled, rng.choice(rest, size=m - remainder, replace=False)])
        return np.split(shuffled, len(shuffled) // m)

    def _random_chunk(self, person: int, rng: np.random.Generator) -> np.ndarray:
        """``faces_per_person`` faces of one person: distinct when it has enough, else all + repeats."""
        faces = self._faces_by_person[person]
        m = self.faces_per_person
        if len(faces) >= m:
            return rng.choice(faces, size=m, replace=False)
        return np.concatenate([rng.permutation(faces), rng.choice(faces, size=m - len(faces))])


class CannotLinkIndex:
    """Looks up user cannot-link pairs (faces known to be different people) for a batch.

    Pairs are indices into the training arrays. A batch may hold the same face more than once
    (people with few faces are sampled with replacement), so a pair maps to every pair of batch
    positions that hold its two faces.
    """

    def __init__(self, pairs: ArrayLike, n_faces: int) -> None:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if pairs.size and (pairs.min() < 0 or pairs.max() >= n_faces):
            raise ValueError("cannot-link pair index out of range")
        if np.any(pairs[:, 0] == pairs[:, 1]):
            raise ValueError("a face cannot be cannot-linked to itself")
        self.pairs = np.unique(np.sort(pairs, axis=1), axis=0)
        self._partners: dict[int, list[int]] = {}
        for i, j in self.pairs.tolist():
            self._partners.setdefault(i, []).append(j)
            self._partners.setdefault(j, []).append(i)

    def __len__(self) -> int:
        return len(self.pairs)

    def partners(self, faces: ArrayLike) -> np.ndarray:
        """Sorted distinct faces cannot-linked to any of ``faces`` (``faces`` themselves included
        when they are partners of each other)."""
        found = {p for f in np.asarray(faces).ravel().tolist() for p in self._partners.get(f, ())}
        return np.array(sorted(found), dtype=np.int64)

    def pairs_in_batch(self, batch: ArrayLike) -> np.ndarray:
        """``[k, 2]`` pairs of batch positions whose faces are cannot-linked (each once, i < j)."""
        positions: dict[int, list[int]] = {}
        for pos, face in enumerate(np.asarray(batch).ravel().tolist()):
            positions.setdefault(face, []).append(pos)
        out = [(min(a, b), max(a, b))
               for i, at in positions.items()
               for j in self._partners.get(i, ()) if i < j and j in positions
               for a in at for b in positions[j]]
        return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)
