"""Run the CLI in-process, as the `faceorg` command would, and capture what it prints."""

from __future__ import annotations

import pytest

from faceorg.cli.main import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``faceorg ARGS...``: the exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
