"""Face thumbnails: a bounded in-memory cache filled by a loader thread (calibre's cover grid).

``get()`` never touches the disk or the database: on a miss it queues the face id and returns None,
and the delegate paints a placeholder. The loader thread takes the newest requests first (what the
user scrolled to last), reads their chips from the database in one query per batch, decodes and
scales them with Pillow and numpy into a ``QImage`` (safe off the GUI thread), and hands them back;
``ready`` then names the faces whose cells should repaint. Requests pile up to a bound; the oldest are dropped (a cell
scrolled back into view asks again).
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections import OrderedDict, deque

import numpy as np
from PIL import Image, UnidentifiedImageError
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from faceorg.gui.thumb_pixels import rounded_thumbnail
from faceorg.store.chips import load_chips
from faceorg.store.db import Library

log = logging.getLogger(__name__)


def qimage_from_pixels(pixels: np.ndarray) -> QImage:
    """An RGB uint8 HxWx3 array as a QImage that owns its memory (safe off the GUI thread)."""
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888).copy()


def chip_pixels(data: bytes) -> np.ndarray | None:
    """A stored face chip (JPEG) as RGB pixels, decoded by Pillow; None if it cannot be read.

    Not ``QImage.fromData``: on a loader thread it probes Qt's image plugins while holding Python's GIL,
    and the SVG plugin's probe takes a Qt lock that the GUI thread may hold while it waits for the GIL
    (a deadlock that froze a test run, the window with it)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def decode_chip(data: bytes) -> QImage | None:
    """A stored face chip as a QImage (see :func:`chip_pixels`); None if it cannot be read."""
    pixels = chip_pixels(data)
    return None if pixels is None else qimage_from_pixels(pixels)


BATCH = 48  # chips read per database query
MAX_QUEUED = 400  # requests beyond this drop the oldest (cells long scrolled away)
SCROLL_PAUSE_S = 0.04  # while a grid scrolls fast, decoding waits this long after the last step


class ThumbnailCache(QObject):
    """Face chips scaled to ``side`` device pixels, least recently used dropped past ``max_bytes``."""

    ready = Signal(object)  # list of face ids now in the cache (or known to have no chip)
    _loaded = Signal(object)  # dict: face id -> QImage | None, from the loader thread

    batch = BATCH  # ids loaded per round (a subclass decoding whole photos takes fewer)
    thread_name = "faceorg-thumbnails"

    def __init__(self, library: Library, side: int, *, radius: float = 0.0, device_pixel_ratio: float = 1.0,
                 max_bytes: int = 96 << 20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.side = side
        self.radius = radius  # corners are rounded here, once, not in every paint
        self.dpr = device_pixel_ratio
        self.max_bytes = max_bytes
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._bytes = 0
        self._no_chip: set[int] = set()
        self._queue: deque[int] = deque()
        self._queued: set[int] = set()
        self._busy = False  # a batch is being loaded
        self._undelivered = 0  # batches loaded but not yet stored on the GUI thread
        self._quiet_at = 0.0  # monotonic time before which the loader leaves the CPU to the GUI
        self._cond = threading.Condition()
        self._stopped = False
        self._loaded.connect(self._store, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    # -- GUI thread ---------------------------------------------------------------------------------
    def get(self, face_id: int) -> QImage | None:
        """The thumbnail if cached (marks it recently used); otherwise queue it and return None."""
        image = self._images.get(face_id)
        if image is not None:
            self._images.move_to_end(face_id)
            return image
        if face_id not in self._no_chip:
            self.request([face_id])
        return None

    def scrolled(self) -> None:
        """A grid showing these thumbnails scrolled: decode once it slows down, not during a fast fling
        (on a busy machine the decoding would take the CPU the GUI thread needs to paint)."""
        self._quiet_at = time.monotonic() + SCROLL_PAUSE_S

    def has_no_chip(self, face_id: int) -> bool:
        """True when the face is known to have no stored chip (paint a generic face)."""
        return face_id in self._no_chip

    def request(self, face_ids: list[int]) -> None:
        """Queue faces for loading, the last one first."""
        with self._cond:
            for fid in face_ids:
                if fid in self._images or fid in self._no_chip:
                    continue
                if fid in self._queued:
                    with contextlib.suppress(ValueError):
                        self._queue.remove(fid)  # move it to the front
                self._queue.append(fid)
                self._queued.add(fid)
            while len(self._queue) > MAX_QUEUED:
                self._queued.discard(self._queue.popleft())
            self._cond.notify()

    @property
    def idle(self) -> bool:
        """Nothing queued or loading (for tests and screenshots)."""
        with self._cond:
            return not self._queue and not self._busy and not self._undelivered

    def __len__(self) -> int:
        return len(self._images)

    def clear(self) -> None:
        self._images.clear()
        self._bytes = 0
        self._no_chip.clear()

    def stop(self) -> None:
        """Stop the loader thread (pending requests are dropped)."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._queued.clear()
            self._cond.notify()
        self._thread.join(timeout=5)

    def _store(self, images: dict[int, QImage | None]) -> None:
        with self._cond:
            self._undelivered -= 1
        # The batch is newest request first; store it oldest first so the newest is kept longest.
        for fid, image in reversed(list(images.items())):
            if image is None:
                self._no_chip.add(fid)
                continue
            old = self._images.pop(fid, None)
            if old is not None:
                self._bytes -= old.sizeInBytes()
            self._images[fid] = image
            self._bytes += image.sizeInBytes()
        while self._bytes > self.max_bytes and len(self._images) > 1:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= dropped.sizeInBytes()
        self.ready.emit(list(images))

    # -- loader thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        # Not niced like the scan: on a busy machine a low-priority loader starves and the faces the
        # user is looking at come late; it stays out of the way while grids scroll instead.
        while True:
            wait = self._quiet_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                continue
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                batch = [self._queue.pop() for _ in range(min(self.batch, len(self._queue)))]
                self._busy = True
            try:
                images = self._load(batch)
            except Exception:  # a broken database must not kill the thread; the cells keep placeholders
                log.exception("could not load thumbnails")
                images = {}
            with self._cond:
                self._queued.difference_update(batch)
                self._busy = False
                if not images or self._stopped:
                    continue
                self._undelivered += 1
            self._loaded.emit(images)

    def _load(self, face_ids: list[int]) -> dict[int, QImage | None]:
        """Chips centre-cropped to a square of ``side`` device pixels, corners rounded, by Pillow and numpy
        (see :mod:`faceorg.gui.thumb_pixels`: QImage.scaled and QPainter here held the GIL)."""
        chips = load_chips(self.library, face_ids)
        px = max(1, round(self.side * self.dpr))
        out: dict[int, QImage | None] = {}
        for fid in face_ids:
            data = chips.get(fid)
            pixels = chip_pixels(data) if data else None
            out[fid] = None if pixels is None else rounded_thumbnail(pixels, px, self.radius, self.dpr, crop=True)
        return out
