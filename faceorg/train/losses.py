"""The FaceNet triplet loss on squared Euclidean distances of L2-normalised embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from faceorg.train.miners import Triplets


@dataclass(frozen=True)
class TripletLossOutput:
    """The reduced loss (differentiable) and how many triplets it was taken over."""

    loss: torch.Tensor
    n_active: int
    n_triplets: int


class TripletLoss:
    """``max(0, d(a,p) - d(a,n) + margin)`` per triplet, ``d`` the squared Euclidean distance of
    L2-normalised embeddings (normalised here; idempotent).

    Reducer: the mean over ACTIVE triplets (those with a positive loss), as pytorch-metric-learning's
    ``AvgNonZeroReducer``: averaging over all triplets would let the many already-satisfied ones
    shrink the gradient as training succeeds. With no active triplet the loss is a differentiable
    zero. ``n_active`` is reported alongside.
    """

    def __init__(self, margin: float = 0.2) -> None:
        if margin <= 0:
            raise ValueError("margin must be positive")
        self.margin = margin

    def per_triplet(self, embeddings: torch.Tensor, triplets: Triplets) -> torch.Tensor:
        """``[T]`` unreduced losses."""
        x = F.normalize(embeddings, dim=1)
        anchors = x[triplets.anchors]
        d_ap = (anchors - x[triplets.positives]).pow(2).sum(dim=1)
        d_an = (anchors - x[triplets.negatives]).pow(2).sum(dim=1)
        return F.relu(d_ap - d_an + self.margin)

    def __call__(self, embeddings: torch.Tensor, triplets: Triplets) -> TripletLossOutput:
        losses = self.per_triplet(embeddings, triplets)
        active = losses > 0
        n_active = int(active.sum())
        loss = losses[active].sum() / max(n_active, 1)
        return TripletLossOutput(loss=loss, n_active=n_active, n_triplets=int(losses.numel()))
