"""The CLI contract of the foundation: scan, library list|add|remove, status --json, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run_cli as run
from tests.imagegen import random_photo

STATUS_KEYS = {"photos", "photos_failed", "photos_missing", "faces", "people", "named_people", "unassigned_faces"}


@pytest.fixture()
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    root.mkdir()
    for i in range(3):
        random_photo(root / f"{i}.jpg", seed=i)
    (root / "broken.jpg").write_bytes(b"nope")
    return root


def test_scan_then_status_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, album: Path) -> None:
    db = str(tmp_path / "lib.sqlite")
    code, out, _ = run(capsys, "--db", db, "scan", str(album), "--no-faces")
    assert code == 0
    assert out.startswith("Scanned: 4 photos in 1 folder, 4 new") and "1 failed" in out
    code, out, _ = run(capsys, "--db", db, "status", "--json")
    status = json.loads(out)
    assert status.keys() >= STATUS_KEYS
    assert (status["photos"], status["photos_failed"], status["photos_missing"]) == (3, 1, 0)
    code, out, _ = run(capsys, "--db", db, "status", "--json", "--failed")
    assert json.loads(out)["failed"][0]["error"] == "not an image, or an unsupported format"


def test_library_add_list_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path, album: Path) -> None:
    db = str(tmp_path / "lib.sqlite")
    assert run(capsys, "--db", db, "library", "add", str(album))[0] == 0
    code, out, _ = run(capsys, "--db", db, "library", "add", str(album / "."))
    assert code == 0 and "already in the library" in out
    (album / "sub").mkdir()
    code, out, _ = run(capsys, "--db", db, "library", "add", str(album / "sub"))
    assert "already in the library" in out
    run(capsys, "--db", db, "scan", "--no-faces")
    code, out, _ = run(capsys, "--db", db, "library", "list", "--json")
    folders = json.loads(out)
    assert [f["path"] for f in folders] == [str(album.resolve())] and folders[0]["photos"] == 4
    code, out, _ = run(capsys, "--db", db, "library", "remove", str(album))
    assert code == 0 and "no file was touched" in out
    assert (album / "0.jpg").exists()
    status = json.loads(run(capsys, "--db", db, "status", "--json")[1])
    assert status["photos"] == 0 and status["folders"] == 0


def test_adding_a_parent_absorbs_child_folders(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               album: Path) -> None:
    db = str(tmp_path / "lib.sqlite")
    (album / "kids").mkdir()
    random_photo(album / "kids" / "k.jpg")
    run(capsys, "--db", db, "scan", str(album / "kids"), "--no-faces")
    run(capsys, "--db", db, "scan", str(album), "--no-faces")
    folders = json.loads(run(capsys, "--db", db, "library", "list", "--json")[1])
    assert [f["path"] for f in folders] == [str(album.resolve())]
    assert folders[0]["photos"] == 5


@pytest.mark.parametrize("args,needle", [
    (["library", "remove", "/not/in/library"], "not a library folder"),
    (["library", "add", "/definitely/not/here"], "not a folder"),
    (["scan", "/definitely/not/here", "--no-faces"], "not a folder"),
])
def test_errors_are_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str],
                                   needle: str) -> None:
    code, out, err = run(capsys, "--db", str(tmp_path / "lib.sqlite"), *args)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("faceorg: error:") and needle in err
    assert "Traceback" not in err


def test_default_database_lives_in_the_data_folder(capsys: pytest.CaptureFixture[str],
                                                   isolated_data_dir: Path) -> None:
    status = json.loads(run(capsys, "status", "--json")[1])
    assert status["database"] == str(isolated_data_dir / "library.sqlite")


def test_app_without_a_display_says_so(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run(capsys, "--db", str(tmp_path / "lib.sqlite"), "gui")
    assert code == 1 and "no display" in err and err.count("\n") == 1
