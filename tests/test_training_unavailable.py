"""Without PyTorch (the packaged app leaves it out), Improve Recognition says why and how to get it:
the menu entry is disabled with that message, and `faceorg train --depth thorough` prints it as one line.
The quick depth needs no PyTorch (learning as you work runs without it: see tests/test_retrain.py).

PyTorch is installed here, so each check runs in a subprocess where an import hook hides it (importing
it fails as for a missing module, and nothing is put in ``sys.modules``), as in the packaged app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from faceorg.capabilities import TRAINING_UNAVAILABLE, training_unavailable

REPO = Path(__file__).resolve().parents[1]
NO_TORCH = """import sys
class NoTorch:  # as in the packaged app: torch cannot be found
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch)
"""


def python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "FACEORG_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([sys.executable, "-c", NO_TORCH + code], check=False, capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=180)


def test_training_available_with_torch() -> None:
    assert training_unavailable() is None  # torch is installed in the development environment


def test_train_command_says_why_in_one_line(tmp_path: Path) -> None:
    proc = python("from faceorg.cli.main import main\n"
                  f"raise SystemExit(main(['--db', {str(tmp_path / 'lib.sqlite')!r}, 'train', '--depth', 'thorough', "
                  "'--json']))\n",
                  tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"faceorg: error: {TRAINING_UNAVAILABLE}"], proc.stderr


def test_menu_entry_disabled_with_the_reason(tmp_path: Path) -> None:
    proc = python(
        "from PySide6.QtCore import QSettings\n"
        "from faceorg.gui.app import make_application\n"
        "from faceorg.gui.main_window import MainWindow\n"
        "from faceorg.store import open_library\n"
        "app = make_application(['test'])\n"
        f"library = open_library({str(tmp_path / 'lib.sqlite')!r})\n"
        f"window = MainWindow(library, QSettings({str(tmp_path / 'gui.ini')!r}, QSettings.Format.IniFormat))\n"
        "window.show()\n"
        "app.processEvents()\n"
        "action = window.retrain_action\n"
        "window._update_job_actions()  # what runs after every job\n"
        "print('enabled', action.isEnabled())\n"
        "print('text', action.text())\n"
        "print('tip', action.toolTip())\n"
        "print('status', action.statusTip())\n"
        "window.improve_recognition()  # a shortcut or a stale call: a message, no dialog\n"
        "print('dialog', window.retrain_dialog)\n"
        "print('bar', window.statusBar().currentMessage())\n"
        "print('torch', 'torch' in sys.modules)\n"
        "window.close(); library.close()\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines())
    assert out["enabled"] == "False"
    assert "needs PyTorch" in out["text"]
    assert out["tip"] == out["status"] == out["bar"] == TRAINING_UNAVAILABLE
    assert out["dialog"] == "None"
    assert out["torch"] == "False"
