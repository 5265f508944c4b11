"""Five-point face alignment: a least-squares similarity transform onto dlib's 150x150 chip layout."""

from __future__ import annotations

import numpy as np
from PIL import Image

CHIP_SIZE = 150

# Where dlib's 150x150 chips put the five points (x, y in chip pixels), in the image's left/right sense:
# left eye, right eye, nose tip, mouth left corner, mouth right corner (measured to match dlib's chips).
CHIP_TEMPLATE = np.array(
    [[46.2, 43.8], [101.4, 44.1], [74.6, 76.4], [50.0, 102.3], [96.8, 102.7]], dtype=np.float64
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, translation; no reflection) mapping ``src`` onto ``dst``.

    Least squares over the point pairs (Umeyama 1991): ``dst ~= M[:, :2] @ src + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N, 2) point sets with N >= 2, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # the best fit would be a reflection: forbid it
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    src_variance = (src_c ** 2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / src_variance) if src_variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def chip_transform(landmarks: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """The 2x3 matrix taking image coordinates to chip coordinates for a ``size`` x ``size`` chip."""
    return similarity_transform(landmarks, CHIP_TEMPLATE * (size / CHIP_SIZE))


def align_chip(image: np.ndarray, landmarks: np.ndarray, size: int = CHIP_SIZE,
               resample: Image.Resampling = Image.Resampling.BICUBIC) -> np.ndarray:
    """Cut an aligned ``size`` x ``size`` RGB uint8 face chip out of an RGB uint8 image.

    The five landmarks (image pixels, pixel centres at integer coordinates as in dlib) land on
    ``CHIP_TEMPLATE`` scaled to ``size``. Outside the image is black.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    forward = chip_transform(landmarks, size)
    scale = float(np.sqrt(abs(np.linalg.det(forward[:, :2]))))
    reduction = int(1.0 / scale) if scale > 0 else 1
    if reduction >= 2:  # a large face: box-average it down first, as the affine sampling does not
        return _align_reduced(image, landmarks, size, resample, reduction, forward)
    inverse = np.linalg.inv(np.vstack([forward, [0.0, 0.0, 1.0]]))[:2]
    # Pillow samples the input at inverse(x + 0.5, y + 0.5) with pixel centres at +0.5; shifting the
    # translation by half a pixel keeps our centre-at-integer convention on both sides.
    (a, b, c), (d, e, f) = inverse
    coefficients = (a, b, c + 0.5 - 0.5 * (a + b), d, e, f + 0.5 - 0.5 * (d + e))
    chip = Image.fromarray(np.ascontiguousarray(image)).transform(
        (size, size), Image.Transform.AFFINE, coefficients, resample=resample)
    return np.asarray(chip)


def _align_reduced(image: np.ndarray, landmarks: np.ndarray, size: int, resample: Image.Resampling,
                   reduction: int, forward: np.ndarray) -> np.ndarray:
    """``align_chip`` for faces much larger than the chip: crop around it, shrink by ``reduction``, align."""
    inverse = np.linalg.inv(np.vstack([forward, [0.0, 0.0, 1.0]]))[:2]
    corners = apply_transform(inverse, np.array([[0, 0], [size, 0], [0, size], [size, size]], float))
    height, width = image.shape[:2]
    left = int(np.clip(np.floor(corners[:, 0].min()) - reduction, 0, width))
    top = int(np.clip(np.floor(corners[:, 1].min()) - reduction, 0, height))
    right = int(np.clip(np.ceil(corners[:, 0].max()) + reduction, 0, width))
    bottom = int(np.clip(np.ceil(corners[:, 1].max()) + reduction, 0, height))
    if right - left < reduction or bottom - top < reduction:
        return np.zeros((size, size, 3), np.uint8)
    crop = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right])).reduce(reduction)
    # Pixel i of the reduced crop averages crop pixels [r i, r i + r): its centre is r i + (r - 1) / 2.
    points = (landmarks - [left, top] - (reduction - 1) / 2) / reduction
    return align_chip(np.asarray(crop), points, size, resample)


def chip_inside(landmarks: np.ndarray, width: int, height: int, size: int = CHIP_SIZE) -> np.ndarray:
    """Which pixels of the ``size`` x ``size`` chip that :func:`align_chip` cuts for ``landmarks`` come
    from inside a ``width`` x ``height`` image (the rest is the black fill beyond its edges): (size, size) bool."""
    forward = chip_transform(np.asarray(landmarks, dtype=np.float64), size)
    inverse = np.linalg.inv(np.vstack([forward, [0.0, 0.0, 1.0]]))[:2]

    def within(points: np.ndarray) -> np.ndarray:
        source = apply_transform(inverse, points)
        return ((source[:, 0] >= -0.5) & (source[:, 0] <= width - 0.5)
                & (source[:, 1] >= -0.5) & (source[:, 1] <= height - 0.5))

    last = size - 1.0
    if within(np.array([[0.0, 0.0], [last, 0.0], [0.0, last], [last, last]])).all():
        return np.ones((size, size), bool)  # the corners are inside, so is the whole (convex) chip
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    return within(np.column_stack([xs.ravel(), ys.ravel()])).reshape(size, size)
