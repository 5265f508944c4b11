"""Where a library lives: an SQLite file (the default) or a PostgreSQL database named by a URL.

``--db`` takes either a file path or a URL ``postgresql://user[:password]@host[:port]/dbname`` (also
``postgresql+psycopg://``; the psycopg 3 driver is always the one used). A server library has no file
beside which faceorg could keep its own files (retrained model versions, backups), so it gets a local
stand-in path in the data folder, unique per server and database: :attr:`LibraryLocation.path`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from faceorg.errors import FaceorgError
from faceorg.paths import data_dir

POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
SERVERS_FOLDER = "servers"  # in the data folder: the local files of server libraries


def looks_like_url(text: str) -> bool:
    """A ``scheme://...`` text (a URL), not a file path (a Windows drive ``C:\\`` has no ``//``)."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


@dataclass(frozen=True)
class LibraryLocation:
    """An SQLite file (``url`` None) or a PostgreSQL database (``url`` set, ``path`` its local stand-in)."""

    path: Path
    url: URL | None = None

    @property
    def is_server(self) -> bool:
        return self.url is not None

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url is not None else "sqlite"

    def engine_url(self) -> str | URL:
        return self.url if self.url is not None else f"sqlite:///{self.path}"

    @property
    def target(self) -> str:
        """What ``--db`` takes to open this library again (another process): the path or the full URL,
        password included (never print it: :attr:`display` is for that)."""
        if self.url is None:
            return str(self.path)
        return self.url.render_as_string(hide_password=False)

    @property
    def display(self) -> str:
        """The file path, or the URL with any password hidden (safe for titles, logs and JSON)."""
        if self.url is None:
            return str(self.path)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    @property
    def name(self) -> str:
        """A short name for window titles: the file's name, or ``dbname on host``."""
        if self.url is None:
            return self.path.name
        return f"{self.url.database} on {self.url.host or 'localhost'}"


def server_url(text: str) -> URL:
    """The SQLAlchemy URL (psycopg 3 driver) of a PostgreSQL library URL, or a clear error."""
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise FaceorgError(f"{_hide_password(text)} is not a valid database URL ({exc})") from None
    if url.drivername not in POSTGRES_SCHEMES:
        raise FaceorgError(f"unsupported library database URL {_hide_password(text)}: faceorg stores libraries "
                           "in an SQLite file (give its path) or in PostgreSQL (postgresql://user@host/dbname)")
    if not url.database:
        raise FaceorgError(f"the URL {_hide_password(text)} names no database: postgresql://user@host/dbname")
    return url.set(drivername="postgresql+psycopg")


def _hide_password(text: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)


def stand_in_path(url: URL) -> Path:
    """The local path standing for a server library: ``<data>/servers/<host>-<port>-<db>-<hash>``; files
    faceorg keeps beside a library (``.models``, backups) go beside it."""
    key = url.set(password=None).render_as_string(hide_password=False)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{url.host or 'localhost'}-{url.port or 5432}-{url.database}")
    folder = data_dir() / SERVERS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{label}-{digest}"


def parse_location(db: str | Path) -> LibraryLocation:
    """The library named by ``--db``: a PostgreSQL URL, an ``sqlite:///`` URL, or a file path."""
    if isinstance(db, str) and looks_like_url(db):
        if db.startswith("sqlite:///"):
            return LibraryLocation(Path(db.removeprefix("sqlite:///")).expanduser().absolute())
        url = server_url(db)
        return LibraryLocation(stand_in_path(url), url)
    return LibraryLocation(Path(db).expanduser().absolute())
