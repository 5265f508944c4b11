"""Backups of a library database taken before a migration: consistent, not repeated, bounded in number
(an SQLite file's copy beside it; a PostgreSQL library's ``pg_dump`` in the data folder)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from faceorg.files import sha256_file, temp_sibling
from faceorg.store.location import LibraryLocation

log = logging.getLogger(__name__)

KEEP_BACKUPS = 3  # migration backups kept beside a database; older ones are deleted


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a library database (its WAL included), even while it is open."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def backups_of(path: Path) -> list[Path]:
    """The migration backups beside ``path``, oldest first."""
    found = [p for p in path.parent.glob(f"{glob_escape(path.name)}.backup-*") if _order(path, p) is not None]
    return sorted(found, key=lambda p: _order(path, p) or ("", 0))


def _order(path: Path, backup: Path) -> tuple[str, int] | None:
    """(time stamp, serial) of one of ``path``'s backups, or None for another file."""
    match = re.fullmatch(re.escape(path.name) + r"\.backup-.+-(\d{8}-\d{6})(?:-(\d+))?", backup.name)
    return (match[1], int(match[2] or 1)) if match else None


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def backup_database(path: Path, tag: str) -> Path:
    """Copy the database to ``<name>.backup-<tag>-<time>`` beside it, unless the newest backup with
    the same tag already holds exactly this content (a migration that failed and is tried again):
    then that one is returned. At most :data:`KEEP_BACKUPS` backups are kept."""
    temp = temp_sibling(path)
    try:
        copy_database(path, temp)
        same_tag = [p for p in backups_of(path) if p.name.startswith(f"{path.name}.backup-{tag}-")]
        if same_tag and sha256_file(same_tag[-1]) == sha256_file(temp):
            log.info("the database is unchanged since its backup %s; not copying it again", same_tag[-1])
            return same_tag[-1]
        target = _fresh_name(path, tag)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    for old in backups_of(path)[:-KEEP_BACKUPS]:
        if old != target:
            log.info("deleting the old backup %s", old)
            old.unlink(missing_ok=True)
    return target


def _fresh_name(path: Path, tag: str) -> Path:
    """``<name>.backup-<tag>-<time>``, with a serial after the time when that second already has one."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    serial = max((n for s, n in filter(None, (_order(path, p) for p in backups_of(path))) if s == stamp),
                 default=0) + 1
    return path.with_name(f"{path.name}.backup-{tag}-{stamp}" + (f"-{serial}" if serial > 1 else ""))


def find_pg_dump() -> str | None:
    """The ``pg_dump`` program: on PATH, else the newest in Debian's ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"),
                        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(candidates[-1]) if candidates else None


def backup_server_database(location: LibraryLocation, tag: str) -> Path | None:
    """A ``pg_dump`` (custom format) of a PostgreSQL library before a migration, kept in the data folder
    beside its stand-in path (``<stand-in>.backup-<tag>-<time>``, at most :data:`KEEP_BACKUPS`).

    Without ``pg_dump``, or when it fails (say an older pg_dump than the server), no backup is made and a
    warning says why: the migration itself is one transaction on PostgreSQL, so a failed one changes
    nothing. Returns the backup's path or None.
    """
    assert location.url is not None
    program = find_pg_dump()
    if program is None:
        log.warning("not backing up %s before migrating: pg_dump is not installed", location.display)
        return None
    url = location.url
    target = _fresh_name(location.path, tag)
    temp = temp_sibling(target)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [program, "--format=custom", "--no-owner", f"--file={temp}", f"--dbname={url.database}"]
    args += [f"--host={url.host}"] if url.host else []
    args += [f"--port={url.port}"] if url.port else []
    args += [f"--username={url.username}"] if url.username else []
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600, check=False)
        failed = done.returncode != 0
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed, reason = True, str(exc)
    if failed:
        temp.unlink(missing_ok=True)
        log.warning("not backing up %s before migrating: pg_dump failed (%s)", location.display, reason)
        return None
    temp.replace(target)
    for old in backups_of(location.path)[:-KEEP_BACKUPS]:
        if old != target:
            log.info("deleting the old backup %s", old)
            old.unlink(missing_ok=True)
    return target
