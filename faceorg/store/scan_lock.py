"""One scan of a library at a time: an advisory lock on ``<database>.scan.lock`` held while it runs
(on PostgreSQL, the server's advisory lock: :func:`server_scan_lock`).

The lock belongs to the open file (``flock`` on POSIX, a locked byte on Windows), so the system drops
it when the scanning process ends in any way, a kill included; the file itself stays, holding the pid
of the latest scan, and is reused. It is a separate file: SQLite's own locks on the database are
never touched.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, text

from faceorg.errors import FaceorgError
from faceorg.store.db import Library

log = logging.getLogger(__name__)

_WINDOWS_LOCK_AT = 1 << 20  # Windows locks are mandatory: lock a byte past the pid so it stays readable


def lock_path(db_path: Path) -> Path:
    return Path(f"{db_path}.scan.lock")


def _try_lock(f: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        f.seek(_WINDOWS_LOCK_AT)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def scan_lock(db_path: Path) -> Iterator[None]:
    """Hold the library's scan lock, or say that another scan of it is running (and which process)."""
    path = lock_path(db_path)
    try:
        f = open(path, "a+", encoding="ascii")  # noqa: SIM115 - held for the whole scan
    except OSError as exc:  # a read-only folder: the scan itself will say what is wrong
        log.info("cannot create the scan lock %s: %s", path, exc)
        f = None
    if f is None:
        yield
        return
    with f:
        if not _try_lock(f):
            f.seek(0)
            pid = f.read(32).strip()
            raise FaceorgError("another scan of this library is running" + (f" (pid {pid})" if pid.isdigit() else "")
                               + "; wait for it to finish, or stop it first")
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield  # closing the file releases the lock


SCAN_LOCK_KEY = 0x6661636F7267_02  # "faceorg" + 2: PostgreSQL's session-level advisory lock of the scan


@contextmanager
def server_scan_lock(engine: Engine) -> Iterator[None]:
    """A PostgreSQL library's scan lock: a session advisory lock on a connection held for the whole scan,
    which the server drops when that connection ends in any way (a killed client included). Another scan
    is named by the ``application_name`` its client gave (pid and computer)."""
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SCAN_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid = :hi AND l.objid = :lo"),
                {"hi": SCAN_LOCK_KEY >> 32, "lo": SCAN_LOCK_KEY & 0xFFFFFFFF}).scalar()
            raise FaceorgError("another scan of this library is running" + (f" ({holder})" if holder else "")
                               + "; wait for it to finish, or stop it first")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCAN_LOCK_KEY})
            conn.commit()


def library_scan_lock(library: Library) -> AbstractContextManager[None]:
    """The scan lock of ``library``: a lock file beside an SQLite file, an advisory lock on PostgreSQL."""
    if library.is_server:
        return server_scan_lock(library.engine)
    return scan_lock(library.path)
