"""Photo thumbnails: each whole photo fitted in a square, decoded on the loader thread into an LRU cache."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from faceorg.gui.thumb_pixels import rounded_thumbnail
from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.imaging.decode import PhotoReadError
from faceorg.imaging.thumbnail import preview_pixels
from faceorg.people.photos import photo_paths
from faceorg.store.db import Library

PHOTO_THUMB = 150  # thumbnail side (device-independent pixels)


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
        return rounded_thumbnail(pixels, px, self.radius, self.dpr)


def make_photo_cache(library: Library, dpr: float, parent: Any = None) -> PhotoThumbnailCache:
    """The photo grids' thumbnail cache (about 450 thumbnails of 150 px at a device pixel ratio of 1)."""
    return PhotoThumbnailCache(library, PHOTO_THUMB, radius=4, device_pixel_ratio=dpr, max_bytes=40 << 20,
                               parent=parent)
