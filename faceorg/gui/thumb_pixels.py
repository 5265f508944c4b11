"""Square thumbnails with rounded corners made by Pillow and numpy, for the loader threads (face chips and
whole photos alike), and handed to Qt as a premultiplied ARGB32 QImage.

Not by QImage.scaled and QPainter: on a loader thread those hold Python's GIL for their whole run (and a
painter with a clip path waits for Qt's thread pool meanwhile), so the GUI thread stalled on the GIL each
time a thumbnail was made while it scrolled.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtGui import QImage


@lru_cache(maxsize=16)
def _corner_mask(w: int, h: int, radius: int) -> np.ndarray:
    """Coverage (0..1, float32, h x w x 1) of a ``w`` x ``h`` rectangle with rounded corners, antialiased."""
    if radius <= 0:
        return np.ones((h, w, 1), np.float32)
    scale = 4  # drawn 4x larger, then reduced: smooth edges
    big = Image.new("L", (w * scale, h * scale), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * scale - 1, h * scale - 1), radius * scale, fill=255)
    small = big.resize((w, h), Image.Resampling.BOX)
    return (np.asarray(small, np.float32) / 255.0)[:, :, None]


def square_thumbnail(pixels: np.ndarray, px: int, radius: int, *, crop: bool = False) -> np.ndarray:
    """An RGB image (upright) in a ``px`` square, corners rounded by ``radius``: a ``px`` x ``px`` x 4 array
    in the byte order of Qt's premultiplied ARGB32 (B, G, R, A). ``crop``: its centre fills the square (a
    face chip); else the whole image is fitted, centred, transparent around (a photo keeps everyone)."""
    h, w = pixels.shape[:2]
    im = Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]))
    if crop:
        side = min(w, h)
        tw = th = px
        if (w, h) != (px, px):  # Pillow releases the GIL while it resizes
            box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
            im = im.resize((px, px), Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)
    else:
        scale = px / max(w, h)
        tw, th = max(1, round(w * scale)), max(1, round(h * scale))
        if (tw, th) != (w, h):
            im = im.resize((tw, th), Image.Resampling.BICUBIC, reducing_gap=2.0)
    rgb = np.asarray(im, np.float32)
    alpha = _corner_mask(tw, th, radius)
    out = np.zeros((px, px, 4), np.uint8)
    top, left = (px - th) // 2, (px - tw) // 2
    cell = out[top:top + th, left:left + tw]
    cell[:, :, :3] = (rgb[:, :, ::-1] * alpha + 0.5).astype(np.uint8)  # premultiplied, B G R
    cell[:, :, 3] = (alpha[:, :, 0] * 255 + 0.5).astype(np.uint8)
    return out


def qimage_from_bgra(pixels: np.ndarray) -> QImage:
    """A premultiplied B, G, R, A array as a QImage owning its memory (one copy: safe off the GUI thread).

    Qt's ARGB32 is B, G, R, A in memory on little-endian machines, A, R, G, B on big-endian ones."""
    h, w = pixels.shape[:2]
    if sys.byteorder == "big":
        pixels = np.ascontiguousarray(pixels[:, :, ::-1])
    return QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_ARGB32_Premultiplied).copy()


def rounded_thumbnail(pixels: np.ndarray, px: int, radius: float, dpr: float, *, crop: bool = False) -> QImage:
    """:func:`square_thumbnail` as a QImage for a screen of device pixel ratio ``dpr`` (``radius`` in
    device-independent pixels)."""
    image = qimage_from_bgra(square_thumbnail(pixels, px, round(radius * dpr), crop=crop))
    image.setDevicePixelRatio(dpr)
    return image
