"""Photo thumbnails: each whole photo fitted in a square, decoded on the loader thread into an LRU cache."""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtGui import QImage

from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.imaging.decode import PhotoReadError
from faceorg.imaging.thumbnail import preview_pixels
from faceorg.people.photos import photo_paths
from faceorg.store.db import Library

PHOTO_THUMB = 150  # thumbnail side (device-independent pixels)


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


def square_thumbnail(pixels: np.ndarray, px: int, radius: int) -> np.ndarray:
    """The whole photo (RGB, upright) fitted in a ``px`` square, centred, corners rounded by ``radius``: a
    ``px`` x ``px`` x 4 array in the byte order of Qt's premultiplied ARGB32 (B, G, R, A), transparent around.

    By Pillow and numpy, not by QImage.scaled and QPainter: on the loader thread those hold Python's GIL
    for their whole run (and a painter with a clip path waits for Qt's thread pool meanwhile), so the GUI
    thread stalled on the GIL each time a thumbnail was made while it scrolled.
    """
    h, w = pixels.shape[:2]
    scale = px / max(w, h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    im = Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]))
    if (tw, th) != (w, h):
        im = im.resize((tw, th), Image.Resampling.BICUBIC, reducing_gap=2.0)  # Pillow releases the GIL here
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


class PhotoThumbnailCache(ThumbnailCache):
    """Thumbnails of whole photos, keyed by photo id: the embedded EXIF thumbnail where it is large enough,
    else the photo decoded at reduced size."""

    batch = 6  # a photo takes tens of milliseconds to decode: hand them back a few at a time
    thread_name = "faceorg-photo-thumbnails"

    def _load(self, photo_ids: list[int]) -> dict[int, QImage | None]:
        paths = photo_paths(self.library, photo_ids)
        px = max(1, round(self.side * self.dpr))
        out: dict[int, QImage | None] = {}
        for pid in photo_ids:
            path = paths.get(pid)
            try:
                pixels = preview_pixels(path, px) if path else None
            except (PhotoReadError, OSError):
                pixels = None
            out[pid] = None if pixels is None else self._fitted(pixels, px)
        return out

    def _fitted(self, pixels: np.ndarray, px: int) -> QImage:
        """The whole photo within a ``px`` square, centred (not cropped: a group photo keeps everyone)."""
        out = qimage_from_bgra(square_thumbnail(pixels, px, round(self.radius * self.dpr)))
        out.setDevicePixelRatio(self.dpr)
        return out


def make_photo_cache(library: Library, dpr: float, parent: Any = None) -> PhotoThumbnailCache:
    """The photo grids' thumbnail cache (about 450 thumbnails of 150 px at a device pixel ratio of 1)."""
    return PhotoThumbnailCache(library, PHOTO_THUMB, radius=4, device_pixel_ratio=dpr, max_bytes=40 << 20,
                               parent=parent)
