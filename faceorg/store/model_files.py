"""A server library's embedder files, kept in its database as well, so every computer using it has them.

Model files live in a folder beside an SQLite library; a PostgreSQL library's local folder is on one
computer only. So a server library also keeps each file it uses in ``model_files`` (by SHA-256):
a computer that lacks a file, or has another one under its name, fetches it from there; a
computer that has a file the database lacks stores it. Only whole files whose hash matches are used.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select

from faceorg.files import bytes_sha256, write_bytes_atomic
from faceorg.store.db import Library
from faceorg.store.models import ModelFile

log = logging.getLogger(__name__)


def fetch_model_file(library: Library, path: Path, sha256: str) -> bool:
    """Write the file with this SHA-256 from a server library's database to ``path``; False when the
    library is a file (SQLite) or its database does not hold it."""
    if not library.is_server:
        return False
    with library.session() as s:
        data = s.scalar(select(ModelFile.data).where(ModelFile.sha256 == sha256))
    if data is None or bytes_sha256(data) != sha256:
        return False
    write_bytes_atomic(path, data)
    log.info("fetched the model file %s from the library's database", path.name)
    return True


def share_model_file(library: Library, path: Path, sha256: str) -> None:
    """Keep the (checked) file ``path`` in a server library's database, unless it holds it already."""
    if not library.is_server:
        return
    with library.transaction() as s:
        if s.scalar(select(ModelFile.sha256).where(ModelFile.sha256 == sha256)) is not None:
            return
    data = path.read_bytes()
    if bytes_sha256(data) != sha256:
        return
    from sqlalchemy.exc import IntegrityError

    try:
        with library.transaction() as s:
            s.add(ModelFile(sha256=sha256, name=path.name, data=data))
    except IntegrityError:  # another computer stored it at the same moment
        return
    log.info("stored the model file %s in the library's database for its other computers", path.name)
