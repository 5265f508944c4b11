"""PostgreSQL as the library store: `--db postgresql://...` for the commands, one clear line for a server
that is down, a missing database or user, the scan lock as an advisory lock that dies with its process,
ids never reused, and a foreign database left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from faceorg.errors import FaceorgError
from faceorg.store import open_library
from faceorg.store.location import parse_location
from faceorg.store.models import LibraryFolder, Person, Photo
from tests.clirun import run_cli
from tests.imagegen import random_photo

REPO = Path(__file__).resolve().parents[1]


def _one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("faceorg: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_urls_and_paths_name_the_right_store(isolated_data_dir: Path) -> None:
    for text in ("postgresql://ann:secret@db.example:5433/photos", "postgresql+psycopg://ann:secret@db.example:5433/photos"):
        where = parse_location(text)
        assert where.is_server and where.url is not None and where.url.drivername == "postgresql+psycopg"
        assert where.display == "postgresql://ann:***@db.example:5433/photos"  # never the password
        assert where.name == "photos on db.example"
        assert parse_location(where.target) == where  # what another process is given to open it again
        assert where.path.parent == isolated_data_dir / "servers"  # its local files (models, backups)
    assert parse_location("postgresql://ann@db.example/photos").path != parse_location(
        "postgresql://ann@db.example/other").path
    assert not parse_location("lib.sqlite").is_server
    with pytest.raises(FaceorgError, match="unsupported library database URL mysql://ann:\\*\\*\\*@h/db"):
        parse_location("mysql://ann:secret@h/db")
    with pytest.raises(FaceorgError, match="names no database"):
        parse_location("postgresql://ann@h")


def test_a_server_that_is_not_there_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = _one_line(*run_cli(capsys, "--db", f"postgresql://ann:pw@127.0.0.1:{port}/photos", "status")[::2])
    assert f"cannot reach the PostgreSQL server at 127.0.0.1:{port}" in line and "pw" not in line


def test_missing_database_and_user_are_one_line(capsys: pytest.CaptureFixture[str], postgres_server: str) -> None:
    url = make_url(postgres_server)
    missing = url.set(database="faceorg_no_such_db").render_as_string(hide_password=False)
    line = _one_line(*run_cli(capsys, "--db", missing, "people", "list")[::2])
    assert "database 'faceorg_no_such_db' does not exist" in line and "createdb" in line
    nobody = url.set(username="faceorg_no_such_user").render_as_string(hide_password=False)
    line = _one_line(*run_cli(capsys, "--db", nobody, "status")[::2])
    assert "has no user 'faceorg_no_such_user'" in line


def test_cli_on_a_server_library(capsys: pytest.CaptureFixture[str], postgres_database: str, tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for i in range(3):
        random_photo(album / f"{i}.jpg", seed=i)
    code, out, err = run_cli(capsys, "--db", postgres_database, "scan", "--no-faces", "--json", str(album))
    assert code == 0, err
    assert json.loads(out)["new"] == 3
    code, out, err = run_cli(capsys, "--db", postgres_database, "status", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["photos"] == 3 and status["database"].startswith("postgresql://")
    with open_library(postgres_database) as lib, lib.session() as s:
        sizes = {p.path: (p.size, p.mtime_ns) for p in s.scalars(select(Photo))}
    assert sizes == {str(album / f"{i}.jpg"): ((album / f"{i}.jpg").stat().st_size,
                                              (album / f"{i}.jpg").stat().st_mtime_ns) for i in range(3)}
    assert min(m for _, m in sizes.values()) > 2**31  # nanosecond times need PostgreSQL's bigint


HOLD_SCAN_LOCK = """
import sys
from faceorg.store import open_library
from faceorg.store.scan_lock import library_scan_lock
with open_library(sys.argv[1]) as lib, library_scan_lock(lib):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_one_scan_at_a_time_and_the_lock_dies_with_its_process(capsys: pytest.CaptureFixture[str],
                                                               postgres_database: str, tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    random_photo(album / "a.jpg", seed=1)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SCAN_LOCK, postgres_database], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert run_cli(capsys, "--db", postgres_database, "library", "add", str(album))[0] == 0
        line = _one_line(*run_cli(capsys, "--db", postgres_database, "scan", "--no-faces")[::2])
        assert f"another scan of this library is running (faceorg pid {holder.pid} on" in line
    finally:
        holder.kill()  # the server drops the lock with the connection, however the process ends
        holder.wait()
    code, out, err = run_cli(capsys, "--db", postgres_database, "scan", "--no-faces")
    assert code == 0 and "1 new" in out, err


