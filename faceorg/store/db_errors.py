"""One clear sentence for the SQLite errors a user can cause (full disk, read-only files, a locked file)."""

from __future__ import annotations

import sqlite3

_DISK_FULL = ("the disk holding the library database is full: free some space and run the command again "
              "(the interrupted step was not saved, nothing else was lost)")
_READ_ONLY = ("the library database is read-only: faceorg needs to write to it and to its folder "
              "(for SQLite's -wal and -shm files)")
_CANNOT_OPEN = ("cannot open the library database: check that it exists and that you may read and write "
                "it and its folder")
_BUSY = "the library database is busy: another faceorg process is writing to it; try again when it is done"
_IO = "the disk holding the library database reported an input/output error (is it full, removed or failing?)"
_DAMAGED = ("the library database is damaged; restore it from a backup (faceorg keeps one beside it "
            "before each upgrade)")

_MESSAGES = (
    ("database or disk is full", _DISK_FULL),
    ("attempt to write a readonly database", _READ_ONLY),
    ("unable to open database file", _CANNOT_OPEN),
    ("database is locked", _BUSY),
    ("disk i/o error", _IO),
    ("file is not a database", "the library file is not an SQLite database"),
    ("database disk image is malformed", _DAMAGED),
)


def sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind ``exc`` (SQLAlchemy wraps it as ``.orig``), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            return current
        orig = getattr(current, "orig", None)
        if isinstance(orig, sqlite3.Error):
            return orig
        current = current.__cause__ or current.__context__
    return None


def explain(exc: BaseException) -> str | None:
    """A one-line explanation of a database error the user can act on, or None for anything else."""
    error = sqlite_error(exc)
    if error is None:
        return None
    text = str(error).lower()
    for needle, message in _MESSAGES:
        if needle in text:
            return message
    return None
