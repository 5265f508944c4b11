"""Helpers shared by the subcommands: opening the library, printing JSON and tables."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faceorg.filenames import display_path, printable
from faceorg.paths import default_db_path
from faceorg.store.db import Library, open_library
from faceorg.store.location import LibraryLocation, parse_location

MAX_ID = 2**63 - 1  # SQLite's largest integer


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count of workers, a batch size)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def db_id(text: str) -> int:
    """An argparse type for the id of a person, face or photo: 1 to 2^63 - 1, as SQLite stores them."""
    value = _whole_number(text)
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text} is not an id (ids are whole numbers from 1 to {MAX_ID})")
    return value


def db_location(args: argparse.Namespace) -> LibraryLocation:
    """The library named by ``--db`` (a file path or a ``postgresql://`` URL), or the default file."""
    return parse_location(args.db) if args.db else LibraryLocation(default_db_path())


def db_path(args: argparse.Namespace) -> Path:
    """The library's file (a server library's local stand-in, see :mod:`faceorg.store.location`)."""
    return db_location(args).path


def library_exists(args: argparse.Namespace) -> bool:
    """Whether ``--db`` names a library that is there to read: an existing file, or any server URL."""
    location = db_location(args)
    return location.is_server or location.path.exists()


def open_from_args(args: argparse.Namespace) -> Library:
    """The library named by ``--db``, or the default one in the user's data folder."""
    return open_library(db_location(args))


def print_json(obj: Any) -> None:
    """``obj`` as one JSON document on stdout; undecodable file names are shown as ``\\xNN`` text."""
    json.dump(printable(obj), sys.stdout, indent=2, default=lambda o: display_path(str(o)))
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain aligned table on stdout."""
    cells = [[str(h) for h in headers]] + [[display_path(str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
