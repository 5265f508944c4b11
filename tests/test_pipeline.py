"""The face pipeline inside `faceorg scan`, on real photos: faces, chips, embeddings, resumable, user decisions kept."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from faceorg.people import ops
from faceorg.pipeline.analyzer import decode_chip
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, Embedding, Face, FaceChip, Photo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def annotated(shared_data: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "annotated"
    shutil.copytree(shared_data / "photos-annotated", folder, ignore=shutil.ignore_patterns("*.xml"))
    return folder


def test_scan_finds_faces_on_real_photos(models_dir: Path, annotated: Path, tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, annotated)
        summary = scan_library(lib, analyzer=analyzer_for_library(lib))
        assert summary.faces_found == 68 and summary.analyzed == 12
        with lib.session() as s:
            counts = {Path(p.path).name: p.face_count for p in s.scalars(select(Photo))}
            assert counts["dogs.jpg"] == 0 and counts["bald_guys.jpg"] == 24
            assert counts["Tom_Cruise_avp_2014_4.jpg"] == 1
            assert s.scalar(select(func.count()).select_from(FaceChip)) == 68
            vectors = np.stack([np.frombuffer(e.vector, np.float32) for e in s.scalars(select(Embedding))])
            features = np.stack([np.frombuffer(e.features, np.float32) for e in s.scalars(select(Embedding))])
            chip = decode_chip(s.scalars(select(FaceChip)).first().image)
            faces = list(s.scalars(select(Face)))
        assert vectors.shape == (68, 128) and features.shape == (68, 256)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert chip.shape == (150, 150, 3)
        assert all(0 <= f.quality <= 1 and f.blur is not None for f in faces)
        # A rescan changes nothing.
        again = scan_library(lib, analyzer=analyzer_for_library(lib))
        assert again.analyzed == 0 and again.faces_found == 0


def test_boxes_are_in_upright_photo_pixels(models_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    """A photo stored rotated with an EXIF tag gets boxes on the upright photo."""
    src = Image.open(shared_data / "photos-annotated" / "Tom_Cruise_avp_2014_4.jpg").convert("RGB")
    folder = tmp_path / "rot"
    folder.mkdir()
    src.save(folder / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated 90 degrees: viewers turn it clockwise
    src.transpose(Image.Transpose.ROTATE_90).save(folder / "rotated.jpg", quality=95, exif=exif)
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, folder)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        with lib.session() as s:
            boxes = {Path(p).name: (x, y, w, h) for p, x, y, w, h in s.execute(
                select(Photo.path, Face.x, Face.y, Face.w, Face.h).join(Face, Face.photo_id == Photo.id))}
    assert np.allclose(boxes["upright.jpg"], boxes["rotated.jpg"], atol=6)


def test_rescan_after_edit_keeps_user_decisions(models_dir: Path, annotated: Path, tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, annotated)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        with lib.session() as s:
            tom = s.scalars(select(Face).join(Photo).where(Photo.path.like("%Tom_Cruise%"))).one()
        ops.create_person(lib, "Tom", [tom.id])
        # An editor rewrites the file (new bytes, same picture): it is analysed again.
        path = annotated / "Tom_Cruise_avp_2014_4.jpg"
        Image.open(path).save(path, quality=97)
        summary = scan_library(lib, analyzer=analyzer_for_library(lib))
        assert summary.changed == 1 and summary.analyzed == 1
        with lib.session() as s:
            a = s.get(Assignment, tom.id)
            assert a is not None and a.source.value == "user"
            assert s.scalar(select(func.count()).select_from(Face).join(Photo)
                            .where(Photo.path.like("%Tom_Cruise%"))) == 1


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=0.1) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_killed_scan_with_faces_resumes_without_duplicates(models_dir: Path, shared_data: Path,
                                                           tmp_path: Path) -> None:
    folder = tmp_path / "lfw"
    folder.mkdir()
    people = sorted((shared_data / "lfw" / "images").iterdir())[:60]
    for person in people:
        for photo in sorted(person.iterdir())[:2]:
            shutil.copy(photo, folder / photo.name)
    n_photos = len(list(folder.iterdir()))
    db = tmp_path / "lib.sqlite"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "faceorg", "--db", str(db), "scan", str(folder), "--batch-size", "4", "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and _count(db, "faces") < 8:
        time.sleep(0.02)
    assert proc.poll() is None, "the scan ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial_faces = _count(db, "faces")
    assert partial_faces > 0
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    with sqlite3.connect(db) as conn:
        photos = conn.execute("SELECT count(*), sum(faces_key IS NOT NULL) FROM photos").fetchone()
        dup = conn.execute("SELECT count(*) FROM (SELECT photo_id, round(x), round(y) FROM faces "
                           "GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
        chips = conn.execute("SELECT count(*) FROM faces LEFT JOIN face_chips ON face_chips.face_id = faces.id "
                             "WHERE face_chips.face_id IS NULL").fetchone()[0]
    assert photos == (n_photos, n_photos)
    assert dup == 0 and chips == 0
