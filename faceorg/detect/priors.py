"""RetinaFace anchor priors and the decoding of box and landmark offsets against them.

Conventions of the biubug6 RetinaFace recipe (checked against the model's output sizes): three feature
maps with strides 8, 16 and 32, of ``ceil(side / stride)`` cells; two square anchors per cell
(16 and 32 px, 64 and 128 px, 256 and 512 px); anchors ordered by feature map, then row, then column,
then size; centre offsets scaled by variance 0.1, log size offsets by 0.2. Everything here works in
pixels of the network input.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

MIN_SIZES: tuple[tuple[int, ...], ...] = ((16, 32), (64, 128), (256, 512))
STEPS: tuple[int, ...] = (8, 16, 32)
VARIANCES: tuple[float, float] = (0.1, 0.2)


def prior_count(height: int, width: int) -> int:
    """How many anchors the network produces for an input of ``height`` x ``width``."""
    return sum(
        math.ceil(height / step) * math.ceil(width / step) * len(sizes)
        for step, sizes in zip(STEPS, MIN_SIZES)
    )


@lru_cache(maxsize=16)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """Anchors for an input of ``height`` x ``width``: float32 (N, 4) as centre x, centre y, w, h in pixels.

    The array is cached and read-only.
    """
    blocks = []
    for step, sizes in zip(STEPS, MIN_SIZES):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * step  # (cells, 2), row-major
        centres = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array(sizes, dtype=np.float64), rows * cols)[:, None].repeat(2, axis=1)
        blocks.append(np.hstack([centres, wh]))
    priors = np.concatenate(blocks).astype(np.float32)
    priors.setflags(write=False)
    return priors


def decode_boxes(loc: np.ndarray, priors: np.ndarray,
                 variances: tuple[float, float] = VARIANCES) -> np.ndarray:
    """Turn (N, 4) offsets into (N, 4) boxes as x1, y1, x2, y2 in the priors' pixels."""
    centres = priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[:, 2:] * variances[1])
    return np.hstack([centres - sizes / 2, centres + sizes / 2])


def decode_landmarks(offsets: np.ndarray, priors: np.ndarray,
                     variances: tuple[float, float] = VARIANCES) -> np.ndarray:
    """Turn (N, 10) landmark offsets into (N, 5, 2) points (x, y) in the priors' pixels."""
    points = offsets.reshape(-1, 5, 2)
    return priors[:, None, :2] + points * variances[0] * priors[:, None, 2:]
