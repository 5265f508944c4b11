"""Weight-space interpolation between the model a fine-tuning started from and its result.

Shipping ``start + fraction * (tuned - start)`` instead of ``tuned`` keeps most of what fine-tuning
gained on the user's people while staying closer to the original model on everyone else (weight-space
ensembling, as in Wortsman et al., "Robust fine-tuning of zero-shot models", 2022).
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn

Model = TypeVar("Model", bound=nn.Module)


def interpolate_weights(start: Model, tuned: Model, fraction: float) -> Model:
    """A copy of ``tuned`` whose floating-point tensors lie ``fraction`` of the way from ``start``'s to
    ``tuned``'s (0: ``start``'s weights, 1: ``tuned``'s); other tensors are ``tuned``'s. Inputs unchanged."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], not {fraction}")
    a, b = start.state_dict(), tuned.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError("the two models do not have the same tensors")
    mixed = {k: torch.lerp(a[k].to(b[k].device, b[k].dtype), b[k], fraction) if b[k].is_floating_point() else b[k]
             for k in b}
    out = copy.deepcopy(tuned)
    out.load_state_dict(mixed)
    return out
