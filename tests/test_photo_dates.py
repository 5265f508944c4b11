"""A photo's date (taken, else its file's time), stored with the photo and indexed, on SQLite and on PostgreSQL:
kept when a photo is recorded or rescanned, filled by migration 0010 for photos recorded before."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from faceorg.people.photos import date_key
from faceorg.store import open_library
from faceorg.store.db import alembic_config
from faceorg.store.models import FsPath, LibraryFolder, Photo


def test_the_date_is_the_date_taken_else_the_file_time(db_location: Path | str) -> None:
    filed_ns = int(datetime(2021, 6, 1, 9, 30, 0).timestamp()) * 1_000_000_000  # local time, as the key is
    with open_library(db_location) as lib:
        with lib.transaction() as s:
            folder = LibraryFolder(path="/photos")
            s.add(folder)
            s.flush()
            s.add_all([
                Photo(folder_id=folder.id, path="/photos/taken.jpg", size=1, mtime_ns=time.time_ns(),
                      taken_at=datetime(2019, 3, 4, 5, 6, 7)),
                Photo(folder_id=folder.id, path="/photos/filed.jpg", size=1, mtime_ns=filed_ns, taken_at=None),
            ])
        with lib.session() as s:
            rows = s.execute(select(Photo.path, date_key()).order_by(date_key())).all()
    assert [(str(p), d) for p, d in rows] == [("/photos/taken.jpg", "2019-03-04 05:06:07"),
                                              ("/photos/filed.jpg", "2021-06-01 09:30:00")]


OLD_FOLDERS = sa.table("library_folders", sa.column("id", sa.Integer), sa.column("path", FsPath()),
                       sa.column("added_at", sa.DateTime))
OLD_PHOTOS = sa.table("photos", sa.column("id", sa.Integer), sa.column("folder_id", sa.Integer),
                      sa.column("path", FsPath()), sa.column("size", sa.BigInteger),
                      sa.column("mtime_ns", sa.BigInteger), sa.column("orientation", sa.Integer),
                      sa.column("taken_at", sa.DateTime), sa.column("status", sa.String),
                      sa.column("is_collage", sa.Boolean))


def test_the_migration_gives_every_existing_photo_its_date(db_location: Path | str) -> None:
    """Photos recorded before 0010 get the key faceorg now stores with each photo: taken, else file time."""
    filed_ns = int(datetime(2021, 6, 1, 9, 30, 0).timestamp()) * 1_000_000_000 + 900_000_000  # floored
    with open_library(db_location) as lib:
        cfg = alembic_config(lib.engine)
        with lib.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011_people_listing")  # to just before 0010_photo_dates
            conn.execute(sa.insert(OLD_FOLDERS), {"id": 1, "path": "/photos", "added_at": datetime(2026, 1, 1)})
            conn.execute(sa.insert(OLD_PHOTOS), [
                {"id": i, "folder_id": 1, "path": f"/photos/{i}.jpg", "size": 1, "mtime_ns": filed_ns + i,
                 "orientation": 1, "taken_at": datetime(2019, 3, 4, 5, 6, 7, 500_000) if i % 2 else None,
                 "status": "ok", "is_collage": False} for i in range(1, 12_002)])  # more than one batch
    with open_library(db_location) as lib, lib.session() as s:
        keys = {pid: key for pid, key in s.execute(select(Photo.id, Photo.date_key))}
        inspector = sa.inspect(lib.engine)
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("photos")}
    assert len(keys) == 12_001
    assert {keys[i] for i in range(1, 12_002, 2)} == {"2019-03-04 05:06:07"}
    assert {keys[i] for i in range(2, 12_002, 2)} == {"2021-06-01 09:30:00"}
    assert indexes["ix_photos_by_date"] == ["status", "date_key", "id"]


def test_the_date_follows_a_new_date_taken_or_file_time(db_location: Path | str) -> None:
    """Recorded by the ORM (a scan) or inserted in bulk, a photo's stored date is its date taken, else its
    file time; a rescan that changes either changes it."""
    filed = datetime(2022, 2, 2, 2, 2, 2)
    filed_ns = int(filed.timestamp()) * 1_000_000_000
    with open_library(db_location) as lib:
        with lib.transaction() as s:
            folder = LibraryFolder(path="/photos")
            s.add(folder)
            s.flush()
            photo = Photo(folder_id=folder.id, path="/photos/a.jpg", size=1, mtime_ns=filed_ns)
            s.add(photo)
            s.flush()
            photo_id, folder_id = photo.id, folder.id
        with lib.session() as s:
            assert s.get(Photo, photo_id).date_key == "2022-02-02 02:02:02"  # type: ignore[union-attr]
        with lib.transaction() as s:
            s.get(Photo, photo_id).taken_at = datetime(2018, 1, 2, 3, 4, 5)  # type: ignore[union-attr]
        with lib.session() as s:
            assert s.get(Photo, photo_id).date_key == "2018-01-02 03:04:05"  # type: ignore[union-attr]
        with lib.transaction() as s:
            again = s.get(Photo, photo_id)
            assert again is not None
            again.taken_at, again.mtime_ns = None, filed_ns + 3_600 * 1_000_000_000
        with lib.session() as s:
            assert s.get(Photo, photo_id).date_key == "2022-02-02 03:02:02"  # type: ignore[union-attr]
        with lib.engine.begin() as conn:  # a bulk insert without the key gets it from the column's default
            conn.execute(sa.insert(Photo), [{"folder_id": folder_id, "path": "/photos/b.jpg", "size": 1,
                                             "mtime_ns": filed_ns, "taken_at": datetime(2017, 7, 7, 7, 7, 7)},
                                            {"folder_id": folder_id, "path": "/photos/c.jpg", "size": 1,
                                             "mtime_ns": filed_ns, "taken_at": None}])
        with lib.session() as s:
            rows = s.execute(select(Photo.path, Photo.date_key).order_by(Photo.id)).all()
    assert [(str(p), k) for p, k in rows][1:] == [("/photos/b.jpg", "2017-07-07 07:07:07"),
                                                  ("/photos/c.jpg", "2022-02-02 02:02:02")]
