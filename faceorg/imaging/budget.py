"""A byte budget that bounds the memory of the photos being decoded at once by all worker threads.

Each worker asks for its photo's estimated decoded size before decoding and gives it back after; a
photo larger than the whole budget waits until it can decode alone. Without it, eight workers decoding
photos just under the pixel limit (13000x13000: about 0.7 GB each) held several gigabytes at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

# Bytes per pixel of Pillow's in-memory image for each mode (RGB and YCbCr are stored 4 bytes a pixel).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LA": 4, "La": 4,
                "PA": 4, "RGB": 4, "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4, "YCbCr": 4, "LAB": 4, "HSV": 4,
                "I": 4, "F": 4}


def decoded_bytes(im: Image.Image) -> int:
    """The memory decoding ``im`` at its current (possibly drafted) size takes."""
    width, height = im.size
    return width * height * _PIXEL_BYTES.get(im.mode, 4)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD = 4 << 20
_mmap_fixed = False


def return_large_blocks() -> None:
    """Make the C allocator give a freed image back to the system at once (glibc, Linux; once).

    Pillow allocates an image in 16 MiB blocks. glibc raises its mmap threshold after the first such
    block is freed, so later blocks come from per-thread heaps that keep freed pages: with four
    workers the process held about three decoded images more than the budget allowed (measured:
    1021 MB instead of 422 MB for 9000x9000 PNGs and a 512 MB budget). A fixed threshold keeps large
    blocks mapped on their own and unmapped when freed.
    """
    global _mmap_fixed
    if _mmap_fixed or not sys.platform.startswith("linux"):
        return
    _mmap_fixed = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to tune
        pass


def default_budget() -> int:
    """A quarter of the computer's memory, between 256 MiB and 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not available on this platform
        total = 4 << 30
    return max(256 << 20, min(1 << 30, total // 4))


class MemoryBudget:
    """Thread-safe: :meth:`reserve` blocks until ``nbytes`` (at most the whole budget) are free."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("a memory budget must be positive")
        return_large_blocks()
        self.total = total
        self._free = total
        self._cond = threading.Condition()
        self.peak = 0  # most bytes reserved at once (for tests and benchmarks)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        want = max(0, min(nbytes, self.total))
        with self._cond:
            self._cond.wait_for(lambda: self._free >= want)
            self._free -= want
            self.peak = max(self.peak, self.total - self._free)
        try:
            yield
        finally:
            with self._cond:
                self._free += want
                self._cond.notify_all()
