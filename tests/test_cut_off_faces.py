"""Faces cut off by the photo's edge: their chips' black fill is not detail, and their quality counts
only the share of the face the photo shows (new scans, and existing libraries through migration 0012)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from PIL import Image
from sqlalchemy import select

from faceorg.detect.align import CHIP_TEMPLATE, align_chip, apply_transform, chip_inside
from faceorg.detect.quality import face_quality, sharpness, visible_share
from faceorg.people.gui_support import best_faces
from faceorg.people.ops import assign_faces_to_name
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.db import alembic_config
from faceorg.store.folders import add_folder
from faceorg.store.models import Face, FsPath, Person, Photo


def _landmarks_at(x: float, y: float, scale: float = 1.0) -> np.ndarray:
    """The chip template placed with its centre at (x, y) of an image, ``scale`` image pixels per chip pixel."""
    return (CHIP_TEMPLATE - 75.0) * scale + [x, y]


def test_inside_is_where_the_chip_is_not_black_fill() -> None:
    image = np.full((200, 300, 3), 180, np.uint8)
    for x, y in ((20, 100), (150, 10), (295, 190)):
        marks = _landmarks_at(x, y, 0.8)
        chip = align_chip(image, marks)
        inside = chip_inside(marks, 300, 200)
        grey = chip[:, :, 0].astype(int)
        # Away from the edge's one-pixel blend, inside is the image's grey and outside is black.
        assert 0 < inside.mean() < 1
        assert (grey[inside] > 0).mean() > 0.98 and (grey[~inside] == 0).mean() > 0.98
    whole = _landmarks_at(150, 100, 0.8)
    assert chip_inside(whole, 300, 200).all() and (align_chip(image, whole) > 0).all()


def test_the_share_visible_follows_the_edge() -> None:
    assert visible_share(chip_inside(_landmarks_at(150, 100), 300, 200)) == 1.0
    half = visible_share(chip_inside(_landmarks_at(0, 100), 300, 200))  # the edge through the nose
    assert 0.45 < half < 0.55
    assert visible_share(chip_inside(_landmarks_at(-200, 100), 300, 200)) == 0.0


def test_sharpness_ignores_the_black_fill() -> None:
    smooth = np.tile(np.linspace(60, 200, 150)[None, :, None], (150, 1, 3)).astype(np.uint8)  # no detail
    marks = _landmarks_at(10, 75)
    inside = chip_inside(marks, 150, 150)
    cut = smooth.copy()
    cut[~inside] = 0
    assert sharpness(cut) > 50  # the fill's edge looks like detail
    assert sharpness(cut, inside) < 1  # the gradient alone (its rounding to whole grey levels)
    texture = np.random.default_rng(0).integers(0, 256, (150, 150, 3), dtype=np.uint8)
    assert sharpness(texture, np.ones((150, 150), bool)) == sharpness(texture)


def test_quality_scales_with_the_share_visible() -> None:
    whole = face_quality(80, 80, 0.95, 60)
    assert face_quality(80, 80, 0.95, 60, visible=0.5) == pytest.approx(whole * 0.5)
    assert face_quality(80, 80, 0.95, 60, visible=1.0) == whole


def _cut_and_whole(photo: Path, folder: Path) -> None:
    """The same LFW face twice: whole, with room around it, and cut off at the photo's left edge."""
    with Image.open(photo) as im:
        face = im.convert("RGB")
    whole = Image.new("RGB", (450, 450), (200, 205, 210))
    whole.paste(face, (100, 100))
    whole.save(folder / "whole.jpg", quality=92)
    face.crop((110, 0, 250, 250)).save(folder / "cut.jpg", quality=92)  # the edge through the left eye


