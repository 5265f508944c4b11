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


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else default_db_path()


def open_from_args(args: argparse.Namespace) -> Library:
    """The library named by ``--db``, or the default one in the user's data folder."""
    return open_library(db_path(args))


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
