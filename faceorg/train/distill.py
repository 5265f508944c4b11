"""Distillation terms that keep the retrained embedder close to the original one.

A user labels a few hundred faces; the other (often tens of thousands of) faces carry no label, and
the clustering built on them should not be thrown around by a few corrections. Two terms:

* :class:`EmbeddingDistillation` (used by the quick trainer): the mean squared Euclidean distance
  between each face's new and original L2-normalised embedding. It pins faces to where the original
  model put them, so distances to faces that were not re-embedded, and thresholds, stay meaningful.
* :class:`RelationalDistillation`: the mean squared difference of pairwise cosine similarities in a
  batch. It preserves the neighbourhood structure only, leaving the embedding free to rotate; for a
  trainer that re-embeds every face afterwards anyway.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class EmbeddingDistillation:
    """``mean_i ||n(new_i) - n(original_i)||^2``, ``n`` = L2 normalisation; zero for no faces."""

    def __call__(self, new: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        if new.shape != original.shape:
            raise ValueError(f"shape mismatch: {tuple(new.shape)} vs {tuple(original.shape)}")
        if new.shape[0] == 0:
            return new.sum() * 0.0
        difference = F.normalize(new, dim=1) - F.normalize(original.detach(), dim=1)
        return difference.pow(2).sum(dim=1).mean()


class RelationalDistillation:
    """``mean_{i != j} (cos(new_i, new_j) - cos(original_i, original_j))^2``; zero below 2 faces."""

    def __call__(self, new: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        if new.shape != original.shape:
            raise ValueError(f"shape mismatch: {tuple(new.shape)} vs {tuple(original.shape)}")
        n = new.shape[0]
        if n < 2:
            return new.sum() * 0.0
        x = F.normalize(new, dim=1)
        y = F.normalize(original.detach(), dim=1)
        off_diagonal = ~torch.eye(n, dtype=torch.bool, device=new.device)
        return (x @ x.T - y @ y.T)[off_diagonal].pow(2).mean()
