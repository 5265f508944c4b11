"""Face quality: how usable a detected face is for recognition (sorting poor faces last, choosing a
group's cover, keeping poor faces out of training).

``face_quality`` is the geometric mean of three factors, each in 0..1, times the share of the face that
the photo shows::

    size      = clip((sqrt(w * h) - SIZE_MIN) / (SIZE_FULL - SIZE_MIN), 0, 1)
    detector  = clip((score - SCORE_MIN) / (1 - SCORE_MIN), 0, 1)
    sharpness = s / (s + SHARPNESS_HALF)          (s: Laplacian variance of the grey 150 px chip)
    visible   = share of the chip's face area (FACE_AREA) inside the photo
    quality   = (size * detector * sharpness) ** (1 / 3) * visible

A face is only as good as its worst factor: any factor at 0 gives 0. A face cut by the photo's edge has
a chip partly filled with black; the sharp edge of that fill is not detail, so the sharpness is measured
on the chip's pixels from inside the photo only (``inside``), and the missing part lowers ``visible``.
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
# The face itself on the 150 px chip (x0, y0, x1, y1): the five template points' box widened by 40% of the
# eye distance (forehead to chin, cheek to cheek); the chip's corners beyond it are background.
FACE_AREA = (24, 22, 124, 125)
TRAINING_MIN_QUALITY = 0.6  # suggested cut: faces below this are kept out of embedder training

_LUMA = np.array([0.299, 0.587, 0.114])


def to_grey(chip: np.ndarray) -> np.ndarray:
    """An RGB (H, W, 3) or grey (H, W) image as float64 grey 0..255 (ITU-R 601 luma)."""
    chip = np.asarray(chip, dtype=np.float64)
    return chip @ _LUMA if chip.ndim == 3 else chip


def sharpness(chip: np.ndarray, inside: np.ndarray | None = None) -> float:
    """Variance of the 4-neighbour Laplacian of the grey chip (higher is sharper; 0 for a flat chip).

    ``inside`` (bool, the chip's shape; see :func:`faceorg.detect.align.chip_inside`): only the pixels
    from inside the photo count, at least three pixels away from its edge (bicubic sampling blends the
    black fill up to two pixels in, and the Laplacian reaches one more)."""
    grey = to_grey(chip)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    laplacian = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
                 - 4.0 * grey[1:-1, 1:-1])
    if inside is None or bool(inside.all()):
        return float(laplacian.var())
    keep = _eroded(np.asarray(inside, dtype=bool), 3)[1:-1, 1:-1]
    return float(laplacian[keep].var()) if keep.sum() >= 2 else 0.0


def _eroded(mask: np.ndarray, steps: int) -> np.ndarray:
    """``mask`` shrunk by ``steps`` pixels (4-neighbourhood; beyond the array counts as outside)."""
    out = mask.copy()
    for _ in range(steps):
        grown = np.zeros_like(out)
        grown[1:-1, 1:-1] = (out[1:-1, 1:-1] & out[:-2, 1:-1] & out[2:, 1:-1] & out[1:-1, :-2] & out[1:-1, 2:])
        out = grown
    return out


def visible_share(inside: np.ndarray) -> float:
    """The share of the chip's face area (``FACE_AREA``, scaled to the chip's size) that comes from inside
    the photo, given the chip's ``inside`` mask."""
    scale = inside.shape[0] / 150.0
    x0, y0, x1, y1 = (round(v * scale) for v in FACE_AREA)
    area = inside[y0:y1, x0:x1]
    return float(area.mean()) if area.size else 1.0


def face_quality(box_w: float, box_h: float, score: float, sharpness: float, visible: float = 1.0) -> float:
    """Quality in 0..1 from the box size (px), the detector score, the chip's ``sharpness`` and the
    ``visible`` share of the face (module doc)."""
    size = float(np.sqrt(max(box_w, 0.0) * max(box_h, 0.0)))
    size_factor = np.clip((size - SIZE_MIN) / (SIZE_FULL - SIZE_MIN), 0.0, 1.0)
    score_factor = np.clip((score - SCORE_MIN) / (1.0 - SCORE_MIN), 0.0, 1.0)
    sharp = max(sharpness, 0.0)
    sharp_factor = sharp / (sharp + SHARPNESS_HALF)
    seen = min(max(visible, 0.0), 1.0)
    return float((size_factor * score_factor * sharp_factor) ** (1.0 / 3.0) * seen)
