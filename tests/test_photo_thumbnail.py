"""Grid previews: the EXIF thumbnail a camera embeds (written here by exiftool), upright, only when it will
do; otherwise the photo decoded at reduced size."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorg.imaging.decode import PhotoReadError, load_working_image
from faceorg.imaging.thumbnail import embedded_thumbnail, preview_pixels

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def make_photo(folder: Path, size: tuple[int, int], thumb_size: tuple[int, int], orientation: int = 1,
               thumb_colour: tuple[int, int, int] | None = None) -> Path:
    """A JPEG whose left half is red and right half blue, with an EXIF thumbnail and orientation."""
    w, h = size
    img = Image.new("RGB", size, (0, 0, 230))
    img.paste((230, 0, 0), (0, 0, w // 2, h))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = folder / f"photo_{w}x{h}_{orientation}.jpg"
    img.save(path, "JPEG", quality=92, exif=exif)
    thumb = img.resize(thumb_size) if thumb_colour is None else Image.new("RGB", thumb_size, thumb_colour)
    thumb.save(folder / "thumb.jpg", "JPEG", quality=90)
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-ThumbnailImage<={folder / 'thumb.jpg'}", str(path)],
                   check=True)
    return path


def colour(pixels: np.ndarray, x: float, y: float) -> str:
    r, _g, b = pixels[int(y * (pixels.shape[0] - 1)), int(x * (pixels.shape[1] - 1))]
    return "red" if r > 150 and b < 100 else "blue" if b > 150 and r < 100 else "other"


def test_the_embedded_thumbnail_is_used_when_large_enough(tmp_path: Path) -> None:
    # The thumbnail is green while the photo is red and blue: which one was read is plain to see.
    path = make_photo(tmp_path, (1600, 1200), (160, 120), thumb_colour=(0, 200, 0))
    pixels = preview_pixels(str(path), 150)
    assert pixels.shape == (120, 160, 3) and tuple(pixels[60, 80]) == pytest.approx((0, 200, 0), abs=8)
    big = preview_pixels(str(path), 300)  # too small for that: the photo itself, reduced
    assert max(big.shape[:2]) >= 300 and colour(big, 0.1, 0.5) == "red"


@pytest.mark.parametrize(("orientation", "left", "top"), [(1, "red", None), (3, "blue", None), (6, None, "red"),
                                                           (8, None, "blue")])
def test_the_thumbnail_is_upright_like_the_photo(tmp_path: Path, orientation: int, left: str | None,
                                                 top: str | None) -> None:
    path = make_photo(tmp_path, (1600, 1200), (160, 120), orientation)
    small = embedded_thumbnail(str(path), 150)
    assert small is not None
    assert small.shape[:2] == ((160, 120) if orientation in (6, 8) else (120, 160))
    if left:
        assert colour(small, 0.05, 0.5) == left
    if top:
        assert colour(small, 0.5, 0.05) == top
    full = load_working_image(str(path), max_side=200).pixels
    assert full.shape[0] > full.shape[1] if orientation in (6, 8) else full.shape[1] > full.shape[0]
    for x, y in ((0.05, 0.5), (0.5, 0.05), (0.95, 0.5), (0.5, 0.95)):
        assert colour(small, x, y) == colour(full, x, y)


def test_a_thumbnail_of_another_shape_is_not_used(tmp_path: Path) -> None:
    path = make_photo(tmp_path, (1920, 1080), (160, 120))  # a 4:3 thumbnail (black bands) of a 16:9 photo
    assert embedded_thumbnail(str(path), 150) is None
    assert preview_pixels(str(path), 150).shape[:2] == (84, 150)


def test_an_unreadable_photo_still_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert embedded_thumbnail(str(bad), 150) is None
    with pytest.raises(PhotoReadError):
        preview_pixels(str(bad), 150)
