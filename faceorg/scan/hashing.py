"""Content hashes that recognise a photo after a move or rename."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def bytes_hash(data: bytes) -> str:
    """SHA-256 of ``data``, as hex."""
    return hashlib.sha256(data).hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
