"""Camera RAW photos (CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2, PEF, SRW) through LibRaw (``rawpy``).

A RAW file carries a preview JPEG the camera rendered: that is what is decoded when it is large enough and
has the photo's shape; the sensor data is demosaiced (at half size when that is enough) only otherwise.
Either way the photo's size is the RAW's own upright full size, so boxes and landmarks are stored in the same
pixels whichever way it was read (the working image maps to them through :attr:`WorkingImage.scale`). The
orientation is the RAW's (LibRaw's ``flip``), applied to a preview that is stored unrotated, as cameras
store them; a preview with an EXIF orientation of its own is turned by that instead.
"""

from __future__ import annotations

import io
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from faceorg.imaging.budget import MemoryBudget

if TYPE_CHECKING:
    from faceorg.imaging.decode import WorkingImage

RAW_EXTENSIONS = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw"})

# LibRaw's ``flip`` as an EXIF orientation (0: none, 3: 180 degrees, 5: 90 counter-clockwise, 6: 90 clockwise).
FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
ASPECT_TOLERANCE = 0.02  # a preview whose shape differs more from the photo's is a crop, not the photo
PREVIEW_ENOUGH = 0.5  # a preview at least this fraction of the wanted size is used (not demosaiced)


def is_raw(name: str | Path | None) -> bool:
    """Whether a file name has a RAW photo's extension."""
    return name is not None and Path(name).suffix.lower() in RAW_EXTENSIONS


def _upright_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] / max(1, a[1]) - b[0] / max(1, b[1])) <= ASPECT_TOLERANCE * (b[0] / max(1, b[1]))


def load_raw(source: str | Path | bytes, max_side: int | None, *, budget: MemoryBudget | None = None,
             reduced_decode: bool = True) -> WorkingImage:
    """A RAW photo as a :class:`WorkingImage` (see the module docstring); raises PhotoReadError."""
    import rawpy

    from faceorg.imaging.decode import PhotoReadError

    try:
        with rawpy.imread(io.BytesIO(source) if isinstance(source, bytes) else str(source)) as raw:
            return _load(raw, source, max_side, budget, reduced_decode)
    except PhotoReadError:
        raise
    except rawpy.LibRawFileUnsupportedError as exc:
        raise PhotoReadError("not a RAW photo this version of LibRaw can read (an unsupported camera?)") from exc
    except rawpy.LibRawError as exc:
        raise PhotoReadError(f"corrupt or truncated RAW photo ({type(exc).__name__}: {exc})") from exc
    except (MemoryError, OSError, ValueError) as exc:
        raise PhotoReadError(f"cannot read RAW photo ({exc})") from exc


def _load(raw: Any, source: str | Path | bytes, max_side: int | None, budget: MemoryBudget | None,
          reduced_decode: bool) -> WorkingImage:
    from faceorg.imaging.decode import MAX_PIXELS, PhotoInfo, PhotoReadError, WorkingImage

    sizes = raw.sizes
    orientation = FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
    width, height = _upright_size(int(sizes.width), int(sizes.height), orientation)
    if width < 1 or height < 1:
        raise PhotoReadError("empty RAW photo")
    if width * height > MAX_PIXELS:
        raise PhotoReadError(f"image too large (over {MAX_PIXELS // 1_000_000} megapixels)")
    taken = getattr(raw.other, "timestamp", None)
    taken_at = taken.replace(tzinfo=None) if isinstance(taken, datetime) and taken.year > 1970 else None
    fmt = f"RAW {Path(source).suffix[1:].upper()}" if not isinstance(source, bytes) else "RAW"
    info = PhotoInfo(width=width, height=height, orientation=orientation, taken_at=taken_at, format=fmt)
    wanted = min(max_side or max(width, height), max(width, height))

    found = _preview(raw, budget, reduced_decode, max_side)
    if found is not None:
        pixels, turned = found
        if not turned:  # stored unrotated, as cameras store previews: turn it as the RAW says
            pixels = _turn(pixels, orientation)
        if _same_shape((pixels.shape[1], pixels.shape[0]), (width, height)) and \
                max(pixels.shape[:2]) >= PREVIEW_ENOUGH * wanted:
            return _fit(WorkingImage(pixels=pixels, info=info), max_side)
    # No usable preview: demosaic (half size gives a quarter of the pixels, plenty for most uses).
    half = reduced_decode and max_side is not None and max(width, height) // 2 >= max_side
    need = int(sizes.width) * int(sizes.height) * (3 if half else 12)  # 16-bit working copy when full size
    with budget.reserve(need) if budget is not None else nullcontext():
        rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    return _fit(WorkingImage(pixels=np.ascontiguousarray(rgb), info=info), max_side)


def _preview(raw: Any, budget: MemoryBudget | None, reduced_decode: bool,
             max_side: int | None) -> tuple[np.ndarray, bool] | None:
    """The embedded preview as RGB pixels and whether its own EXIF orientation turned it already, or None."""
    import rawpy

    from faceorg.imaging.decode import PhotoReadError, load_working_image

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError, rawpy.LibRawDataError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            image = load_working_image(bytes(thumb.data), max_side=max_side, reduced_decode=reduced_decode,
                                       budget=budget)
            return image.pixels, image.info.orientation != 1
        except PhotoReadError:
            return None  # a broken preview: the sensor data may still be fine
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        data = np.asarray(thumb.data)
        if data.ndim == 3 and data.shape[2] == 3 and data.dtype == np.uint8:
            return data, False
    return None


def _turn(pixels: np.ndarray, orientation: int) -> np.ndarray:
    from faceorg.imaging.decode import _apply_orientation

    return np.asarray(_apply_orientation(Image.fromarray(pixels), orientation))


def _fit(image: WorkingImage, max_side: int | None) -> WorkingImage:
    """``image`` shrunk to ``max_side`` on its long side (as for other photos)."""
    from faceorg.imaging.decode import WorkingImage

    if max_side is None or max(image.pixels.shape[:2]) <= max_side:
        return image
    frame = Image.fromarray(image.pixels)
    frame.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=None)
    return WorkingImage(pixels=np.asarray(frame), info=image.info)
