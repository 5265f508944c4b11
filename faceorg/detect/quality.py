"""Face quality: how usable a detected face is for recognition (sorting poor faces last, keeping them
out of training).

``face_quality`` is the geometric mean of three factors, each in 0..1::

    size      = clip((sqrt(w * h) - SIZE_MIN) / (SIZE_FULL - SIZE_MIN), 0, 1)
    detector  = clip((score - SCORE_MIN) / (1 - SCORE_MIN), 0, 1)
    sharpness = s / (s + SHARPNESS_HALF)          (s: Laplacian variance of the grey 150 px chip)
    quality   = (size * detector * sharpness) ** (1 / 3)

A face is only as good as its worst factor: any factor at 0 gives 0.
"""

from __future__ import annotations

import numpy as np

SIZE_MIN = 16.0  # face size (px, geometric mean of the box sides) that counts as no detail at all
SIZE_FULL = 100.0  # from here on the 150 px chip is about as detailed as it gets
SCORE_MIN = 0.5  # detector score that counts as no confidence
SHARPNESS_HALF = 30.0  # Laplacian variance at which the sharpness factor is 0.5 (see below)
# Measured on aligned 150 px chips (Laplacian of 0..255 grey): LFW faces 23 / 58 / 141 (5th percentile /
# median / 95th), the same chips blurred (Gaussian, radius 2) 3 / 5 / 8; faces of the annotated VOC
# photos (mostly 30-40 px, upscaled) 7 / 21 / 333. Resulting quality: LFW 0.76 / 0.87 / 0.94, blurred
# LFW about 0.52, VOC faces 0.33 / 0.51 / 0.91.
TRAINING_MIN_QUALITY = 0.6  # suggested cut: faces below this are kept out of embedder training

_LUMA = np.array([0.299, 0.587, 0.114])


def to_grey(chip: np.ndarray) -> np.ndarray:
    """An RGB (H, W, 3) or grey (H, W) image as float64 grey 0..255 (ITU-R 601 luma)."""
    chip = np.asarray(chip, dtype=np.float64)
    return chip @ _LUMA if chip.ndim == 3 else chip


def sharpness(chip: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the grey chip (higher is sharper; 0 for a flat chip)."""
    grey = to_grey(chip)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    laplacian = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
                 - 4.0 * grey[1:-1, 1:-1])
    return float(laplacian.var())


def face_quality(box_w: float, box_h: float, score: float, sharpness: float) -> float:
    """Quality in 0..1 from the box size (px), the detector score and the chip's ``sharpness`` (module doc)."""
    size = float(np.sqrt(max(box_w, 0.0) * max(box_h, 0.0)))
    size_factor = np.clip((size - SIZE_MIN) / (SIZE_FULL - SIZE_MIN), 0.0, 1.0)
    score_factor = np.clip((score - SCORE_MIN) / (1.0 - SCORE_MIN), 0.0, 1.0)
    sharp = max(sharpness, 0.0)
    sharp_factor = sharp / (sharp + SHARPNESS_HALF)
    return float((size_factor * score_factor * sharp_factor) ** (1.0 / 3.0))
