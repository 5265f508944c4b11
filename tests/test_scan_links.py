"""Links are followed only into the library folders; what a scan could not read or follow is listed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.cli.main import main
from faceorg.scan.scanner import scan_library
from faceorg.settings import update_settings
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Photo
from tests.imagegen import random_photo


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """album/ (the library folder) with links inside it and out of it; outside/ holds a photo and a folder."""
    album, outside = tmp_path / "album", tmp_path / "outside"
    (album / "sub").mkdir(parents=True)
    (outside / "more").mkdir(parents=True)
    random_photo(album / "a.jpg", seed=1)
    random_photo(outside / "secret.jpg", seed=2)
    random_photo(outside / "more" / "b.jpg", seed=3)
    (album / "sub" / "same-as-a.jpg").symlink_to(album / "a.jpg")  # inside: followed
    (album / "secret.jpg").symlink_to(outside / "secret.jpg")  # outside: skipped
    (album / "passwd.jpg").symlink_to("/etc/passwd")  # outside: skipped, never read
    (album / "more").symlink_to(outside / "more", target_is_directory=True)  # outside folder: skipped
    (album / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")  # dangling
    return album


def test_links_outside_the_library_are_skipped_unless_allowed(tmp_path: Path, tree: Path,
                                                              db_location: Path | str) -> None:
    lib = open_library(db_location)
    try:
        add_folder(lib, tree)
        summary = scan_library(lib, workers=2)
        with lib.session() as s:
            paths = {os.path.relpath(p, tree) for p in s.scalars(select(Photo.path))}
        assert paths == {"a.jpg", "sub/same-as-a.jpg"}
        assert summary.skipped_links == 3 and "3 links to outside the library skipped" in summary.one_line()
        assert {os.path.relpath(p, tree) for p, _ in summary.skipped} == {"secret.jpg", "passwd.jpg", "more"}
        assert summary.failed == 0  # /etc/passwd was not read
        assert scan_library(lib, workers=2, follow_outside_links=True).new == 3  # secret, more/b, passwd
        update_settings(lib, follow_outside_links=False)
        assert scan_library(lib, workers=2).missing == 3
        update_settings(lib, follow_outside_links=True)
        assert scan_library(lib, workers=2).skipped_links == 0
    finally:
        lib.close()


def test_status_failed_lists_folders_and_links(capsys: pytest.CaptureFixture[str], tmp_path: Path, tree: Path,
                                               monkeypatch: pytest.MonkeyPatch, db_location: Path | str) -> None:
    locked = tree / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    db = str(db_location)
    assert main(["--db", db, "scan", "--no-faces", str(tree)]) == 0
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["--db", db, "status", "--failed"]) == 0
    text = capsys.readouterr().out
    assert f"unreadable folder: {locked}: cannot read folder: Permission denied" in text
    assert f"dangling link: {tree / 'gone.jpg'}: dangling link" in text
    assert f"link not followed: {tree / 'passwd.jpg'}: link to /etc/passwd, outside" in text
    assert main(["--db", db, "status", "--failed", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    problems = {(Path(p["path"]).name, p["kind"]) for p in status["not_scanned"]}
    assert problems == {("locked", "folder"), ("gone.jpg", "link"), ("passwd.jpg", "outside_link"),
                        ("secret.jpg", "outside_link"), ("more", "outside_link")}
    assert status["failed"] == []
    # The list is the last scan's: a folder readable again drops out of it.
    assert main(["--db", db, "scan", "--no-faces", "--json", "--follow-outside-links"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped_links"] == 0
    assert main(["--db", db, "status", "--failed", "--json"]) == 0
    assert {Path(p["path"]).name for p in json.loads(capsys.readouterr().out)["not_scanned"]} == {"gone.jpg"}
