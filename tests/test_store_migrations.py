"""Libraries of every released schema open and migrate; a failed migration changes nothing and is
retried on the next open without piling up backups; a foreign SQLite file is refused untouched."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import op

from faceorg.errors import FaceorgError
from faceorg.store import open_library
from faceorg.store.backups import KEEP_BACKUPS, backup_database, backups_of
from faceorg.store.db import head_revision
from tests.libgen import foreign_database

FROZEN = Path(__file__).parent / "data" / "libraries"
RELEASED = ("0001", "0002", "0004_prompts")


def _frozen(revision: str, tmp_path: Path) -> Path:
    path = tmp_path / "lib.sqlite"
    shutil.copyfile(FROZEN / f"schema-{revision}.sqlite", path)
    return path


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.mark.parametrize("revision", RELEASED)
def test_released_schema_opens_and_keeps_its_rows(revision: str, tmp_path: Path) -> None:
    path = _frozen(revision, tmp_path)
    assert _revision(path) == revision
    with open_library(path) as lib, lib.engine.connect() as conn:
        q = conn.exec_driver_sql
        assert q("SELECT version_num FROM alembic_version").scalar_one() == head_revision()
        assert q("SELECT path FROM library_folders").scalars().all() == ["/photos"]
        assert q("SELECT path, status, error FROM photos ORDER BY id").all() == [
            ("/photos/a.jpg", "ok", None), ("/photos/b.jpg", "failed", "not an image")]
        assert q("SELECT id, status, manual FROM faces ORDER BY id").all() == [(1, "normal", 0), (2, "ignored", 1)]
        assert q("SELECT id, name, hidden, cover_face_id FROM people ORDER BY id").all() == [
            (1, "Ada", 0, 1), (2, None, 1, None)]
        assert q("SELECT face_id, person_id, source FROM assignments ORDER BY face_id").all() == [
            (1, 1, "user"), (2, 2, "auto")]
        assert q("SELECT count(*), sum(length(vector)) FROM embeddings").one() == (2, 1024)
        assert q("SELECT face_a, face_b FROM cannot_link").all() == [(1, 2)]
        assert q("SELECT face_id, person_id FROM face_not_person").all() == [(2, 1)]
        assert q("SELECT image FROM face_chips").scalar_one() == b"\xff\xd8\xff\xd9"
        assert q("SELECT value FROM settings WHERE key='grouping'").scalar_one() == '{"strictness": 0.5}'
        assert q("SELECT label FROM operations").scalars().all() == ["Name Ada"]
        runtime = q("SELECT runtime_file FROM model_versions").scalar_one()
        assert runtime == (None if revision == "0001" else "embedder-dlib-v1.int8.onnx")
        if revision >= "0003":
            assert q("SELECT key FROM library_state").scalars().all() == ["grouping_pending"]
        if revision >= "0004":
            assert q("SELECT key, answer FROM prompt_answers").all() == [("same:1:2", "no")]
    assert len(backups_of(path)) == (0 if revision == head_revision() else 1)


def _fail_after_first_add_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make migration 0002 die between its two ALTER TABLEs, as a crash or a full disk would."""
    real = op.add_column

    def add_column(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        raise RuntimeError("interrupted half way")

    monkeypatch.setattr(op, "add_column", add_column)


def test_interrupted_migration_changes_nothing_and_is_retried(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = _frozen("0001", tmp_path)
    before = _columns(path, "model_versions")
    with monkeypatch.context() as patch:
        _fail_after_first_add_column(patch)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="interrupted"):
                open_library(path)
            assert _columns(path, "model_versions") == before  # the first ALTER was rolled back
            assert _revision(path) == "0001"
    assert len(backups_of(path)) == 1  # the failed opens did not copy the unchanged library again
    with open_library(path) as lib, lib.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM model_versions").scalar_one() == "dlib-v1"
    assert {"runtime_file", "runtime_sha256"} <= set(_columns(path, "model_versions"))
    assert len(backups_of(path)) == 1


KILL_HALF_WAY = """
import sys, time
from alembic import op
real = op.add_column
def add_column(*args, **kwargs):
    real(*args, **kwargs)
    print("half way", flush=True)
    time.sleep(600)
op.add_column = add_column
from faceorg.store import open_library
open_library(sys.argv[1])
"""


def test_migration_killed_half_way_is_redone_on_the_next_open(tmp_path: Path) -> None:
    path = _frozen("0001", tmp_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", KILL_HALF_WAY, str(path)], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "half way"
    finally:
        proc.kill()
        proc.wait()
    assert _revision(path) == "0001"
    with open_library(path) as lib, lib.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT runtime_file, name FROM model_versions").one() == (None, "dlib-v1")
    assert len(backups_of(path)) == 1


def test_backups_are_bounded_and_repeated_only_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    first = backup_database(path, "0001")
    assert backup_database(path, "0001") == first
    made = [first]
    for i in range(KEEP_BACKUPS + 2):
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO t VALUES (?)", (i,))
        made.append(backup_database(path, "0001"))
    assert len(set(made)) == len(made) == KEEP_BACKUPS + 3
    assert backups_of(path) == made[-KEEP_BACKUPS:]
    with sqlite3.connect(made[-1]) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (KEEP_BACKUPS + 2,)


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    before = foreign_database(path)
    with pytest.raises(FaceorgError, match="is not a faceorg library"):
        open_library(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite"]


def test_library_of_a_newer_faceorg_is_refused(tmp_path: Path) -> None:
    path = _frozen("0002", tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(FaceorgError, match=r"made by a newer faceorg \(schema revision 0099"):
        open_library(path)
    assert path.read_bytes() == before
