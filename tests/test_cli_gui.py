"""`faceorg` without a command opens the app; where it cannot, it says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux's")
@pytest.mark.parametrize("command", [[], ["gui"]], ids=["no command", "gui"])
def test_no_display_gives_one_clear_line(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "faceorg", "--db", str(tmp_path / "lib.sqlite"), *command],
                          check=False, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("faceorg: error: no display"), proc.stderr
    assert proc.stdout == ""
