"""The library store: SQLite settings, migrations on open with a backup, schema equal to the models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from faceorg.errors import FaceorgError
from faceorg.store import open_library
from faceorg.store.backups import backups_of
from faceorg.store.db import alembic_config, head_revision
from faceorg.store.models import Base, Embedding, Face, LibraryFolder, ModelVersion, Photo


def test_new_library_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as lib, lib.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_from_empty_matches_models(db_location: Path | str) -> None:
    with open_library(db_location) as lib, lib.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert ctx.get_current_revision() == head_revision()
        assert compare_metadata(ctx, Base.metadata) == []


def test_migration_backs_up_first(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    with open_library(path) as lib, lib.transaction() as s:
        s.add(LibraryFolder(path="/photos"))
    # Take the database back to before the first migration, keeping an extra table with data.
    with open_library(path) as lib:
        cfg = alembic_config(lib.engine)
        with lib.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.exec_driver_sql("CREATE TABLE keepme (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO keepme VALUES (42)")
    assert not list(tmp_path.glob("lib.sqlite.backup-*"))
    with open_library(path):
        pass
    backups = list(tmp_path.glob("lib.sqlite.backup-*"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT x FROM keepme").fetchall() == [(42,)]


def test_adding_runtime_files_keeps_every_embedding(db_location: Path | str) -> None:
    """0001 -> 0002 adds columns in place: the model_versions table is not copied, so no embedding
    (which cascades from it) is lost. The migration is backed up first (on PostgreSQL by pg_dump)."""
    path = db_location
    with open_library(path) as lib, lib.transaction() as s:
        stand_in = lib.path  # the SQLite file, or where a server library's backups go
        version = ModelVersion(name="dlib-v1", kind="base", file_name="e.onnx", sha256="0" * 64, active=True)
        photo = Photo(path="/p/a.jpg", folder=LibraryFolder(path="/p"), size=1, mtime_ns=0)
        s.add_all([version, photo])
        s.flush()
        face = Face(photo_id=photo.id, x=0, y=0, w=10, h=10, landmarks=[0.0] * 10, score=0.9)
        s.add(face)
        s.flush()
        s.add(Embedding(face_id=face.id, model_version_id=version.id, vector=b"v" * 512))
    with open_library(path) as lib:
        cfg = alembic_config(lib.engine)
        with lib.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
    with open_library(path) as lib, lib.session() as s:
        assert s.query(Embedding).count() == 1
        assert s.query(ModelVersion).one().runtime_file is None
    assert len(backups_of(stand_in)) == 1


def test_opening_twice_needs_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    open_library(path).close()
    open_library(path).close()
    assert not list(tmp_path.glob("*.backup-*"))


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(FaceorgError, match="cannot open the library database"):
        open_library(path)


def test_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FaceorgError, match="does not exist"):
        open_library(tmp_path / "nope" / "lib.sqlite")
