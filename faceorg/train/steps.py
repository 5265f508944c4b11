"""One training step's faces and the update both depths share.

:class:`HeadBatchBuilder` draws person batches (:class:`PersonBatchSampler`), adds their cannot-link
partners and the unlabelled faces of the distillation term; :func:`optimise_step` applies the loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from faceorg.train.losses import TripletLossOutput
from faceorg.train.samplers import CannotLinkIndex, PersonBatchSampler


@dataclass(frozen=True)
class HeadBatch:
    """One training step's faces (row indices into the feature array)."""

    faces: torch.Tensor  # labelled faces from the sampler, then their cannot-link partners
    labels: torch.Tensor  # person labels of ``faces``, -1 for unlabelled partners
    cannot_link: torch.Tensor  # [k, 2] pairs of positions in ``faces``
    unlabelled: torch.Tensor  # faces for the distillation term


class HeadBatchBuilder:
    """Person batches from the sampler, plus their cannot-link partners and unlabelled faces.

    Every labelled training face is sampled each epoch, so every cannot-link pair with a labelled
    training face is seen each epoch (up to ``max_partners`` partners per batch). Pairs of two
    unlabelled faces give no triplet (neither can be an anchor). The distillation faces are drawn
    uniformly (with replacement) from the unlabelled training faces outside any cannot-link pair:
    the user has said that those are in the wrong place, so they are not pinned there.
    """

    def __init__(self, labels: np.ndarray, trainable: np.ndarray, cannot_link: CannotLinkIndex, *,
                 people_per_batch: int, faces_per_person: int, unlabelled_per_batch: int,
                 max_partners: int, seed: int, device: torch.device) -> None:
        self._labels = np.where(trainable, labels, -1)
        self._trainable = trainable
        self._cannot_link = cannot_link
        linked = np.zeros(len(labels), dtype=bool)
        linked[cannot_link.pairs.ravel()] = True
        self._unlabelled = np.flatnonzero(trainable & (labels < 0) & ~linked)
        self._unlabelled_per_batch = unlabelled_per_batch if len(self._unlabelled) else 0
        self._max_partners = max_partners
        self._rng = np.random.default_rng([seed, 3])
        self._device = device
        self.sampler = PersonBatchSampler(self._labels, people_per_batch, faces_per_person, seed=seed)

    def epoch(self) -> Iterator[HeadBatch]:
        for sampled in self.sampler:
            partners = self._cannot_link.partners(sampled)
            partners = partners[self._trainable[partners]]
            if len(partners) > self._max_partners:
                partners = self._rng.choice(partners, size=self._max_partners, replace=False)
            faces = np.concatenate([np.asarray(sampled, dtype=np.int64), partners])
            unlabelled = self._unlabelled[self._rng.integers(len(self._unlabelled),
                                                             size=self._unlabelled_per_batch)]
            yield HeadBatch(
                faces=torch.as_tensor(faces, device=self._device),
                labels=torch.as_tensor(self._labels[faces], device=self._device),
                cannot_link=torch.as_tensor(self._cannot_link.pairs_in_batch(faces),
                                            device=self._device),
                unlabelled=torch.as_tensor(unlabelled, device=self._device))


def optimise_step(optimizer: torch.optim.Optimizer, triplet: TripletLossOutput, distill: torch.Tensor,
                  distill_weight: float) -> np.ndarray:
    """One update on ``triplet loss + distill_weight * distill``; returns the step's statistics
    (loss, triplet loss, distill loss, active triplets, triplets)."""
    loss = triplet.loss + distill_weight * distill
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]  # torch declares Tensor.backward without types
    optimizer.step()
    return np.array([loss.item(), triplet.loss.item(), distill.item(), triplet.n_active,
                     triplet.n_triplets], dtype=np.float64)
