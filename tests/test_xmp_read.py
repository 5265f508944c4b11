"""Reading face names from XMP: exiftool writes MWG and Microsoft Photo regions and names without boxes into
sidecars and photos; faceorg reads them back on the upright photo, skipping what is not a face, reporting
broken or unsafe files and faces with several names."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from faceorg.xmp.orientation import stored_to_upright, upright_to_stored
from faceorg.xmp.read import read_photo_names
from tests.xmpgen import mp_arg, mwg_arg, run_exiftool, stored_box


def _close(a: tuple[float, ...], b: tuple[float, ...], tol: float = 0.005) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_maths_agrees_with_pillows_pixel_operations(orientation: int) -> None:
    rng = random.Random(orientation)
    size = (400, 300)
    for _ in range(5):
        x, y = rng.randrange(0, 300), rng.randrange(0, 200)
        box = (x, y, rng.randrange(10, 400 - x), rng.randrange(10, 300 - y))
        upright = (box[0] / size[0], box[1] / size[1], box[2] / size[0], box[3] / size[1])
        stored = stored_box(size, box, orientation)  # by drawing and transposing the pixels
        assert _close(upright_to_stored(upright, orientation), stored), (orientation, box)
        assert _close(stored_to_upright(stored, orientation), upright), (orientation, box)


def _photo(tmp_path: Path, size: tuple[int, int] = (400, 300), orientation: int = 1) -> Path:
    path = tmp_path / "p.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", size, (90, 90, 90)).save(path, exif=exif.tobytes())
    return path


def test_mwg_and_mp_sidecars_written_by_exiftool(tmp_path: Path) -> None:
    photo = _photo(tmp_path)
    side = photo.with_name("p.jpg.xmp")
    boxes = [(0.1, 0.2, 0.2, 0.3), (0.6, 0.1, 0.25, 0.3), (0.0, 0.0, 1.0, 1.0)]
    arg = mwg_arg(["Ann", "Ben", "Everyone"], boxes, (400, 300))
    # a pet and a focus area, which are not faces
    arg = arg.replace("]}", ",{Area={X=0.5,Y=0.8,W=0.1,H=0.1,Unit=normalized},Name=Rex,Type=Pet},"
                            "{Area={X=0.3,Y=0.3,W=0.1,H=0.1,Unit=normalized},Type=Focus}]}")
    run_exiftool(arg, mp_arg(["Ann", "Ben"], boxes[:2]), "-XMP-iptcExt:PersonInImage=Ann",
                 "-XMP-iptcExt:PersonInImage=Cleo", side)
    names = read_photo_names(photo)
    assert [(r.name, r.format) for r in names.regions] == [("Ann", "mwg"), ("Ben", "mwg")]  # MP copies dropped
    assert _close(names.regions[0].box, boxes[0]) and _close(names.regions[1].box, boxes[1])
    assert names.hints == ["Cleo"]  # Ann has a box
    assert any("whole-frame" in s for s in names.skipped) and any("pet" in s for s in names.skipped)
    assert any("focus" in s for s in names.skipped)
    assert names.problems == []


def test_mp_only_embedded_regions_on_a_rotated_photo(tmp_path: Path) -> None:
    photo = _photo(tmp_path, size=(400, 300), orientation=6)  # upright it is 300 x 400
    upright_box = (30, 40, 90, 120)
    stored = stored_box((300, 400), upright_box, 6)
    run_exiftool("-overwrite_original", mp_arg(["Ann"], [stored]), photo)
    names = read_photo_names(photo, orientation=6, stored_size=(400, 300))
    assert [r.name for r in names.regions] == ["Ann"]
    assert _close(names.regions[0].box, (30 / 300, 40 / 400, 90 / 300, 120 / 400))
    assert names.sources == [str(photo)]


def test_regions_measured_on_the_upright_image_are_recognised(tmp_path: Path) -> None:
    """Some writers give regions of the upright image, with its (swapped) dimensions as AppliedToDimensions."""
    photo = _photo(tmp_path, size=(400, 300), orientation=6)
    box = (0.1, 0.1, 0.3, 0.2)  # of the upright 300 x 400 image
    run_exiftool(mwg_arg(["Ann"], [box], (300, 400)), photo.with_name("p.jpg.xmp"))
    names = read_photo_names(photo, orientation=6, stored_size=(400, 300))
    assert _close(names.regions[0].box, box)


def test_names_without_boxes_from_iptc_digikam_and_lightroom(tmp_path: Path) -> None:
    photo = _photo(tmp_path)
    run_exiftool("-XMP-iptcExt:PersonInImage=Ann", "-XMP-digiKam:TagsList=People/Ben",
                 "-XMP-digiKam:TagsList=People/Unknown", "-XMP-digiKam:TagsList=Places/Paris",
                 "-XMP-lr:HierarchicalSubject=People|Family|Cleo", photo.with_suffix(".xmp"))
    names = read_photo_names(photo)
    assert names.regions == [] and names.hints == ["Ann", "Ben", "Cleo"]


def test_several_names_for_one_face_are_reported_not_applied(tmp_path: Path) -> None:
    photo = _photo(tmp_path)
    run_exiftool(mwg_arg(["Ann", "Anna", "Ben"], [(0.1, 0.1, 0.2, 0.3), (0.11, 0.1, 0.2, 0.3), (0.6, 0.1, 0.2, 0.3)],
                         (400, 300)), photo.with_name("p.jpg.xmp"))
    names = read_photo_names(photo)
    assert [r.name for r in names.regions] == ["Ben"]
    assert len(names.problems) == 1 and "several names for one face (Ann, Anna)" in names.problems[0]


def test_broken_and_unsafe_sidecars_are_reported_and_skipped(tmp_path: Path) -> None:
    photo = _photo(tmp_path)
    run_exiftool("-overwrite_original", mwg_arg(["Ann"], [(0.1, 0.1, 0.2, 0.3)], (400, 300)), photo)
    photo.with_name("p.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF", encoding="utf-8")
    bomb = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            'Iptc4xmpExt:PersonInImage="&b;"/></rdf:RDF></x:xmpmeta>')
    photo.with_suffix(".xmp").write_text(bomb, encoding="utf-8")
    names = read_photo_names(photo)
    assert [r.name for r in names.regions] == ["Ann"]  # from the photo itself
    assert len(names.problems) == 2
    assert "p.jpg.xmp" in names.problems[0] and "not well-formed" in names.problems[0]
    assert "p.xmp" in names.problems[1]