def test_ids_are_never_reused(postgres_database: str) -> None:
    with open_library(postgres_database) as lib:
        with lib.transaction() as s:
            people = [Person(name=n) for n in ("A", "B")]
            s.add_all(people)
        with lib.transaction() as s:
            s.delete(s.get(Person, people[1].id))
        with lib.transaction() as s:
            again = Person(name="C")
            s.add(again)
        assert again.id > people[1].id


def test_another_applications_database_is_left_alone(postgres_database: str) -> None:
    with psycopg.connect(postgres_database.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
    with pytest.raises(FaceorgError, match="not a faceorg library: it is another application's PostgreSQL database"):
        open_library(postgres_database)
    with psycopg.connect(postgres_database.replace("+psycopg", ""), autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"notes"}


def test_two_processes_opening_a_new_library_migrate_it_once(postgres_database: str) -> None:
    script = "import sys; from faceorg.store import open_library; open_library(sys.argv[1]).close(); print('ok')"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    runs = [subprocess.Popen([sys.executable, "-c", script, postgres_database], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for r in runs:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0 and out.strip() == "ok", err
    with open_library(postgres_database) as lib, lib.transaction() as s:
        s.add(LibraryFolder(path="/photos"))


def test_an_id_past_postgres_integers_is_one_line(capsys: pytest.CaptureFixture[str], postgres_database: str) -> None:
    line = _one_line(*run_cli(capsys, "--db", postgres_database, "people", "name", str(2**40), "Ada")[::2])
    assert "no such id" in line


def test_without_pg_dump_a_migration_says_it_made_no_backup(postgres_database: str, caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    from faceorg.store import backups
    from faceorg.store.backups import backups_of
    from faceorg.store.db import alembic_config, head_revision

    with open_library(postgres_database) as lib:
        stand_in = lib.path
        cfg = alembic_config(lib.engine)
        with lib.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003_scan")
    monkeypatch.setattr(backups, "find_pg_dump", lambda: None)
    with caplog.at_level("WARNING"), open_library(postgres_database) as lib, lib.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    assert "not backing up postgresql://" in caplog.text and "pg_dump is not installed" in caplog.text
    assert backups_of(stand_in) == []


def test_a_retrained_model_file_reaches_the_libraries_other_computers(postgres_database: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Computer A retrains (its files land in A's local folder for the library); computer B, with its own
    data folder, gets the very same files from the database when it uses that version."""
    from faceorg.files import bytes_sha256
    from faceorg.store.models import ModelVersion
    from faceorg.versions.files import library_models_dir, runtime_model_path, verified_model_path

    model, runtime = b"float32 model " * 1000, b"int8 copy " * 500
    monkeypatch.setenv("FACEORG_DATA_DIR", str(tmp_path / "computer-a"))
    with open_library(postgres_database) as lib:
        folder_a = library_models_dir(lib)
        (folder_a / "v2.onnx").write_bytes(model)
        (folder_a / "v2.int8.onnx").write_bytes(runtime)
        with lib.transaction() as s:
            s.add(ModelVersion(name="v2", kind="head", file_name="v2.onnx", sha256=bytes_sha256(model), active=True,
                               runtime_file="v2.int8.onnx", runtime_sha256=bytes_sha256(runtime)))
        with lib.session() as s:
            version = s.scalars(select(ModelVersion)).one()
        assert verified_model_path(lib, version) == folder_a / "v2.onnx"  # used on A: stored for the others
        runtime_model_path(lib, version)
    monkeypatch.setenv("FACEORG_DATA_DIR", str(tmp_path / "computer-b"))
    with open_library(postgres_database) as lib:
        folder_b = library_models_dir(lib)
        assert folder_b != folder_a and not (folder_b / "v2.onnx").exists()
        assert verified_model_path(lib, version).read_bytes() == model
        assert runtime_model_path(lib, version).read_bytes() == runtime
        (folder_b / "v2.onnx").write_bytes(b"tampered")  # a changed local copy is replaced by the recorded one
        assert verified_model_path(lib, version).read_bytes() == model
