"""Held-out faces for early stopping, and how a model does on them (both depths use this).

Held-out faces: by default a stratified share of every person's labelled faces (:func:`split_holdout`);
they are not trained on. :class:`HeldOutEvaluator` scores a head weight on them at a fixed false-accept
rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def split_holdout(labels: np.ndarray, cannot_link: np.ndarray, fraction: float, *, seed: int,
                  max_faces: int = 1000) -> np.ndarray:
    """Boolean mask of labelled faces held out for early stopping.

    From every person with at least 3 labelled faces, ``round(fraction * n)`` faces are held out (at
    least 1, leaving at least 2 to train on), never a face that is in a cannot-link pair (those are
    kept for training). At most ``max_faces`` are held out in all (a random subset).
    """
    rng = np.random.default_rng([seed, 1])
    linked = np.zeros(len(labels), dtype=bool)
    linked[np.asarray(cannot_link, dtype=np.int64).ravel()] = True
    held: list[np.ndarray] = []
    for person in np.unique(labels[labels >= 0]):
        faces = np.flatnonzero(labels == person)
        eligible = faces[~linked[faces]]
        count = min(max(1, round(fraction * len(faces))), len(faces) - 2, len(eligible))
        if len(faces) >= 3 and count > 0 and fraction > 0:
            held.append(rng.choice(eligible, size=count, replace=False))
    chosen = np.concatenate(held) if held else np.zeros(0, dtype=np.int64)
    if len(chosen) > max_faces:
        chosen = rng.choice(chosen, size=max_faces, replace=False)
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return mask


@dataclass(frozen=True)
class HeldOutMetrics:
    """Verification and identification of held-out faces (cosine similarity of embeddings).

    Pairs: each held-out face against the reference faces (labelled training faces) and the other
    held-out faces. ``threshold`` is set on the different-person pairs so that at most
    ``false_accept_rate`` of them score above it; ``verification_rate`` is the share of
    same-person pairs scoring above it, computed per person and then averaged over people, so one
    person with thousands of faces does not drown the rest. ``rank1_accuracy``: share of held-out
    faces whose nearest reference face is the same person, also averaged over people.
    """

    verification_rate: float
    false_accept_rate: float
    threshold: float
    rank1_accuracy: float
    n_faces: int
    n_people: int
    n_genuine_pairs: int
    n_impostor_pairs: int


class HeldOutEvaluator:
    """Scores a head weight on held-out faces; the pairs are fixed once so rounds compare fairly.

    At most ``max_reference`` reference faces (a fixed random subset) keep one evaluation to a
    matrix of ``held-out x (reference + held-out)`` similarities.
    """

    def __init__(self, features: torch.Tensor, labels: np.ndarray, holdout: np.ndarray,
                 target_far: float, *, seed: int, max_reference: int = 4000) -> None:
        if not 0.0 < target_far < 1.0:
            raise ValueError("target_far must be between 0 and 1")
        rng = np.random.default_rng([seed, 2])
        held = np.flatnonzero(holdout)
        reference = np.flatnonzero((labels >= 0) & ~holdout)
        if len(reference) > max_reference:
            reference = np.sort(rng.choice(reference, size=max_reference, replace=False))
        columns = np.concatenate([reference, held])
        device = features.device
        self._features = features
        self._held = torch.as_tensor(held, device=device)
        self._columns = torch.as_tensor(columns, device=device)
        self.target_far = target_far
        n_ref = len(reference)
        # A held-out pair (h, h') counts once: only in the column of the later held-out face.
        later = np.arange(len(columns))[None, :] - n_ref > np.arange(len(held))[:, None]
        valid = np.concatenate([np.ones((len(held), n_ref), dtype=bool), later[:, n_ref:]], axis=1)
        same = labels[held][:, None] == labels[columns][None, :]
        people, row_person = np.unique(labels[held], return_inverse=True)
        self._row_person = torch.as_tensor(row_person, device=device)
        self._n_people = len(people)
        self._genuine = torch.as_tensor(valid & same, device=device)
        self._impostor = torch.as_tensor(valid & ~same, device=device)
        self._reference_match = torch.as_tensor(same[:, :n_ref], device=device)
        self._genuine_per_person = self._per_person(self._genuine.sum(dim=1).double())
        self.n_reference = n_ref
        self.n_genuine = int(self._genuine.sum())
        self.n_impostor = int(self._impostor.sum())

    @property
    def usable(self) -> bool:
        """Whether there are enough pairs to measure anything."""
        return self.n_genuine > 0 and self.n_impostor > 0 and self.n_reference > 0

    def _per_person(self, per_row: torch.Tensor) -> torch.Tensor:
        totals = torch.zeros(self._n_people, dtype=per_row.dtype, device=per_row.device)
        return totals.index_add_(0, self._row_person, per_row)

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor) -> HeldOutMetrics:
        held = F.normalize(self._features[self._held] @ weight.T, dim=1)
        columns = F.normalize(self._features[self._columns] @ weight.T, dim=1)
        similarity = held @ columns.T
        impostor = similarity[self._impostor]
        k = math.floor(self.target_far * impostor.numel())
        threshold = torch.topk(impostor, k + 1).values[-1]
        accepted = ((similarity > threshold) & self._genuine).sum(dim=1).double()
        has_pairs = self._genuine_per_person > 0
        tar = (self._per_person(accepted)[has_pairs] / self._genuine_per_person[has_pairs]).mean()
        nearest = similarity[:, : self.n_reference].argmax(dim=1)
        hits = self._reference_match.gather(1, nearest[:, None])[:, 0].double()
        faces = self._per_person(torch.ones_like(hits))
        rank1 = (self._per_person(hits) / faces).mean()
        return HeldOutMetrics(
            verification_rate=float(tar), false_accept_rate=self.target_far,
            threshold=float(threshold), rank1_accuracy=float(rank1), n_faces=len(self._held),
            n_people=self._n_people, n_genuine_pairs=self.n_genuine,
            n_impostor_pairs=self.n_impostor)
