"""Open a library database: SQLite in WAL mode with foreign keys, migrated on open after a backup."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from faceorg.errors import FaceorgError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", future=True)
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


def backup_database(path: Path, tag: str) -> Path:
    """Copy the database to ``<name>.backup-<tag>-<time>`` beside it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.backup-{tag}-{stamp}")
    copy_database(path, target)
    return target


def migrate(engine: Engine, path: Path) -> Path | None:
    """Bring the schema to the newest revision; back the file up first if it holds data.

    Returns the backup's path, or None when no backup was needed.
    """
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return None
    backup = None
    with engine.connect() as conn:
        has_tables = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type='table'").scalar_one() > 0
    if has_tables:
        backup = backup_database(path, current or "unversioned")
        log.info("backed up %s to %s before migrating %s -> %s", path, backup, current, head)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return backup


class Library:
    """An open library database. Thread-safe: each thread makes its own sessions."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new session; never share it across threads."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_library(path: str | Path, *, create: bool = True) -> Library:
    """Open (and if needed create and migrate) the library database at ``path``."""
    path = Path(path).expanduser().absolute()
    if not path.exists():
        if not create:
            raise FaceorgError(f"no library database at {path}")
        if not path.parent.is_dir():
            raise FaceorgError(f"cannot create the library database: folder {path.parent} does not exist")
    try:
        engine = make_engine(path)
        migrate(engine, path)
    except sqlite3.DatabaseError as exc:
        raise FaceorgError(f"cannot open the library database {path}: {exc}") from exc
    except Exception as exc:  # SQLAlchemy wraps sqlite3 errors
        orig = getattr(exc, "orig", None)
        if isinstance(orig, sqlite3.DatabaseError):
            raise FaceorgError(f"cannot open the library database {path}: {orig}") from exc
        raise
    return Library(path, engine)
