"""Online triplet mining inside a batch, FaceNet style, plus the user's cannot-link pairs.

Rules (``SemiHardTripletMiner``):

* anchors and positives: ALL ordered pairs of distinct batch positions with the same person label
  (labels >= 0); unlabelled faces (label -1) are never anchors or positives, and a cannot-link pair
  is never a positive pair, even when the labels agree (the user's "not this person" wins);
* candidate negatives for an anchor: batch positions with another person label, plus the anchor's
  cannot-link partners (labelled or not); an unlabelled face is a negative only through a
  cannot-link pair, since it may well be the anchor's own person;
* for each anchor-positive pair ONE mined negative: the hardest semi-hard one, i.e. the negative
  with the smallest d(a,n) among those with d(a,p) < d(a,n) < d(a,p) + margin (squared Euclidean
  distances of L2-normalised embeddings). One negative per pair weighs every positive pair equally
  and keeps the triplet count at the number of positive pairs; the hardest semi-hard negative gives
  the largest gradient among those that do not drive training into the collapsed solutions FaceNet
  reports for the hardest negatives. (This is also the choice of TensorFlow's
  ``triplet_semihard_loss``.) Ties go to the lowest batch position;
* fallback when a pair has no semi-hard negative: the easiest hard negative (largest d(a,n) with
  d(a,n) <= d(a,p)), as in FaceNet's implementation. Skipping instead would ignore exactly the
  look-alikes (siblings, twins) a user corrects. ``fallback="skip"`` drops such pairs. Pairs whose
  negatives are all easy (beyond the margin) yield no mined triplet: their loss would be zero;
* cannot-link triplets: for every anchor-positive pair, EVERY cannot-link partner of the anchor in
  the batch is added as a negative, whatever its distance.

The result is the set of distinct triplets, sorted by (anchor, positive, negative).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F


class Triplets(NamedTuple):
    """Index tensors into a batch: ``anchors[k], positives[k], negatives[k]`` form triplet k."""

    anchors: torch.Tensor
    positives: torch.Tensor
    negatives: torch.Tensor

    def __len__(self) -> int:  # the number of triplets, not of fields
        return int(self.anchors.numel())

    def as_set(self) -> set[tuple[int, int, int]]:
        """The triplets as Python tuples (for tests and debugging)."""
        return set(zip(self.anchors.tolist(), self.positives.tolist(), self.negatives.tolist()))


def pairwise_squared_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """``[B, B]`` squared Euclidean distances, clamped at zero against rounding."""
    squared_norms = embeddings.pow(2).sum(dim=1)
    gram = embeddings @ embeddings.T
    return (squared_norms[:, None] + squared_norms[None, :] - 2.0 * gram).clamp_min(0.0)


def cannot_link_matrix(cannot_link: torch.Tensor | None, batch_size: int,
                       device: torch.device) -> torch.Tensor:
    """Symmetric ``[B, B]`` boolean matrix from ``[k, 2]`` pairs of batch positions."""
    matrix = torch.zeros(batch_size, batch_size, dtype=torch.bool, device=device)
    if cannot_link is not None and cannot_link.numel():
        pairs = cannot_link.to(device=device, dtype=torch.long).reshape(-1, 2)
        if bool((pairs[:, 0] == pairs[:, 1]).any()):
            raise ValueError("a face cannot be cannot-linked to itself")
        matrix[pairs[:, 0], pairs[:, 1]] = True
        matrix[pairs[:, 1], pairs[:, 0]] = True
    return matrix


class SemiHardTripletMiner:
    """All anchor-positive pairs, each with its hardest semi-hard negative, plus cannot-link
    negatives (see the module docstring for the exact rules)."""

    def __init__(self, margin: float = 0.2,
                 fallback: Literal["easiest_hard", "skip"] = "easiest_hard") -> None:
        if margin <= 0:
            raise ValueError("margin must be positive")
        if fallback not in ("easiest_hard", "skip"):
            raise ValueError(f"unknown fallback {fallback!r}")
        self.margin = margin
        self.fallback = fallback

    @torch.no_grad()
    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor,
                 cannot_link: torch.Tensor | None = None) -> Triplets:
        """Mine triplets from ``embeddings [B, d]`` (normalised here; idempotent), ``labels [B]``
        (-1 = unlabelled) and ``cannot_link [k, 2]`` pairs of batch positions."""
        batch_size = embeddings.shape[0]
        device = embeddings.device
        labels = labels.to(device=device, dtype=torch.long)
        distances = pairwise_squared_distances(F.normalize(embeddings.detach(), dim=1))
        cannot = cannot_link_matrix(cannot_link, batch_size, device)
        labelled = labels >= 0
        both_labelled = labelled[:, None] & labelled[None, :]
        same_person = both_labelled & (labels[:, None] == labels[None, :])
        not_self = ~torch.eye(batch_size, dtype=torch.bool, device=device)
        positive_pair = same_person & not_self & ~cannot
        negative = (both_labelled & ~same_person) | (cannot & labelled[:, None])

        anchors, positives = positive_pair.nonzero(as_tuple=True)
        mined = self._mine_negatives(distances, negative, anchors, positives)
        pair_of_link, linked = cannot[anchors].nonzero(as_tuple=True)
        linked_triplets = torch.stack([anchors[pair_of_link], positives[pair_of_link], linked], dim=1)
        triplets = torch.unique(torch.cat([mined, linked_triplets]), dim=0)
        return Triplets(triplets[:, 0], triplets[:, 1], triplets[:, 2])

    def _mine_negatives(self, distances: torch.Tensor, negative: torch.Tensor,
                        anchors: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
        """``[m, 3]`` triplets: one mined negative per anchor-positive pair that has one."""
        d_ap = distances[anchors, positives][:, None]
        d_an = distances[anchors]
        candidate = negative[anchors]
        semi_hard = candidate & (d_an > d_ap) & (d_an < d_ap + self.margin)
        hard = candidate & (d_an <= d_ap)
        hardest_semi_hard = torch.where(semi_hard, d_an, torch.inf).argmin(dim=1)
        easiest_hard = torch.where(hard, d_an, -torch.inf).argmax(dim=1)
        has_semi_hard = semi_hard.any(dim=1)
        chosen = torch.where(has_semi_hard, hardest_semi_hard, easiest_hard)
        keep = has_semi_hard
        if self.fallback == "easiest_hard":
            keep = keep | hard.any(dim=1)
        return torch.stack([anchors[keep], positives[keep], chosen[keep]], dim=1)
