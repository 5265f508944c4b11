"""Small upright previews of photos for grids: the JPEG's embedded EXIF thumbnail when it is large enough
(cameras and phones write one, 160x120 typically: reading it costs a fraction of decoding the photo),
else the photo decoded at reduced size."""

from __future__ import annotations

import io

import numpy as np
from PIL import ExifTags, Image

from faceorg.imaging.decode import EXIF_ORIENTATION, load_working_image, to_rgb

THUMB_OFFSET, THUMB_LENGTH = 0x0201, 0x0202  # IFD1: JPEGInterchangeFormat, JPEGInterchangeFormatLength
ASPECT_TOLERANCE = 0.03  # an embedded thumbnail whose shape differs more is padded (black bands): not used


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    ops = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
           4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
           6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}
    for op in ops.get(orientation, []):
        im = im.transpose(op)
    return im


def embedded_thumbnail(path: str, min_side: int) -> np.ndarray | None:
    """The upright RGB pixels of the JPEG's EXIF thumbnail if its long side is at least ``min_side`` and it
    has the photo's shape; None otherwise (not a JPEG, no thumbnail, too small, unreadable)."""
    try:
        with open(path, "rb") as fh, Image.open(fh) as im:
            if im.format != "JPEG":
                return None
            raw = im.info.get("exif")
            exif = im.getexif()
            ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
            start, length = ifd1.get(THUMB_OFFSET), ifd1.get(THUMB_LENGTH)
            if not isinstance(raw, bytes) or not isinstance(start, int) or not isinstance(length, int):
                return None
            base = 6 if raw.startswith(b"Exif\x00\x00") else 0  # offsets count from the TIFF header
            data = raw[base + start:base + start + length]
            orientation = exif.get(EXIF_ORIENTATION, 1)
            full_w, full_h = im.size
            with Image.open(io.BytesIO(data)) as small:
                small.load()
                if max(small.size) < min_side:
                    return None
                if abs(small.width / small.height - full_w / full_h) > ASPECT_TOLERANCE * full_w / full_h:
                    return None
                upright = _orient(to_rgb(small), orientation if orientation in range(1, 9) else 1)
    except Exception:  # noqa: BLE001 - any broken thumbnail: decode the photo instead
        return None
    return np.asarray(upright)


def preview_pixels(path: str, side: int) -> np.ndarray:
    """Upright RGB pixels of the photo with a long side of at least ``side`` where the photo is that large:
    the embedded thumbnail if it will do, else the photo decoded at reduced size. Raises
    :class:`~faceorg.imaging.decode.PhotoReadError` or OSError for an unreadable photo."""
    small = embedded_thumbnail(path, side)
    if small is not None:
        return small
    return load_working_image(path, max_side=side).pixels
