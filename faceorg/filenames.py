"""File names that are not valid UTF-8: how they are held, stored and shown.

Python hands such names over with the undecodable bytes as lone surrogates (``os.fsdecode``'s
``surrogateescape``: ``b"caf\\xe9.jpg"`` becomes ``"caf\\udce9.jpg"``). They open and stat as they are,
but no UTF-8 text (the database, JSON, a terminal, Qt) can carry them. :func:`display_path` shows them
readably, with each undecodable byte written as ``\\xNN``; :func:`path_to_bytes`/:func:`path_from_bytes`
are the lossless round trip the database uses.
"""

from __future__ import annotations

import os


def is_undecodable(path: str) -> bool:
    """Whether ``path`` holds bytes that are not UTF-8 (as surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def display_path(path: str) -> str:
    """``path`` as printable text: undecodable bytes become ``\\xNN`` (valid names are unchanged)."""
    if not is_undecodable(path):
        return path
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def path_to_bytes(path: str) -> bytes:
    """The file system's bytes of ``path`` (lossless, also for undecodable names)."""
    return os.fsencode(path)


def path_from_bytes(raw: bytes) -> str:
    """The inverse of :func:`path_to_bytes`."""
    return os.fsdecode(raw)


def printable(value: object) -> object:
    """``value`` (JSON-like: dicts, lists, tuples, strings) with every string made printable."""
    if isinstance(value, str):
        return display_path(value)
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value
