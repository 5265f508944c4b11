"""`faceorg xmp import|export|on-scan` and the scan's XMP step, as a user runs them: one JSON document on stdout,
one clear line for a mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run_cli
from tests.xmpgen import face_boxes, save_oriented, side_by_side, write_names


@pytest.fixture()
def photos(tmp_path: Path, shared_data: Path, models_dir: Path) -> tuple[Path, dict[str, list[str]]]:
    """Two two-person photos (orientations 1 and 6) with names in sidecars written by exiftool."""
    folder = tmp_path / "photos"
    folder.mkdir()
    people = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())[60:64]
    truth = {}
    for i, orientation in enumerate((1, 6)):
        pair = [sorted(people[2 * i].glob("*.jpg"))[0], sorted(people[2 * i + 1].glob("*.jpg"))[0]]
        names = [p.parent.name.replace("_", " ") for p in pair]
        upright = side_by_side(pair)
        path = folder / f"p{orientation}.jpg"
        save_oriented(upright, path, orientation)
        write_names(path, names, face_boxes(2), orientation, upright.size, fmt="mwg", where="jpg.xmp")
        truth[path.name] = names
    return folder, truth


def test_scan_with_xmp_on_then_import_and_export(photos: tuple[Path, dict[str, list[str]]], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder, truth = photos
    db = str(tmp_path / "lib.sqlite")
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "on-scan", "on", "--json")
    assert code == 0 and json.loads(out) == {"import_xmp_on_scan": True}
    code, out, _ = run_cli(capsys, "--db", db, "scan", str(folder), "--json")
    assert code == 0
    scan = json.loads(out)
    assert scan["xmp_import"]["imported"] == 4 and scan["xmp_import"]["conflicts"] == 0
    code, out, _ = run_cli(capsys, "--db", db, "people", "list", "--json")
    named = {p["name"] for p in json.loads(out) if p["name"]}
    assert named == {n for names in truth.values() for n in names}
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "import", "--json")
    again = json.loads(out)
    assert code == 0 and (again["imported"], again["matched"]) == (0, 4)
    assert again["changes"]["operation_id"] is None
    # export: the sidecars exist (exiftool's, regions only); faceorg's names are the same, so the regions stay as
    # they are and only PersonInImage is added; a second export changes nothing
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "export", "--json")
    report = json.loads(out)
    assert code == 0 and report["updated"] == 2
    assert all(s["names_added"] == s["names_removed"] == [] for s in report["sidecars"])
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "export", "--json")
    assert json.loads(out)["unchanged"] == 2
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "export", "--sidecar", "xmp", "--dry-run", "--json")
    report = json.loads(out)
    assert report["dry_run"] and report["created"] == 2 and not list(folder.glob("p?.xmp"))
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "export", "--sidecar", "xmp")
    assert code == 0 and "wrote 2 sidecars (2 new, 0 updated)" in out
    assert sorted(p.name for p in folder.glob("p?.xmp")) == ["p1.xmp", "p6.xmp"]


def test_scan_without_the_setting_reads_no_names(photos: tuple[Path, dict[str, list[str]]], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = photos
    db = str(tmp_path / "lib.sqlite")
    code, out, _ = run_cli(capsys, "--db", db, "scan", str(folder), "--json")
    assert code == 0 and json.loads(out)["xmp_import"] is None
    code, out, _ = run_cli(capsys, "--db", db, "xmp", "import", "--dry-run")
    assert code == 0 and out.startswith("XMP: 2 photos with names; would import 4 names")


def test_mistakes_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "lib.sqlite")
    code, out, err = run_cli(capsys, "--db", db, "xmp", "export", "--person", "999")
    assert code == 1 and out == ""
    assert err.strip() == "faceorg: error: no person with id 999 (see `faceorg people list`)"
