"""File and folder names that are not valid UTF-8: scanned, rescanned, moved, listed, exported, removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.models import Photo, PhotoStatus
from tests.clirun import run_cli as run
from tests.imagegen import random_photo

CAFE = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 "café.jpg", as old Windows and camera cards write it
FOLDER = os.fsdecode(b"dir_\xe9")


@pytest.fixture()
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    (root / FOLDER).mkdir(parents=True)
    random_photo(root / CAFE, seed=1)
    random_photo(root / "café.jpg", seed=2)  # the same name in real UTF-8: a different file
    random_photo(root / FOLDER / "x.jpg", seed=3)
    random_photo(root / "plain.jpg", seed=4)
    return root


def test_undecodable_names_scan_rescan_and_move(tmp_path: Path, album: Path, db_location: Path | str) -> None:
    from faceorg.store.folders import add_folder, list_folders, remove_folder

    lib = open_library(db_location)
    try:
        add_folder(lib, album)
        first = scan_library(lib, workers=2, batch_size=2)
        assert (first.new, first.failed) == (4, 0)
        with lib.session() as s:
            paths = {p.path: p.status for p in s.scalars(select(Photo))}
        assert paths == {str(album / CAFE): PhotoStatus.OK, str(album / "café.jpg"): PhotoStatus.OK,
                         str(album / FOLDER / "x.jpg"): PhotoStatus.OK, str(album / "plain.jpg"): PhotoStatus.OK}
        again = scan_library(lib, workers=2)
        assert (again.new, again.unchanged, again.missing) == (0, 4, 0)
        moved_to = album / FOLDER / os.fsdecode(b"renamed_\xff.jpg")
        os.rename(album / CAFE, moved_to)
        third = scan_library(lib, workers=2)
        assert (third.new, third.moved, third.missing) == (0, 1, 0)
        with lib.session() as s:
            assert s.scalars(select(Photo.path).where(Photo.path == str(moved_to))).one() == str(moved_to)
        # A folder with such a name is a library folder like any other, and removing it works by prefix.
        remove_folder(lib, album)
        add_folder(lib, album / FOLDER)
        assert [f.path for f in list_folders(lib)] == [str(album / FOLDER)]
        scan_library(lib, workers=2)
        assert [(f.photos, f.missing) for f in list_folders(lib)] == [(2, 0)]
        remove_folder(lib, album / FOLDER)
        assert list_folders(lib) == []
    finally:
        lib.close()


def test_cli_shows_undecodable_names_readably(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              album: Path, db_location: Path | str) -> None:
    db = str(db_location)
    code, out, err = run(capsys, "--db", db, "library", "add", str(album / FOLDER))
    assert code == 0 and f"{album}/dir_\\xe9;" in out, err
    code, out, err = run(capsys, "--db", db, "library", "add", str(album))
    assert code == 0, err
    code, out, err = run(capsys, "--db", db, "scan", "--no-faces", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["new"], summary["failed"]) == (4, 0)
    code, out, _ = run(capsys, "--db", db, "export", "--json")
    exported = {p["path"] for p in json.loads(out)["photos"]}
    assert exported == {f"{album}/caf\\xe9.jpg", f"{album}/café.jpg", f"{album}/dir_\\xe9/x.jpg",
                        f"{album}/plain.jpg"}
    code, out, _ = run(capsys, "--db", db, "library", "list")
    assert "\udce9" not in out and str(album) in out
    code, out, err = run(capsys, "--db", db, "library", "remove", str(album))
    assert code == 0 and "4 photo records" in out, err
