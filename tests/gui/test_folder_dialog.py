"""Two processes on one library stay safe when the app's folder dialog lists the library's own folder.

SQLite's POSIX locks belong to the process: a file dialog that opens and closes the database, its
``-wal`` or ``-shm`` (to guess a file's type) drops the app's locks, so a second process then thinks it
is alone, checkpoints and deletes the ``-wal`` under the app, and a later change is lost.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QFileSystemModel, QWidget

from faceorg.people.ops import name_person
from tests.gui.conftest import when_modal

REPO = Path(__file__).resolve().parents[2]


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "faceorg", "--db", str(db), *args], env=env, check=False,
                          capture_output=True, text=True, timeout=120)


def _show_folder_then_cancel(folder: Path):  # type: ignore[no-untyped-def]
    """A modal handler: point the open dialog at ``folder``, let it list it, then cancel."""
    def handle(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        model = dialog.findChild(QFileSystemModel)
        if model is not None:  # cancel soon after the folder's entries are read (fallback below)
            model.directoryLoaded.connect(lambda _p: QTimer.singleShot(800, dialog.reject))
        dialog.setDirectory(str(folder))
        QTimer.singleShot(5000, dialog.reject)
    return handle


def test_folder_dialog_on_the_library_folder_loses_no_change(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    library = window.ctx.library
    db = library.path
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM people ORDER BY id LIMIT 3")]
    assert len(ids) == 3
    name_person(library, ids[0], "App Before")  # the app's change, still in its -wal
    wal = Path(f"{db}-wal")
    assert wal.exists()

    when_modal(qtbot, _show_folder_then_cancel(db.parent))
    window.add_folder_dialog()  # returns once the dialog is cancelled

    cli = _cli(db, "people", "name", str(ids[1]), "From CLI")  # a second process opens, writes, closes
    assert cli.returncode == 0, cli.stderr
    assert wal.exists(), "the -wal was deleted under the app"
    name_person(library, ids[2], "App After")
    window.close()
    library.close()

    with sqlite3.connect(db) as conn:
        names = dict(conn.execute("SELECT id, name FROM people WHERE id IN (?, ?, ?)", ids).fetchall())
    assert names == {ids[0]: "App Before", ids[1]: "From CLI", ids[2]: "App After"}
