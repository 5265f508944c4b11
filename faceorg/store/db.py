"""Open a library database, migrated on open after a backup: an SQLite file in WAL mode with foreign keys
(the default), or a PostgreSQL database named by a ``postgresql://`` URL (see :mod:`faceorg.store.location`)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from faceorg.errors import FaceorgError
from faceorg.store.backups import backup_database, backup_server_database
from faceorg.store.db_errors import explain, server_error
from faceorg.store.location import LibraryLocation, parse_location
from faceorg.store.models import Operation
from faceorg.store.shared import default_client

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# The transaction-level advisory lock two processes take before migrating one PostgreSQL library.
MIGRATION_LOCK_KEY = 0x6661636F7267_01  # "faceorg" + 1


def client_name() -> str:
    """Who this process is, as PostgreSQL's ``application_name`` shows it to other clients."""
    return f"faceorg pid {os.getpid()} on {socket.gethostname()}"[:63]


def make_engine(location: Path | LibraryLocation) -> Engine:
    if isinstance(location, Path):
        location = LibraryLocation(location)
    if location.is_server:
        return create_engine(location.engine_url(), future=True, pool_pre_ping=True,
                             connect_args={"application_name": client_name(), "connect_timeout": 10})
    engine = create_engine(location.engine_url(), future=True)
    event.listen(engine, "connect", _on_connect)
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", str(engine.url))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _migration_engine(path: Path) -> Engine:
    """An engine whose transactions really hold DDL: pysqlite left alone runs ``ALTER``/``CREATE`` in
    autocommit, so a migration that fails half way leaves half a schema. Here the driver's own
    transaction handling is off and every transaction is an explicit ``BEGIN IMMEDIATE`` (the
    documented SQLAlchemy recipe), so a migration is all or nothing, and two processes opening an old
    library at once migrate it one after the other."""
    engine = create_engine(f"sqlite:///{path}", future=True)

    def on_connect(dbapi_conn: sqlite3.Connection, record: object) -> None:
        _on_connect(dbapi_conn, record)
        dbapi_conn.isolation_level = None

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def migrate(engine: Engine, path: Path | LibraryLocation) -> Path | None:
    """Bring the schema to the newest revision in one transaction; back the data up first if there is any.

    Returns the backup's path, or None when no backup was made. On PostgreSQL the backup is a
    ``pg_dump`` file when that program is there (else a logged warning, no backup: the migration is
    still one transaction), and two processes migrating at once wait for each other on an advisory lock.
    """
    location = path if isinstance(path, LibraryLocation) else LibraryLocation(path)
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return None
    backup = None
    with engine.connect() as conn:
        has_tables = bool(inspect(conn).get_table_names())
    if has_tables:
        tag = current or "unversioned"
        backup = backup_server_database(location, tag) if location.is_server else backup_database(location.path, tag)
        if backup is not None:
            log.info("backed up %s to %s before migrating %s -> %s", location.display, backup, current, head)
    migration_engine = make_engine(location) if location.is_server else _migration_engine(location.path)
    try:
        cfg = alembic_config(migration_engine)
        with migration_engine.begin() as conn:
            if location.is_server:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        migration_engine.dispose()
    return backup


class Library:
    """An open library database. Thread-safe: each thread makes its own sessions."""

    def __init__(self, path: Path | LibraryLocation, engine: Engine, *, client: str | None = None) -> None:
        self.location = path if isinstance(path, LibraryLocation) else LibraryLocation(path)
        self.path = self.location.path  # the file, or a server library's local stand-in (see location.py)
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.client = client or default_client()  # who the undo log says did this object's operations
        # The newest operation (anybody's) this client's user has seen: a change since then by another
        # client to the same people or faces makes this client's change a conflict (faceorg.people.undo).
        self.seen_operation = 0

    def mark_seen(self) -> int:
        """The user now sees the library as it is (opened, or the views refreshed): remember the newest
        operation, and return its id."""
        with self.session() as s:
            self.seen_operation = s.scalar(select(func.max(Operation.id))) or 0
        return self.seen_operation

    def session(self) -> Session:
        """A new session; never share it across threads."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @property
    def is_server(self) -> bool:
        """True for a PostgreSQL library (shared by several clients), False for an SQLite file."""
        return self.location.is_server

    @property
    def display(self) -> str:
        """The file's path or the server URL without its password."""
        return self.location.display

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


FACEORG_TABLES = frozenset({"photos", "faces", "people", "library_folders"})


def _peek(path: Path) -> tuple[set[str], str | None]:
    """The tables and the Alembic revision of an existing database, read without changing a byte."""
    conn = sqlite3.connect(f"file:{quote(os.fsencode(path))}?mode=ro", uri=True)  # any file name, even not UTF-8
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revision = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return tables, revision
    finally:
        conn.close()


def check_is_library(path: Path) -> None:
    """Refuse another application's database, and a library made by a newer faceorg, before any write."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        tables, revision = _peek(path)
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise FaceorgError(f"cannot open the library database {path}: {exc}") from exc
        return  # e.g. a WAL database in a folder we may not write: the open below says why
    _check_tables(str(path), tables, revision, "SQLite")


def _server_tables(engine: Engine) -> tuple[set[str], str | None]:
    """A PostgreSQL library's tables and Alembic revision, read without writing."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        revision = None
        if "alembic_version" in tables:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return tables, revision


def _check_tables(name: str, tables: set[str], revision: str | None, kind: str) -> None:
    foreign = (tables and "alembic_version" not in tables) or (revision and not tables >= FACEORG_TABLES)
    if foreign:
        some = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise FaceorgError(f"{name} is not a faceorg library: it is another application's {kind} database "
                           f"(tables {some}); faceorg leaves it untouched. Choose another "
                           f"{'file' if kind == 'SQLite' else 'database'} with --db")
    if revision and revision not in known_revisions():
        from faceorg import __version__

        raise FaceorgError(f"the library {name} was made by a newer faceorg (schema revision {revision}; "
                           f"faceorg {__version__} knows revisions up to {head_revision()}): "
                           "install the newer faceorg to open it")


def _open_server(location: LibraryLocation) -> Library:
    engine = make_engine(location)
    try:
        tables, revision = _server_tables(engine)
        _check_tables(location.display, tables, revision, "PostgreSQL")
        migrate(engine, location)
    except Exception as exc:
        engine.dispose()
        message = server_error(exc, location)
        if message is not None:
            raise FaceorgError(message) from exc
        raise
    library = Library(location, engine)
    library.mark_seen()
    return library


def open_library(path: str | Path | LibraryLocation, *, create: bool = True) -> Library:
    """Open (and if needed create and migrate) the library ``path``: an SQLite file's path, or a
    PostgreSQL URL (whose database must exist; its tables are created on first use)."""
    location = path if isinstance(path, LibraryLocation) else parse_location(path)
    if location.is_server:
        return _open_server(location)
    path = location.path
    if not path.exists():
        if not create:
            raise FaceorgError(f"no library database at {path}")
        if not path.parent.is_dir():
            raise FaceorgError(f"cannot create the library database: folder {path.parent} does not exist")
    check_is_library(path)
    engine = make_engine(path)
    try:
        migrate(engine, path)
    except Exception as exc:  # SQLAlchemy wraps sqlite3 errors
        engine.dispose()
        message = explain(exc)
        if message is not None:
            raise FaceorgError(f"{message} ({path})") from exc
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.DatabaseError):
            raise FaceorgError(f"cannot open the library database {path}: {orig}") from exc
        raise
    library = Library(path, engine)
    library.mark_seen()
    return library
