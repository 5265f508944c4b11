"""Without PyTorch (the packaged app leaves it out), Improve Recognition runs its quick depth (a new last
layer saved into the ONNX file) and says why the thorough one is missing and how to get it: the menu entry
stays enabled, the dialog offers Quick and greys Thorough with that reason, `faceorg train --depth quick`
runs, and `faceorg train --depth thorough` prints the reason as one line (learning as you work runs
without PyTorch too: see tests/test_retrain.py).

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


def test_menu_entry_offers_the_quick_depth_and_greys_the_thorough_one(tmp_path: Path) -> None:
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
        "action.trigger()\n"
        "app.processEvents()\n"
        "dialog = window.retrain_dialog\n"
        "print('quick', dialog.quick.isEnabled(), dialog.quick.isChecked(), dialog.chosen_depth)\n"
        "print('thorough', dialog.thorough.isEnabled())\n"
        "print('tip', dialog.thorough.toolTip())\n"
        "print('reason', dialog.thorough_reason.isVisible(), dialog.thorough_reason.text())\n"
        "dialog.thorough.click()  # a click on the greyed option changes nothing\n"
        "print('clicked', dialog.chosen_depth)\n"
        "print('torch', 'torch' in sys.modules)\n"
        "dialog.reject(); window.close(); library.close()\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines())
    assert out["enabled"] == "True" and "PyTorch" not in out["text"]
    assert out["quick"] == "True True quick"
    assert out["thorough"] == "False" and out["tip"] == TRAINING_UNAVAILABLE
    assert out["reason"].startswith("True Needs PyTorch")
    assert out["clicked"] == "quick"
    assert out["torch"] == "False"


def test_train_quick_runs_without_pytorch(tmp_path: Path, shared_data: Path, models_dir: Path) -> None:
    """`faceorg train --depth quick` on a scanned library with names: the before/after report, no PyTorch."""
    import json

    from faceorg.people import ops
    from faceorg.people.queries import faces_of_person, list_people
    from faceorg.store import open_library
    from tests.lfwlib import scanned_lfw_library

    people = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Tony_Blair"]
    db = scanned_lfw_library(shared_data, tmp_path, people, 6)
    with open_library(db) as lib:  # an oracle names each group after most of its faces (once per name)
        named: set[str] = set()
        for p in list_people(lib):
            faces = faces_of_person(lib, p.id)
            names = [Path(f.photo_path).name.rsplit("_", 1)[0] for f in faces]
            major = max(set(names), key=names.count)
            if major not in named and names.count(major) >= 3:
                named.add(major)
                ops.name_person(lib, p.id, major, confirm=[f.id for f, n in zip(faces, names) if n == major])
    proc = python("from faceorg.cli.main import main\n"
                  f"status = main(['--db', {str(db)!r}, 'train', '--depth', 'quick', '--dry-run', '--json'])\n"
                  "print('torch imported' if 'torch' in sys.modules else 'no torch', file=sys.stderr)\n"
                  "raise SystemExit(status)\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["depth"] == "quick" and report["dry_run"] is True and report["summary"], report
    assert proc.stderr.strip().splitlines()[-1] == "no torch"
