"""Camera RAW photos: read through their preview JPEG, demosaiced only without one, upright, in the RAW's own
full-size pixels; scanned like any photo. The DNG files are written by the tests (tests/dnggen.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from faceorg.imaging.decode import load_working_image
from faceorg.imaging.raw import RAW_EXTENSIONS
from faceorg.scan.face_merge import iou_matrix
from faceorg.scan.scanner import scan_library
from faceorg.scan.walker import IgnoreRules, collect_photos
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Face, Photo, PhotoStatus
from tests.dnggen import write_dng
from tests.imagegen import quadrant_image, random_photo

RED, GREEN, BLUE = 0, 1, 2


def quadrants(pixels: np.ndarray) -> tuple[int, int, int]:
    """The dominant channel of the top-left, top-right and bottom quarter of an upright quadrant image."""
    h, w = pixels.shape[:2]
    spots = [pixels[h // 4, w // 4], pixels[h // 4, 3 * w // 4], pixels[3 * h // 4, w // 2]]
    return tuple(int(np.argmax(p)) for p in spots)  # type: ignore[return-value]


def test_the_scanner_takes_raw_extensions(tmp_path: Path) -> None:
    for ext in ("CR2", "cr3", "NEF", "arw", "DNG", "raf", "ORF", "rw2", "PEF", "srw"):
        (tmp_path / f"shot.{ext}").write_bytes(b"x")
    names = sorted(Path(f.path).name for f in collect_photos(tmp_path, IgnoreRules()).files)
    assert len(names) == 10 and len(RAW_EXTENSIONS) == 10


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("preview", [None, 60])
def test_dng_is_read_upright(tmp_path: Path, orientation: int, preview: int | None) -> None:
    path = write_dng(tmp_path / "q.dng", quadrant_image(120, 80), orientation=orientation, preview_side=preview)
    assert path.stat().st_size < 40_000  # tiny
    img = load_working_image(path, max_side=100)
    assert (img.info.width, img.info.height) == (120, 80)  # the RAW's own upright size
    assert img.info.orientation == orientation and img.info.format == "RAW DNG"
    assert img.info.taken_at == datetime(2022, 5, 6, 7, 8, 9)
    assert quadrants(img.pixels) == (RED, GREEN, BLUE)
    assert img.pixels.shape[1] / img.pixels.shape[0] == pytest.approx(1.5, rel=0.05)


def test_preview_is_used_and_boxes_map_to_full_size(tmp_path: Path) -> None:
    """With a preview half the photo's size, the preview is what is decoded (here a grey one, to tell them
    apart), and the working image maps to the RAW's full size."""
    photo = quadrant_image(800, 600)
    grey = Image.new("RGB", photo.size, (128, 128, 128))
    path = write_dng(tmp_path / "p.dng", photo, orientation=6, preview_side=400, preview=grey)
    img = load_working_image(path, max_side=1024)
    assert (img.info.width, img.info.height) == (800, 600)
    assert img.pixels.shape[:2] == (300, 400)  # the preview, turned upright
    assert img.scale == pytest.approx(2.0)
    assert np.abs(img.pixels.astype(int) - 128).max() < 10
    # A preview too small for what is wanted is not used: the sensor data is demosaiced.
    small = write_dng(tmp_path / "s.dng", photo, orientation=6, preview_side=64, preview=grey)
    img = load_working_image(small, max_side=1024)
    assert img.pixels.shape[:2] == (600, 800) and quadrants(img.pixels) == (RED, GREEN, BLUE)
    # Wanting little, the half-size demosaic is enough.
    img = load_working_image(small, max_side=256)
    assert (img.info.width, img.info.height) == (800, 600) and max(img.pixels.shape[:2]) == 256


def test_bytes_with_a_name_and_bad_raw_files(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "q.dng", quadrant_image(120, 80))
    data = path.read_bytes()
    assert quadrants(load_working_image(data, name="q.DNG").pixels) == (RED, GREEN, BLUE)
    from faceorg.imaging.decode import PhotoReadError

    (tmp_path / "fake.nef").write_bytes(b"not a raw file at all" * 10)
    with pytest.raises(PhotoReadError, match="RAW"):
        load_working_image(tmp_path / "fake.nef")
    (tmp_path / "cut.dng").write_bytes(data[: len(data) // 3])
    with pytest.raises(PhotoReadError):
        load_working_image(tmp_path / "cut.dng")


def test_a_tiny_dng_scans(tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    write_dng(album / "IMG_0001.DNG", quadrant_image(120, 80), orientation=6, preview_side=60)
    random_photo(album / "a.jpg")
    (album / "broken.cr2").write_bytes(b"\x00" * 64)
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, album)
        summary = scan_library(lib, workers=2)
        assert (summary.new, summary.failed) == (3, 1)
        with lib.session() as s:
            photos = {Path(p.path).name: p for p in s.scalars(select(Photo))}
        dng = photos["IMG_0001.DNG"]
        assert dng.status is PhotoStatus.OK and (dng.width, dng.height) == (120, 80) and dng.orientation == 6
        assert dng.taken_at == datetime(2022, 5, 6, 7, 8, 9)
        assert photos["broken.cr2"].status is PhotoStatus.FAILED and "RAW" in (photos["broken.cr2"].error or "")


def test_faces_are_found_in_a_dng_in_full_size_pixels(tmp_path: Path, shared_data: Path, models_dir: Path) -> None:
    """A real face photo as a DNG (EXIF orientation 6), without and with a half-size preview: the face is
    found where it is in the JPEG, in the photo's full-size upright pixels."""
    from faceorg.pipeline.factory import analyzer_for_library

    source = shared_data / "photos-annotated" / "Tom_Cruise_avp_2014_4.jpg"
    album = tmp_path / "album"
    album.mkdir()
    upright = Image.open(source).convert("RGB")
    upright.save(album / "face.jpg", quality=95)
    write_dng(album / "face_sensor.dng", upright, orientation=6)
    write_dng(album / "face_preview.dng", upright, orientation=6, preview_side=400)
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, album)
        summary = scan_library(lib, analyzer=analyzer_for_library(lib), workers=1)
        assert summary.failed == 0
        with lib.session() as s:
            rows = s.execute(select(Photo.path, Photo.width, Photo.height, Face.x, Face.y, Face.w, Face.h)
                             .join(Face, Face.photo_id == Photo.id)).all()
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    for path, width, height, *box in rows:
        assert (width, height) == (upright.width - upright.width % 2, upright.height) or \
            (width, height) == upright.size
        boxes.setdefault(Path(path).name, []).append(tuple(box))  # type: ignore[arg-type]
    assert set(boxes) == {"face.jpg", "face_sensor.dng", "face_preview.dng"}
    (reference,) = boxes["face.jpg"]
    for name in ("face_sensor.dng", "face_preview.dng"):
        assert len(boxes[name]) == 1, name
        assert iou_matrix([reference], boxes[name])[0, 0] > 0.8, name
