"""One clear sentence for the database errors a user can cause: SQLite's (full disk, read-only files, a
locked file) and PostgreSQL's (server down, wrong password, missing database)."""

from __future__ import annotations

import sqlite3

from faceorg.store.location import LibraryLocation

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


_SERVER_MESSAGES = (
    ("integer out of range", "no such id: ids in a PostgreSQL library go up to 2147483647"),
    ("out of range for type integer", "no such id: ids in a PostgreSQL library go up to 2147483647"),
    ("deadlock detected", "another client of the library changed the same rows at the same moment: run it again"),
    ("could not serialize access", "another client of the library changed the same rows at the same moment: "
                                   "run it again"),
    ("server closed the connection", "the connection to the PostgreSQL server was lost: run it again"),
    ("terminating connection", "the PostgreSQL server ended the connection: run it again"),
    ("connection is closed", "the connection to the PostgreSQL server was lost: run it again"),
    ("no space left on device", "the PostgreSQL server's disk is full: ask its administrator to free some space"),
    ("permission denied", "the PostgreSQL user of this library may not do that (permission denied)"),
)


def explain(exc: BaseException) -> str | None:
    """A one-line explanation of a database error the user can act on, or None for anything else."""
    error = sqlite_error(exc)
    if error is None:
        server = _psycopg_error(exc)
        text = str(server).lower() if server is not None else ""
        return next((message for needle, message in _SERVER_MESSAGES if needle in text), None)
    text = str(error).lower()
    for needle, message in _MESSAGES:
        if needle in text:
            return message
    return None


def _psycopg_error(exc: BaseException) -> BaseException | None:
    """The psycopg error behind ``exc`` (SQLAlchemy wraps it as ``.orig``), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            if candidate is not None and type(candidate).__module__.startswith("psycopg"):
                return candidate
        current = current.__cause__ or current.__context__
    return None


def server_error(exc: BaseException, location: LibraryLocation) -> str | None:
    """One line for a PostgreSQL error a user can act on (server down, wrong password, no such database,
    no permission), naming the server without its password; None for anything else."""
    error = _psycopg_error(exc)
    if error is None:
        return None
    url = location.url
    assert url is not None
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    text = str(error).lower()
    who = url.username or "the current user"
    if "does not exist" in text and "database" in text:
        return (f"the PostgreSQL database {url.database!r} does not exist on {server}: create it first "
                f"(createdb -h {url.host or 'localhost'} {url.database}); faceorg then creates its tables")
    if "role" in text and "does not exist" in text:
        return f"the PostgreSQL server {server} has no user {who!r}: create it or give another user in the URL"
    if "password authentication failed" in text or "no password supplied" in text \
            or "authentication failed" in text:
        return (f"the PostgreSQL server {server} refused the password of user {who!r}: check the user and "
                "password in the URL (or in ~/.pgpass)")
    if "no pg_hba.conf entry" in text:
        return f"the PostgreSQL server {server} does not let user {who!r} in from this computer (pg_hba.conf)"
    if "connection refused" in text or "could not connect" in text or "timeout expired" in text:
        return (f"cannot reach the PostgreSQL server at {server} (connection refused or timed out): is it "
                "running and accepting TCP connections there?")
    if "could not translate host name" in text or "name or service not known" in text:
        return f"cannot find the PostgreSQL server {url.host!r}: check the host name in the URL"
    if "permission denied" in text:
        return (f"user {who!r} may not change the PostgreSQL database {url.database!r} on {server}: "
                f"faceorg needs to create and write tables there ({str(error).splitlines()[0]})")
    if "server closed the connection" in text or "connection is closed" in text \
            or "terminating connection" in text:
        return f"the connection to the PostgreSQL server {server} was lost: run the command again"
    return None
