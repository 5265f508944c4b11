"""`faceorg gui` (also what `faceorg` does without a command): open the app on a library.

Qt is imported only inside :func:`cmd_gui`, through ``faceorg.gui``, so the rest of the CLI works
without it.
"""

from __future__ import annotations

import argparse
import os
import sys

from faceorg.errors import FaceorgError
from faceorg.paths import default_db_path
from faceorg.store.location import LibraryLocation, parse_location


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gui", help="open the app (the default when no command is given)")
    # `faceorg gui --db PATH` as well as `faceorg --db PATH gui` (a separate dest: the subcommand's
    # default must not overwrite the global option).
    p.add_argument("--db", dest="gui_db", metavar="PATH|URL",
                   help="library database to open (an SQLite file or postgresql://user@host/dbname)")
    p.add_argument("--exit-after", dest="exit_after_ms", type=int, metavar="MS", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_gui)


def gui_db_path(args: argparse.Namespace) -> LibraryLocation:
    """The database to open: `gui --db`, else the global `--db`, else the default one."""
    chosen = getattr(args, "gui_db", None) or getattr(args, "db", None)
    return parse_location(chosen) if chosen else LibraryLocation(default_db_path())


def display_problem() -> str | None:
    """Why no window can be opened here (Linux without a display), or None."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the app on (DISPLAY and WAYLAND_DISPLAY are unset); run it in a desktop "
            "session, or use the command line (`faceorg --help`)")


def cmd_gui(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem is not None:
        raise FaceorgError(problem)
    try:
        from faceorg.gui.app import run_app
    except ImportError as exc:
        print(f"faceorg: error: the app needs PySide6 ({exc}); the command line works without it",
              file=sys.stderr)
        return 1
    return run_app(gui_db_path(args), exit_after_ms=getattr(args, "exit_after_ms", None))
