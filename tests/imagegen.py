"""Images made by the tests: patterned photos, EXIF orientations, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# The transpose that, applied to an upright image, gives the stored pixels for each EXIF orientation.
STORE_FOR_ORIENTATION = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def quadrant_image(width: int = 120, height: int = 80) -> Image.Image:
    """An upright test image whose orientation is obvious: red top-left, green top-right, blue bottom."""
    a = np.zeros((height, width, 3), np.uint8)
    a[: height // 2, : width // 2] = (255, 0, 0)
    a[: height // 2, width // 2:] = (0, 255, 0)
    a[height // 2:, :] = (0, 0, 255)
    return Image.fromarray(a)


def save_with_orientation(upright: Image.Image, path: Path, orientation: int, fmt: str = "JPEG") -> None:
    """Store ``upright`` the way a camera would with EXIF ``orientation``."""
    stored = upright
    for op in STORE_FOR_ORIENTATION[orientation]:
        stored = stored.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2021:07:04 12:30:45"
    if fmt == "TIFF":  # TIFF keeps the orientation among its own tags
        stored.save(path, fmt, tiffinfo={0x0112: orientation})
        return
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    stored.save(path, fmt, exif=exif, **kwargs)


def save_heic(image: Image.Image, path: Path) -> Path:
    """Write a HEIC file with pillow-heif (a test-only dependency: the app reads HEIC with pi-heif, which
    decodes only)."""
    import pillow_heif

    pillow_heif.from_pillow(image.convert("RGB")).save(path, quality=90)
    return path


def random_photo(path: Path, width: int = 320, height: int = 240, seed: int = 0, fmt: str = "JPEG") -> Path:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (max(1, height // 8), max(1, width // 8), 3), dtype=np.uint8)
    Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR).save(path, fmt)
    return path


def decompression_bomb(path: Path) -> Path:
    """A small PNG file that claims more pixels than the app will decode."""
    Image.new("1", (20_000, 10_000)).save(path, "PNG")
    return path
