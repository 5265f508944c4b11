"""Read photos safely: upright, first frame, reduced JPEG decoding, clear errors for bad files.

Photos are only ever opened for reading.
"""

from __future__ import annotations

import io
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from faceorg.imaging.budget import MemoryBudget, decoded_bytes
from faceorg.imaging.raw import is_raw, load_raw

try:  # HEIC/HEIF support: pi-heif decodes only (libheif with libde265, no GPL encoder in the bundle)
    import pi_heif

    pi_heif.register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - a dependency, but keep working without it
    HEIC_SUPPORTED = False

# Refuse images above this many pixels (Pillow's own hard limit): decoding one could exhaust memory.
MAX_PIXELS = 2 * 89_478_485
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132
# Orientations 5..8 swap width and height.
_TRANSPOSING = {5, 6, 7, 8}


class PhotoReadError(Exception):
    """A photo could not be read; the message says why in plain words."""


@dataclass(frozen=True)
class PhotoInfo:
    """What the catalogue stores about a readable photo (sizes are of the upright photo)."""

    width: int
    height: int
    orientation: int
    taken_at: datetime | None
    format: str


@dataclass(frozen=True)
class WorkingImage:
    """An upright RGB image at working size, and how it maps to the full-size upright photo."""

    pixels: np.ndarray  # uint8 HxWx3, RGB, upright
    info: PhotoInfo

    @property
    def scale(self) -> float:
        """Full-size upright pixels per working-image pixel."""
        return self.info.width / self.pixels.shape[1]


def _parse_exif_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or an unsupported format"
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large (over {MAX_PIXELS // 1_000_000} megapixels)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return f"truncated or corrupt image ({text})"
    if isinstance(exc, OSError):
        return f"cannot read image ({exc.strerror or text})"
    return f"corrupt image ({text})"


def _exif_orientation(im: Image.Image) -> int:
    value = im.getexif().get(EXIF_ORIENTATION, 1)
    return int(value) if value in range(1, 9) else 1


def _capture_time(im: Image.Image) -> datetime | None:
    exif = im.getexif()
    return _parse_exif_time(exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL)) or _parse_exif_time(
        exif.get(EXIF_DATETIME))


def load_working_image(source: str | Path | bytes, max_side: int | None = 1024, *,
                       reduced_decode: bool = True, budget: MemoryBudget | None = None,
                       name: str | Path | None = None) -> WorkingImage:
    """Decode a photo (a path, or its bytes) upright as RGB, at most ``max_side`` on its long side (None: full size).

    Camera RAW files (told by the extension of the path, or of ``name`` for bytes) are read through their
    preview JPEG, or demosaiced when they have none (:mod:`faceorg.imaging.raw`).

    JPEGs are decoded at reduced size with ``Image.draft`` (DCT scaling) when a smaller image is wanted;
    other formats are decoded whole, then shrunk by a whole factor before any conversion
    (``reduced_decode=False`` decodes and converts at full size first, for comparison).
    ``budget`` bounds the memory that all threads decoding at once may take (see
    :mod:`faceorg.imaging.budget`).
    Raises :class:`PhotoReadError` with a clear message for any unreadable, corrupt, truncated or
    oversized file.
    """
    if is_raw(name if name is not None else (None if isinstance(source, bytes) else source)):
        return load_raw(source, max_side, budget=budget, reduced_decode=reduced_decode)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as fh, Image.open(fh) as im:
                fmt, full_size = im.format or "", im.size
                if im.size[0] * im.size[1] > MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                if getattr(im, "n_frames", 1) > 1:
                    im.seek(0)
                if reduced_decode and max_side is not None and im.format == "JPEG":
                    # Ask the decoder for the smallest DCT scale still >= the working size.
                    sw, sh = im.size
                    factor = max(sw, sh) / max_side
                    if factor > 1:
                        im.draft("RGB", (int(sw / factor), int(sh / factor)))
                reduce = reduced_decode and max_side is not None
                # Reserve the decoded size, twice where the conversion or shrinking takes as much again
                # (without reducing the RGB copy is as large; 16-bit and palette images shrink via resize).
                once = reduce and not (im.mode.startswith("I;16") or im.mode in ("1", "P"))
                need = decoded_bytes(im) * (1 if once else 2)
                with budget.reserve(need) if budget is not None else nullcontext():
                    # Reading the metadata may decode the whole image already (a PNG's eXIf chunk may follow it).
                    orientation, taken_at = _exif_orientation(im), _capture_time(im)
                    im.load()
                    # Some decoders (TIFF) apply the orientation themselves while loading and drop the tag.
                    to_apply = _exif_orientation(im)
                    working: Image.Image = im
                    if reduce and max_side is not None:
                        # Shrink by a whole factor first (box average, cheap), before any conversion:
                        # the full-size image is freed when the file closes, the working copy is small.
                        working = _reduce(im, max(im.size) // max_side)
                    frame = to_rgb(working)
    except PhotoReadError:
        raise
    except Image.DecompressionBombWarning as exc:
        raise PhotoReadError(_describe(Image.DecompressionBombError(str(exc)))) from exc
    except Exception as exc:  # Pillow raises many types for bad data (MemoryError included)
        raise PhotoReadError(_describe(exc)) from exc
    frame = _apply_orientation(frame, to_apply)
    w, h = full_size
    if to_apply in _TRANSPOSING:
        w, h = h, w
    info = PhotoInfo(width=w, height=h, orientation=orientation, taken_at=taken_at, format=fmt)
    if max_side is not None and max(frame.size) > max_side:
        frame.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=None)
    if frame.size[0] < 1 or frame.size[1] < 1:
        raise PhotoReadError("empty image")
    return WorkingImage(pixels=np.asarray(frame), info=info)


def _reduce(im: Image.Image, factor: int) -> Image.Image:
    """``im`` shrunk by a whole ``factor`` with a box average (itself when the factor is below 2)."""
    if factor < 2:
        return im
    try:
        return im.reduce(factor)
    except ValueError:  # modes reduce() does not take (1, P, I;16): resize() does
        return im.resize((max(1, im.width // factor), max(1, im.height // factor)), Image.Resampling.BOX)


def to_rgb(im: Image.Image) -> Image.Image:
    """A loaded image as 8-bit RGB, high-bit-depth greyscale scaled rather than clipped.

    Pillow's own conversion clips 16- and 32-bit greyscale to 0..255, which turns an ordinary 16-bit
    scan almost white. 16-bit modes are scaled down by 8 bits; 32-bit integer and float images by
    their actual range (values already within 0..255 are kept as they are).
    """
    if im.mode == "RGB":
        return im.copy()
    grey: np.ndarray
    if im.mode.startswith("I;16"):
        grey = np.asarray(im, dtype=np.uint16) >> 8
    elif im.mode in ("I", "F"):
        values = np.asarray(im, dtype=np.float64)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if lo >= 0 and hi <= 255:
            grey = values
        elif lo >= 0 and hi <= 65535 and im.mode == "I":
            grey = values / 256.0
        else:
            grey = (values - lo) * (255.0 / (hi - lo or 1.0))
    else:
        return im.convert("RGB")
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").convert("RGB")


_TRANSPOSE_FOR = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    for op in _TRANSPOSE_FOR.get(orientation, []):
        im = im.transpose(op)
    return im


def load_upright(path: str | Path) -> Image.Image:
    """The full-size upright photo as a Pillow RGB image (for display); raises PhotoReadError."""
    return Image.fromarray(load_working_image(path, max_side=None).pixels)
