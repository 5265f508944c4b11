"""The jobs the front ends run: scan-then-group resumes an interrupted grouping; removing a folder reports
what went with it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceorg.cli.main import main
from faceorg.jobs import remove_folder, scan_and_group
from faceorg.progress import Progress
from faceorg.store import Library, open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, Face

REPO = Path(__file__).resolve().parents[1]
PEOPLE = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"]


@pytest.fixture()
def photos(shared_data: Path, models_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for person in PEOPLE:
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:4]:
            shutil.copy(src, folder / src.name)
    return folder


def counts(lib: Library) -> tuple[int, int]:
    with lib.session() as s:
        return (s.scalar(select(func.count()).select_from(Face)) or 0,
                s.scalar(select(func.count()).select_from(Assignment)) or 0)


def cancel_when_grouping_starts() -> Progress:
    progress = Progress(lambda state: progress.cancel() if state.stage == "Grouping faces" else None)
    return progress


def test_cancelled_grouping_is_resumed_by_the_next_scan(capsys: pytest.CaptureFixture[str], photos: Path,
                                                        tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite"
    with open_library(db) as lib:
        add_folder(lib, photos)
        report = scan_and_group(lib, cancel_when_grouping_starts(), workers=2)
        assert report.cancelled and report.grouping is None and report.grouping_pending
        assert report.scan.new == 12 and not report.scan.cancelled
        faces, assigned = counts(lib)
        assert faces >= 12 and assigned == 0
    capsys.readouterr()
    assert main(["--db", str(db), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["grouping_pending"] is True
    assert main(["--db", str(db), "scan", "--json", "--workers", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["new"], out["grouping_resumed"], out["grouping_pending"]) == (0, True, False)
    assert out["grouping"]["faces_changed"] and set(out["grouping"]["faces_changed"]) <= set(
        out["changes"]["faces_changed"]
    )
    with open_library(db) as lib:
        assert counts(lib)[1] >= 9
    assert main(["--db", str(db), "status"]) == 0
    assert re.search(r"^grouping pending +no$", capsys.readouterr().out, re.MULTILINE)


KILL_AT_GROUPING = """
import os, signal, sys
from faceorg.jobs import scan_and_group
from faceorg.progress import Progress
from faceorg.store import open_library

def listener(state):
    if state.stage == "Grouping faces":
        os.kill(os.getpid(), signal.SIGKILL)

with open_library(sys.argv[1]) as lib:
    scan_and_group(lib, Progress(listener), workers=2)
"""


@pytest.mark.slow
def test_killed_grouping_is_resumed_by_the_next_scan(
    capsys: pytest.CaptureFixture[str], photos: Path, tmp_path: Path
) -> None:
    db = tmp_path / "lib.sqlite"
    assert main(["--db", str(db), "library", "add", str(photos)]) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_GROUPING, str(db)], env=env, capture_output=True, check=False, timeout=300
    )
    assert proc.returncode == -9, proc.stderr.decode()
    with open_library(db) as lib:
        faces, assigned = counts(lib)
        assert faces >= 12 and assigned == 0
    capsys.readouterr()
    assert main(["--db", str(db), "scan", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert " 0 new" in out and "Grouped the faces an interrupted grouping had left" in out
    with open_library(db) as lib:
        assert counts(lib)[1] >= 9


def test_remove_folder_reports_what_went(photos: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(next(photos.glob("Tony_Blair_*.jpg")), other / "tony.jpg")
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, photos)
        add_folder(lib, other)
        scan_and_group(lib, workers=2)
        with lib.session() as s:
            in_photos = set(s.scalars(select(Face.id).join(Face.photo).where(Face.photo.has(folder_id=1))))
            people = set(s.scalars(select(Assignment.person_id)))
        report = remove_folder(lib, photos)
        assert report.changes.faces_changed == in_photos and len(report.changes.photos_changed) == 12
        assert report.changes.people_removed | report.changes.people_changed == people
        assert report.one_line() == f"Removed {photos} and its 12 photo records (no file was touched)"
        assert report.as_dict()["folder"]["path"] == str(photos)
