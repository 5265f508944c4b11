"""Errors a user can cause with the library's database give one clear line, never a traceback.

Each case runs the real command in a process of its own, as a user would.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from faceorg.store import open_library
from tests.imagegen import random_photo
from tests.libgen import foreign_database

REPO = Path(__file__).resolve().parents[1]
FROZEN = Path(__file__).parent / "data" / "libraries"

# Run the CLI with every SQLite connection unable to grow its database: SQLite's own "disk is full".
DISK_FULL = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def no_room(conn, _record):
    conn.execute("VACUUM")  # no free pages left inside the file (a migration that copies a table leaves some)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")

from faceorg.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

HOLD_SCAN_LOCK = """
import sys
from pathlib import Path
from faceorg.store.scan_lock import scan_lock
with scan_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), FACEORG_DATA_DIR=str(tmp_path / "data"))


def cli(tmp_path: Path, db: Path, *args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    head = ["-c", code] if code else ["-m", "faceorg"]
    return subprocess.run([sys.executable, *head, "--db", str(db), *args], env=_env(tmp_path), check=False,
                          capture_output=True, text=True, timeout=120)


def one_error_line(run: subprocess.CompletedProcess[str], exit_code: int = 1) -> str:
    """The single stderr line of a run that failed cleanly with ``exit_code``."""
    lines = run.stderr.strip().splitlines()
    assert run.returncode == exit_code, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    if exit_code == 1:
        assert len(lines) == 1 and lines[0].startswith("faceorg: error: "), run.stderr
    else:  # argparse: its usage, then one error line
        assert lines[-1].startswith("faceorg") and ": error: argument " in lines[-1], run.stderr
    return lines[-1]


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    """A library at the current schema (from the frozen 0002 one) with person 1, Ada."""
    folder = tmp_path / "lib"
    folder.mkdir()
    path = folder / "lib.sqlite"
    shutil.copyfile(FROZEN / "schema-0002.sqlite", path)
    open_library(path).close()
    return path


@pytest.fixture()
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    root.mkdir()
    for i in range(12):
        random_photo(root / f"{i}.jpg", seed=i)
    return root


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file or folder read-only for this user: permissions, or a read-only bind mount as root."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("running as root without permission to mount: cannot make a file read-only")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True, capture_output=True)


def test_library_of_a_newer_faceorg(tmp_path: Path, library: Path) -> None:
    with sqlite3.connect(library) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00d0099'")
    conn.close()
    line = one_error_line(cli(tmp_path, library, "status"))
    assert "made by a newer faceorg (schema revision f00d0099" in line


def test_another_applications_database(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    before = foreign_database(path)
    line = one_error_line(cli(tmp_path, path, "status"))
    assert "is not a faceorg library" in line
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("photos.db?*"))


def test_read_only_database_file(tmp_path: Path, library: Path) -> None:
    with read_only(library):
        assert cli(tmp_path, library, "status").returncode == 0  # reading needs no write access
        line = one_error_line(cli(tmp_path, library, "people", "name", "1", "Grace"))
    assert "read-only" in line
    with sqlite3.connect(library) as conn:
        assert conn.execute("SELECT name FROM people WHERE id = 1").fetchone() == ("Ada",)


def test_read_only_library_folder(tmp_path: Path, library: Path) -> None:
    with read_only(library.parent):
        line = one_error_line(cli(tmp_path, library, "people", "name", "1", "Grace"))
        assert "read-only" in line or "cannot open the library database" in line
        line = one_error_line(cli(tmp_path, library.parent / "new.sqlite", "status"))
        assert "cannot open the library database" in line


def test_full_disk(tmp_path: Path, library: Path, album: Path) -> None:
    assert cli(tmp_path, library, "library", "add", str(album)).returncode == 0
    line = one_error_line(cli(tmp_path, library, "scan", "--no-faces", code=DISK_FULL))
    assert "is full" in line


def test_two_scans_of_one_library(tmp_path: Path, library: Path, album: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SCAN_LOCK, str(library)], env=_env(tmp_path),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert cli(tmp_path, library, "library", "add", str(album)).returncode == 0
        line = one_error_line(cli(tmp_path, library, "scan", "--no-faces"))
        assert f"another scan of this library is running (pid {holder.pid})" in line
    finally:
        holder.kill()  # the lock goes with the process, however it ends
        holder.wait()
    done = cli(tmp_path, library, "scan", "--no-faces")
    assert done.returncode == 0, done.stderr
    assert "12 new" in done.stdout


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_workers_must_be_positive(tmp_path: Path, library: Path, album: Path, value: str) -> None:
    line = one_error_line(cli(tmp_path, library, "scan", str(album), "--no-faces", "--workers", value), 2)
    assert "--workers" in line


@pytest.mark.parametrize("args", [("people", "name", str(2**63), "Grace"), ("faces", "move", "1", "--to", str(2**64)),
                                  ("people", "hide", "0"), ("photos", "show", "-1")])
def test_ids_out_of_range(tmp_path: Path, library: Path, args: tuple[str, ...]) -> None:
    line = one_error_line(cli(tmp_path, library, *args), 2)
    assert "is not an id" in line
