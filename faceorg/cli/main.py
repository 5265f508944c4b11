"""Entry point of the `faceorg` command: parse, dispatch, and turn errors into one clear line."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence

from faceorg import __version__
from faceorg.cli.terminal import printable_stdout
from faceorg.errors import CancelledError, FaceorgError

log = logging.getLogger("faceorg")

SUBCOMMAND_MODULES = (
    "faceorg.cli.library_cmds",
    "faceorg.cli.models_cmds",
    "faceorg.cli.eval_cmds",
    "faceorg.cli.people_cmds",
    "faceorg.cli.review_cmds",
    "faceorg.cli.train_cmds",
    "faceorg.cli.xmp_cmds",
    "faceorg.cli.gui_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="faceorg",
        description="Organize a photo library by the people in it, fully offline. "
                    "Without a command, opens the app on your library.")
    parser.add_argument("--db", metavar="PATH", help="library database (default: library.sqlite in your data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show informational messages")
    parser.add_argument("--version", action="version", version=f"faceorg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


_CLI_HANDLER = "faceorg-cli"  # the name of the handlers setup_logging adds (replaced on a second call)


def setup_logging(verbose: bool) -> None:
    from faceorg.paths import data_dir

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in [h for h in root.handlers if h.get_name() == _CLI_HANDLER]:
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.ERROR)
    console.setFormatter(logging.Formatter("faceorg: %(message)s"))
    console.addFilter(lambda record: not record.exc_info)  # tracebacks go to the log file only
    console.set_name(_CLI_HANDLER)
    root.addHandler(console)
    try:
        logfile = logging.handlers.RotatingFileHandler(data_dir() / "faceorg.log", maxBytes=5 << 20,
                                                       backupCount=2, encoding="utf-8")
    except OSError:
        return
    logfile.setLevel(logging.INFO)
    logfile.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logfile.set_name(_CLI_HANDLER)
    root.addHandler(logfile)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    func = getattr(args, "func", None) or _default_action(parser)  # no command: open the app
    try:
        with printable_stdout():  # names and paths from the database cannot act on the terminal
            return int(func(args) or 0)
    except CancelledError:
        print("faceorg: cancelled; the work done so far is kept, run the command again to resume",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("faceorg: interrupted; the work done so far is kept, run the command again to resume",
              file=sys.stderr)
        return 130
    except FaceorgError as exc:
        print(f"faceorg: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback in the log
        from faceorg.store.db_errors import explain

        if (message := explain(exc)) is not None:  # full disk, read-only file...: the user can act on it
            log.info("database error", exc_info=True)
            print(f"faceorg: error: {message}", file=sys.stderr)
            return 1
        log.exception("unexpected error")
        print(f"faceorg: internal error: {type(exc).__name__}: {exc} (details in faceorg.log in the data folder)",
              file=sys.stderr)
        return 3


def _default_action(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Without a command: open the app if it is installed, else print the help."""
    try:
        from faceorg.cli.gui_cmd import cmd_gui
    except ModuleNotFoundError:
        def show_help(_args: argparse.Namespace) -> int:
            parser.print_help()
            return 0
        return show_help
    return cmd_gui


if __name__ == "__main__":
    raise SystemExit(main())
