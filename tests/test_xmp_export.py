"""Writing names back to XMP sidecars: exiftool reads the names and boxes faceorg wrote (within 1% of the
image size, in every orientation and both sidecar namings), an existing sidecar keeps every unrelated tag and
is backed up, photos never change, and a library scanned afresh imports the names back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.files import sha256_file
from faceorg.people import ops
from faceorg.people.xmp_export import export_names
from faceorg.people.xmp_import import import_names
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.db import Library
from faceorg.store.folders import add_folder
from faceorg.store.models import Face, Photo
from tests.xmpgen import mwg_arg, run_exiftool, save_oriented, side_by_side, stored_box

ORIENTATIONS = (1, 3, 6, 8)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, models_dir: Path) -> Path:
    """A scanned library of four two-person photos, one per orientation, no names yet (the template folder)."""
    root = tmp_path_factory.mktemp("xmp-export")
    photos = root / "photos"
    photos.mkdir()
    folders = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())[40:48]
    for i, orientation in enumerate(ORIENTATIONS):
        pair = [sorted(folders[2 * i].glob("*.jpg"))[0], sorted(folders[2 * i + 1].glob("*.jpg"))[0]]
        save_oriented(side_by_side(pair), photos / f"o{orientation}.jpg", orientation)
    with open_library(root / "lib.sqlite") as lib:
        add_folder(lib, photos)
        scan_library(lib, analyzer=analyzer_for_library(lib))
    return root


@pytest.fixture()
def named(scanned: Path, tmp_path: Path) -> tuple[Library, Path, dict[int, str]]:
    """A copy of the library with the centred face of each tile named (Left N, Right N): library, photo folder,
    face id -> name."""
    root = tmp_path / "lib"
    shutil.copytree(scanned, root)
    with sqlite3.connect(root / "lib.sqlite") as conn:  # the copy's photos are the copied files
        for table in ("photos", "library_folders"):
            conn.execute(f"UPDATE {table} SET path = replace(path, ?, ?)", (str(scanned), str(root)))
    library = open_library(root / "lib.sqlite")
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.x, Face.w, Photo.width, Photo.path)
                         .join(Photo, Photo.id == Face.photo_id)).all()
    names: dict[int, str] = {}
    for fid, x, w, width, path in rows:
        centre = (x + w / 2) / width
        if 0.15 <= centre <= 0.35 or 0.65 <= centre <= 0.85:
            names[fid] = f"{'Left' if centre < 0.5 else 'Right'} {Path(path).stem}"
    for fid, name in names.items():
        ops.create_person(library, name, [fid])
    yield library, root / "photos", names
    library.close()


def _exif(path: Path) -> dict:
    return json.loads(run_exiftool("-j", "-struct", "-G1", path))[0]


def _upright_boxes(library: Library, names: dict[int, str]) -> dict[str, tuple[Path, int, tuple, tuple[int, int]]]:
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.x, Face.y, Face.w, Face.h, Photo.path, Photo.orientation, Photo.width,
                                Photo.height).join(Photo, Photo.id == Face.photo_id).where(Face.id.in_(names))).all()
    return {names[r[0]]: (Path(r[5]), r[6], (round(r[1]), round(r[2]), round(r[3]), round(r[4])), (r[7], r[8]))
            for r in rows}


@pytest.mark.parametrize("naming", ["jpg.xmp", "xmp"])
def test_exiftool_reads_back_the_names_and_boxes(named: tuple[Library, Path, dict[int, str]], naming: str) -> None:
    library, photos, names = named
    before = {p: sha256_file(p) for p in _photo_paths(library)}
    report = export_names(library, naming=naming)
    assert report.problems == [] and report.written == len(ORIENTATIONS) and report.faces == len(names)
    assert {p: sha256_file(p) for p in before} == before
    for name, (photo, orientation, box, size) in _upright_boxes(library, names).items():
        side = photo.with_name(photo.name + ".xmp") if naming == "jpg.xmp" else photo.with_suffix(".xmp")
        tags = _exif(side)
        expected = stored_box(size, box, orientation)  # by Pillow's pixel operations
        mwg = {r["Name"]: r["Area"] for r in tags["XMP-mwg-rs:RegionInfo"]["RegionList"]}
        area = mwg[name]
        assert area["Unit"] == "normalized"
        got = (area["X"] - area["W"] / 2, area["Y"] - area["H"] / 2, area["W"], area["H"])
        assert got == pytest.approx(expected, abs=0.01), (name, orientation)
        mp = {r["PersonDisplayName"]: r["Rectangle"] for r in tags["XMP-MP:RegionInfoMP"]["Regions"]}
        assert tuple(float(v) for v in mp[name].split(",")) == pytest.approx(expected, abs=0.01)
        assert name in tags["XMP-iptcExt:PersonInImage"]
        dims = tags["XMP-mwg-rs:RegionInfo"]["AppliedToDimensions"]
        assert (dims["W"], dims["H"]) == (size if orientation < 5 else size[::-1])


def _photo_paths(library: Library) -> list[Path]:
    with library.session() as s:
        return [Path(p) for p in s.scalars(select(Photo.path))]


def test_an_existing_sidecar_keeps_its_other_tags_and_is_backed_up(named: tuple[Library, Path, dict[int, str]]) -> None:
    library, _, names = named
    photo, orientation, box, size = _upright_boxes(library, names)[next(n for n in names.values() if "o6" in n)]
    side = photo.with_name(photo.name + ".xmp")
    # another tool's sidecar: keywords, a rating, a title, a develop setting, a pet, another face, a name list
    stored_size = size[::-1]
    run_exiftool(mwg_arg(["Stranger"], [(0.45, 0.0, 0.1, 0.1)], stored_size).replace(
        "]}", ",{Area={X=0.9,Y=0.9,W=0.1,H=0.1,Unit=normalized},Name=Rex,Type=Pet}]}"),
        "-XMP-dc:Subject=holiday", "-XMP-dc:Subject=beach", "-XMP-xmp:Rating=4", "-XMP-dc:Title=At the sea",
        "-XMP-crs:Exposure2012=+0.5", "-XMP-iptcExt:PersonInImage=Stranger", "-XMP-digiKam:TagsList=Places/Sea",
        side)
    old_text = side.read_bytes()
    old = _exif(side)
    report = export_names(library)
    change = next(c for c in report.sidecars if c.sidecar == str(side))
    assert change.action == "update" and change.backup == str(side) + ".bak"
    assert Path(change.backup).read_bytes() == old_text
    new = _exif(side)
    for key, value in old.items():
        if key not in ("XMP-mwg-rs:RegionInfo", "XMP-iptcExt:PersonInImage", "SourceFile") and \
                not key.startswith("System:") and not key.startswith("File:"):
            assert new.get(key) == value, key
    regions = {r["Name"]: r for r in new["XMP-mwg-rs:RegionInfo"]["RegionList"]}
    assert {"Stranger", "Rex"} <= set(regions) and regions["Rex"]["Type"] == "Pet"
    assert set(new["XMP-iptcExt:PersonInImage"]) == {"Stranger", *change.names}
    # written again with nothing new: left as it is, no second backup churn
    again = export_names(library)
    assert all(c.action == "unchanged" for c in again.sidecars)


def test_dry_run_writes_nothing_and_a_broken_sidecar_is_left_alone(named: tuple[Library, Path, dict[int, str]]) -> None:
    library, _, names = named
    photos = _photo_paths(library)
    broken = photos[0].with_name(photos[0].name + ".xmp")
    broken.write_text("<x:xmpmeta", encoding="utf-8")
    dry = export_names(library, dry_run=True)
    assert {c.action for c in dry.sidecars} == {"create"} and len(dry.problems) == 1
    assert sorted(p.name for p in photos[0].parent.glob("*.xmp*")) == [broken.name]
    real = export_names(library)
    assert broken.read_text(encoding="utf-8") == "<x:xmpmeta" and str(broken) in real.problems[0]
    assert real.written == len(photos) - 1


def test_only_the_chosen_people_are_written(named: tuple[Library, Path, dict[int, str]]) -> None:
    library, _, names = named
    from faceorg.people.queries import list_people

    people = {p.name: p.id for p in list_people(library)}
    chosen = [people[n] for n in sorted(people) if n and n.startswith("Left")]
    report = export_names(library, person_ids=chosen)
    assert sorted(n for c in report.sidecars for n in c.names) == sorted(n for n in names.values() if "Left" in n)


def test_a_library_scanned_afresh_imports_the_names_back(named: tuple[Library, Path, dict[int, str]],
                                                          tmp_path: Path) -> None:
    library, _, names = named
    photos = _photo_paths(library)
    export_names(library, naming="xmp")
    with open_library(tmp_path / "fresh.sqlite") as fresh:
        add_folder(fresh, photos[0].parent)
        scan_library(fresh, analyzer=analyzer_for_library(fresh))
        report = import_names(fresh)
        assert report.conflicts == [] and report.new_faces == [] and report.problems == []
        got = {(Path(f.photo_path).name, f.name) for f in report.imported}
    want = {(p.name, n) for n, (p, *_) in _upright_boxes(library, names).items()}
    assert got == want


def test_a_sidecar_another_tool_wrote_as_upper_case_xmp_is_the_one_updated(
        named: tuple[Library, Path, dict[int, str]]) -> None:
    library, photos, _ = named
    photo = photos / "o1.jpg"
    upper = photos / "o1.jpg.XMP"
    run_exiftool("-XMP-xmp:Rating=5", upper)
    report = export_names(library)
    change = next(c for c in report.sidecars if c.photo_path == str(photo))
    assert change.sidecar == str(upper) and change.action == "update"
    assert not (photos / "o1.jpg.xmp").exists() and _exif(upper)["XMP-xmp:Rating"] == 5
