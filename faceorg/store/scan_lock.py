"""One scan of a library at a time: an advisory lock on ``<database>.scan.lock`` held while it runs.

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
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from faceorg.errors import FaceorgError

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
