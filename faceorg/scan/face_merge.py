"""Re-detected faces replace the old ones without losing what the user decided about them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float]  # x, y, width, height

SAME_FACE_IOU = 0.5


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    A, B = np.asarray(a, float), np.asarray(b, float)
    ax2, ay2, bx2, by2 = A[:, 0] + A[:, 2], A[:, 1] + A[:, 3], B[:, 0] + B[:, 2], B[:, 1] + B[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(A[:, 0, None], B[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(A[:, 1, None], B[None, :, 1]), 0, None)
    inter = iw * ih
    union = (A[:, 2] * A[:, 3])[:, None] + (B[:, 2] * B[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-9)


def match_boxes(old: Sequence[Box], new: Sequence[Box], min_iou: float = SAME_FACE_IOU) -> dict[int, int]:
    """Greedy one-to-one matching, best overlap first: {new index: old index}."""
    ious = iou_matrix(new, old)
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for flat in np.argsort(-ious, axis=None):
        i, j = divmod(int(flat), ious.shape[1])
        if ious[i, j] < min_iou:
            break
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    return pairs
