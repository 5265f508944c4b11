"""Photo thumbnails: each whole photo fitted in a square, decoded on the loader thread into an LRU cache."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPainterPath

from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.imaging.decode import PhotoReadError
from faceorg.imaging.thumbnail import preview_pixels
from faceorg.people.photos import photo_paths
from faceorg.store.db import Library

PHOTO_THUMB = 150  # thumbnail side (device-independent pixels)


def qimage_from_pixels(pixels: np.ndarray) -> QImage:
    """An RGB uint8 HxWx3 array as a QImage that owns its memory (safe off the GUI thread)."""
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888).copy()


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
            out[pid] = None if pixels is None else self._fitted(qimage_from_pixels(pixels), px)
        return out

    def _fitted(self, image: QImage, px: int) -> QImage:
        """The whole photo within a ``px`` square, centred (not cropped: a group photo keeps everyone)."""
        scaled = image.scaled(QSize(px, px), Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        out = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(Qt.GlobalColor.transparent)
        p = QPainter(out)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        where = QRectF((px - scaled.width()) / 2, (px - scaled.height()) / 2, scaled.width(), scaled.height())
        path = QPainterPath()
        r = self.radius * self.dpr
        path.addRoundedRect(where, r, r)
        p.setClipPath(path)
        p.drawImage(where.topLeft(), scaled)
        p.end()
        out.setDevicePixelRatio(self.dpr)
        return out


def make_photo_cache(library: Library, dpr: float, parent: Any = None) -> PhotoThumbnailCache:
    """The photo grids' thumbnail cache (about 450 thumbnails of 150 px at a device pixel ratio of 1)."""
    return PhotoThumbnailCache(library, PHOTO_THUMB, radius=4, device_pixel_ratio=dpr, max_bytes=40 << 20,
                               parent=parent)