def test_a_face_cut_by_the_edge_is_not_the_cover(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    _cut_and_whole(shared_data / "lfw" / "images" / "Kofi_Annan" / "Kofi_Annan_0001.jpg", folder)
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, folder)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        with lib.session() as s:
            rows = {Path(p).name: (f, q) for f, p, q in s.execute(
                select(Face.id, Photo.path, Face.quality).join(Photo, Photo.id == Face.photo_id))}
        assert set(rows) == {"whole.jpg", "cut.jpg"}
        (whole, q_whole), (cut, q_cut) = rows["whole.jpg"], rows["cut.jpg"]
        assert q_cut < 0.8 * q_whole
        assign_faces_to_name(lib, [cut, whole], "Kofi")
        with lib.session() as s:
            person = s.scalar(select(Person.id).where(Person.name == "Kofi"))
        assert person is not None and best_faces(lib, [person]) == {person: whole}


OLD_FOLDERS = sa.table("library_folders", sa.column("id", sa.Integer), sa.column("path", FsPath()),
                       sa.column("added_at", sa.DateTime))
OLD_PHOTOS = sa.table("photos", sa.column("id", sa.Integer), sa.column("folder_id", sa.Integer),
                      sa.column("path", FsPath()), sa.column("size", sa.BigInteger),
                      sa.column("mtime_ns", sa.BigInteger), sa.column("width", sa.Integer),
                      sa.column("height", sa.Integer), sa.column("orientation", sa.Integer),
                      sa.column("status", sa.String), sa.column("is_collage", sa.Boolean))
OLD_FACES = sa.table("faces", sa.column("id", sa.Integer), sa.column("photo_id", sa.Integer),
                     sa.column("x", sa.Float), sa.column("y", sa.Float), sa.column("w", sa.Float),
                     sa.column("h", sa.Float), sa.column("landmarks", sa.JSON), sa.column("score", sa.Float),
                     sa.column("quality", sa.Float), sa.column("status", sa.String),
                     sa.column("manual", sa.Boolean), sa.column("created_at", sa.DateTime))


def test_the_migration_lowers_only_faces_cut_by_the_edge(db_location: Path | str) -> None:
    """Faces recorded before 0012: one well inside, one cut through the nose by the left edge, one near
    the bottom edge whose face area is still whole, one in a photo of unknown size."""
    placed = {1: (300.0, 200.0, 1), 2: (0.0, 200.0, 1), 3: (300.0, 330.0, 1), 4: (0.0, 200.0, 2)}
    with open_library(db_location) as lib:
        cfg = alembic_config(lib.engine)
        with lib.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010_photo_dates")  # to just before 0012_cut_off_faces
            conn.execute(sa.insert(OLD_FOLDERS), {"id": 1, "path": "/photos", "added_at": datetime(2026, 1, 1)})
            conn.execute(sa.insert(OLD_PHOTOS), [
                {"id": 1, "folder_id": 1, "path": "/photos/a.jpg", "size": 1, "mtime_ns": 1, "width": 600,
                 "height": 400, "orientation": 1, "status": "ok", "is_collage": False},
                {"id": 2, "folder_id": 1, "path": "/photos/b.jpg", "size": 1, "mtime_ns": 1, "width": None,
                 "height": None, "orientation": 1, "status": "ok", "is_collage": False}])
            conn.execute(sa.insert(OLD_FACES), [
                {"id": f, "photo_id": p, "x": x - 40, "y": y - 50, "w": 80, "h": 100,
                 "landmarks": apply_transform(np.array([[1.0, 0, x - 75], [0, 1.0, y - 75]]),
                                              CHIP_TEMPLATE).ravel().tolist(),
                 "score": 0.99, "quality": 0.9, "status": "normal", "manual": False,
                 "created_at": datetime(2026, 1, 1)} for f, (x, y, p) in placed.items()])
    with open_library(db_location) as lib, lib.session() as s:
        quality = dict(s.execute(select(Face.id, Face.quality)).all())
    assert quality[1] == quality[3] == quality[4] == 0.9
    assert 0.9 * 0.45 < quality[2] < 0.9 * 0.55
