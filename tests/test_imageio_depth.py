"""16-bit greyscale photos decode with their tones (not clipped to white), so their faces are found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorg.imaging.decode import load_working_image

FACE = Path("photos-annotated") / "Tom_Cruise_avp_2014_4.jpg"


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_face_is_decoded_and_detected(fmt: str, shared_data: Path, real_detector,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    with Image.open(shared_data / FACE) as im:
        grey8 = np.asarray(im.convert("L"))
    path = tmp_path / f"face16.{fmt.lower()}"
    Image.fromarray(grey8.astype(np.uint16) * 257).save(path, fmt)  # full 16-bit range, made here
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    pixels = load_working_image(path, max_side=None).pixels
    assert abs(float(pixels.mean()) - float(grey8.mean())) < 1.0
    assert np.abs(pixels[..., 0].astype(int) - grey8).max() <= 1
    faces = real_detector.detect(load_working_image(path, max_side=640).pixels)
    assert faces and faces[0].score > 0.9


def test_32_bit_grey_is_scaled_by_its_range(tmp_path: Path) -> None:
    values = np.linspace(-1000, 3_000_000, 64 * 64).reshape(64, 64).astype(np.int32)
    Image.fromarray(values, "I").save(tmp_path / "wide.tif")
    pixels = load_working_image(tmp_path / "wide.tif", max_side=None).pixels
    assert (pixels.min(), pixels.max()) == (0, 255) and 120 < pixels.mean() < 135
