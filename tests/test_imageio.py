"""Decoding photos: orientation, formats, reduced JPEG decoding, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorg.imaging.decode import PhotoReadError, load_working_image
from tests.imagegen import decompression_bomb, quadrant_image, random_photo, save_heic, save_with_orientation


def _quadrant_colours(a: np.ndarray) -> tuple[int, int, int]:
    """Dominant channel at top-left, top-right, bottom-centre."""
    h, w = a.shape[:2]
    return (int(np.argmax(a[h // 4, w // 4])), int(np.argmax(a[h // 4, 3 * w // 4])),
            int(np.argmax(a[3 * h // 4, w // 2])))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "WEBP"])
def test_exif_orientation_comes_out_upright(tmp_path: Path, orientation: int, fmt: str) -> None:
    path = tmp_path / f"o{orientation}.{fmt.lower()}"
    save_with_orientation(quadrant_image(), path, orientation, fmt)
    img = load_working_image(path, max_side=None)
    assert img.pixels.shape == (80, 120, 3)
    assert (img.info.width, img.info.height) == (120, 80)
    assert img.info.orientation == orientation
    assert _quadrant_colours(img.pixels) == (0, 1, 2)


def test_capture_time_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.jpg"
    save_with_orientation(quadrant_image(), path, 1)
    assert load_working_image(path).info.taken_at is not None
    assert load_working_image(path).info.taken_at.isoformat() == "2021-07-04T12:30:45"


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif"),
                                     ("BMP", "bmp"), ("HEIF", "heic")])
def test_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    path = tmp_path / f"x.{ext}"
    if fmt == "HEIF":
        save_heic(quadrant_image(), path)
    else:
        quadrant_image().save(path, fmt)
    img = load_working_image(path)
    assert img.pixels.shape == (80, 120, 3) and img.pixels.dtype == np.uint8
    assert _quadrant_colours(img.pixels) == (0, 1, 2)


def test_heic_is_read_by_the_decode_only_library(tmp_path: Path) -> None:
    """HEIC goes through pi-heif (libheif without GPL encoders), which faceorg registers with Pillow."""
    from faceorg.imaging import decode

    assert decode.HEIC_SUPPORTED
    opener = Image.OPEN["HEIF"][0]
    assert opener.__module__.split(".")[0] == "pi_heif", opener.__module__
    path = save_heic(Image.new("RGB", (64, 48), (200, 30, 30)), tmp_path / "red.HEIC")
    img = load_working_image(path.read_bytes())
    assert img.info.format == "HEIF" and (img.info.width, img.info.height) == (64, 48)
    assert np.abs(img.pixels.astype(int) - (200, 30, 30)).mean() < 8


def test_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = load_working_image(path)
    assert img.pixels.shape == (30, 40, 3)
    assert int(np.argmax(img.pixels[15, 20])) == 0  # the red first frame


def test_large_jpeg_decoded_at_reduced_size(tmp_path: Path) -> None:
    path = random_photo(tmp_path / "big.jpg", 4000, 3000)
    img = load_working_image(path, max_side=1024)
    assert max(img.pixels.shape[:2]) <= 1024
    assert (img.info.width, img.info.height) == (4000, 3000)
    assert img.scale == pytest.approx(4000 / img.pixels.shape[1])
    full = load_working_image(path, max_side=None)
    assert full.pixels.shape == (3000, 4000, 3)


def test_bytes_and_path_agree(tmp_path: Path) -> None:
    path = random_photo(tmp_path / "a.jpg")
    a = load_working_image(path).pixels
    b = load_working_image(path.read_bytes()).pixels
    assert np.array_equal(a, b)


@pytest.mark.parametrize("content,expected", [
    (b"", "not an image"),
    (b"hello, I am not a photo", "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "corrupt"),
])
def test_bad_files_raise_clear_errors(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(PhotoReadError) as info:
        load_working_image(path)
    assert expected in str(info.value) or "not an image" in str(info.value)


def test_truncated_jpeg(tmp_path: Path) -> None:
    good = random_photo(tmp_path / "g.jpg", 640, 480).read_bytes()
    path = tmp_path / "t.jpg"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(PhotoReadError, match="truncated"):
        load_working_image(path)


def test_decompression_bomb_refused(tmp_path: Path) -> None:
    path = decompression_bomb(tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(PhotoReadError, match="too large"):
        load_working_image(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PhotoReadError, match="not found"):
        load_working_image(tmp_path / "nope.jpg")
