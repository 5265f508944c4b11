"""Light, seeded augmentation of aligned face chips, in torch on a whole batch.

The chips are already aligned, so only small changes keep them plausible: a horizontal flip, a shift,
scale and rotation of a few pixels/degrees, brightness and contrast jitter, occasional grayscale and
occasional loss of resolution (a downscale and back up: the blur of a small or heavily compressed
face). Every random choice comes from the ``torch.Generator`` passed in, so a batch is reproducible.

Input and output: float32 ``[N, 3, H, W]`` RGB 0..255 (the embedder's input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma
LOW_RES_STEPS = 6  # distinct reduced sizes between low_res_min and low_res_max (batched per size)


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and magnitudes (each drawn uniformly within +-the value per chip)."""

    flip_p: float = 0.5
    shift_px: float = 3.0
    scale: float = 0.05  # relative
    rotate_deg: float = 5.0
    brightness: float = 0.2  # relative gain
    contrast: float = 0.2  # relative, around each chip's mean grey
    gray_p: float = 0.2
    low_res_p: float = 0.3
    low_res_min: int = 32  # side in pixels the chip is reduced to, at the strongest
    low_res_max: int = 100


def _uniform(n: int, half_width: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * 2.0 - 1.0) * half_width


def _chance(n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) < p


def flip(chips: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Mirror the chips where ``which`` (bool ``[N]``) is true."""
    index = torch.nonzero(which).flatten().to(chips.device)
    out = chips.clone()
    out[index] = chips[index].flip(3)
    return out


def similarity_warp(chips: torch.Tensor, shift_px: torch.Tensor, scale: torch.Tensor,
                    angle_rad: torch.Tensor) -> torch.Tensor:
    """Shift (``[N, 2]`` pixels x, y), scale (``[N]``, >1 enlarges) and rotate (``[N]``) each chip about its
    centre; edges repeat the border pixels."""
    n, _, h, w = chips.shape
    cos, sin = torch.cos(angle_rad) / scale, torch.sin(angle_rad) / scale
    # affine_grid maps output to input in [-1, 1] coordinates: the inverse of the wanted transform.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
    theta[:, 0, 2] = -2.0 * shift_px[:, 0] / w
    theta[:, 1, 2] = -2.0 * shift_px[:, 1] / h
    grid = F.affine_grid(theta.to(chips.device, chips.dtype), list(chips.shape), align_corners=False)
    return F.grid_sample(chips, grid, mode="bilinear", padding_mode="border", align_corners=False)


def photometric(chips: torch.Tensor, gain: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """``(x - m) * contrast + m``, then ``* gain``; ``m`` is each chip's mean grey. Clipped to 0..255."""
    mean = chips.mean(dim=(1, 2, 3), keepdim=True)
    contrast = contrast.to(chips.device, chips.dtype).view(-1, 1, 1, 1)
    gain = gain.to(chips.device, chips.dtype).view(-1, 1, 1, 1)
    return (((chips - mean) * contrast + mean) * gain).clamp(0.0, 255.0)


def grayscale(chips: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Replace the chips where ``which`` is true by their luma in all three channels."""
    index = torch.nonzero(which).flatten().to(chips.device)
    weights = torch.tensor(GRAY_WEIGHTS, device=chips.device, dtype=chips.dtype).view(1, 3, 1, 1)
    out = chips.clone()
    out[index] = (chips[index] * weights).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    return out


def low_resolution(chips: torch.Tensor, sides: torch.Tensor) -> torch.Tensor:
    """Reduce chip ``i`` to ``sides[i]`` pixels (area-averaged) and enlarge it back (bilinear);
    a side of 0 (or at least the chip's own) leaves the chip alone. Chips sharing a side go together."""
    out = chips.clone()
    h, w = chips.shape[2:]
    sides = sides.to(chips.device)
    for side in torch.unique(sides[(sides > 0) & (sides < min(h, w))]).tolist():
        index = torch.nonzero(sides == side).flatten()
        small = F.interpolate(chips[index], size=(side, side), mode="area")
        out[index] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return out


class Augmenter:
    """Applies :class:`AugmentConfig`'s changes to a batch, all chips independently."""

    def __init__(self, config: AugmentConfig | None = None) -> None:
        self.config = config or AugmentConfig()

    def __call__(self, chips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augmented copies of ``chips`` (float ``[N, 3, H, W]``, 0..255); ``generator`` on the CPU."""
        c = self.config
        n = chips.shape[0]
        x = flip(chips, _chance(n, c.flip_p, generator))
        shifts = torch.stack([_uniform(n, c.shift_px, generator), _uniform(n, c.shift_px, generator)], 1)
        scales = 1.0 + _uniform(n, c.scale, generator)
        angles = _uniform(n, math.radians(c.rotate_deg), generator)
        x = similarity_warp(x, shifts, scales, angles)
        gains = 1.0 + _uniform(n, c.brightness, generator)
        x = photometric(x, gains, 1.0 + _uniform(n, c.contrast, generator))
        x = grayscale(x, _chance(n, c.gray_p, generator))
        steps = torch.randint(LOW_RES_STEPS, (n,), generator=generator).double() / (LOW_RES_STEPS - 1)
        sides = (c.low_res_min + steps * (c.low_res_max - c.low_res_min)).round().long()
        sides = torch.where(_chance(n, c.low_res_p, generator), sides, torch.zeros_like(sides))
        return low_resolution(x, sides)
