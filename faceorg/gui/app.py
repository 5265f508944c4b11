"""Starting the app: the QApplication (name, icon, style), the library, the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QStyleFactory

from faceorg import __version__
from faceorg.errors import FaceorgError
from faceorg.gui.icons import app_icon
from faceorg.store.db import open_library
from faceorg.store.location import LibraryLocation

log = logging.getLogger(__name__)

APP_ID = "io.github.faceorg.faceorg"  # the .desktop file and AppStream id


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, named and styled (Fusion where the platform offers no native style)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("faceorg")
    app.setOrganizationName("faceorg")
    app.setApplicationDisplayName("faceorg")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    if sys.platform.startswith("linux") and app.style().name().lower() == "windows":
        app.setStyle(QStyleFactory.create("Fusion"))
    return app


def run_app(db_path: Path | LibraryLocation, *, exit_after_ms: int | None = None) -> int:
    """Open the library at ``db_path`` (a file or a server's database) in the main window and run until it
    closes."""
    from faceorg.gui.main_window import MainWindow

    app = make_application()
    try:
        library = open_library(db_path)
    except FaceorgError as exc:
        QMessageBox.critical(None, "faceorg", f"Cannot open the library:\n{exc}")
        return 1
    window = MainWindow(library, QSettings())
    # The app ends with its window, even when another top-level window (a dialog left open, a stray
    # tool window) would keep Qt's "last window closed" rule from ending the event loop.
    window.closed.connect(lambda: app.exit(0))
    window.show()
    if exit_after_ms is not None:
        QTimer.singleShot(exit_after_ms, window.close)
    try:
        return app.exec()
    finally:
        _leave_no_quit_behind(app)
        library.close()


def _leave_no_quit_behind(app: QApplication) -> None:
    """Drop a Quit event still queued when the event loop ended (Qt posts one when the last window closes,
    after ``exit(0)`` has already ended the loop). Delivered later (by any processEvents), it
    would call ``QCoreApplication.exit()`` with no loop running, which leaves Qt "quitting": every later
    ``QEventLoop.exec()`` (a dialog, a wait) returns at once without handling an event, so no queued result
    of a worker ever arrives again in this process."""
    QCoreApplication.removePostedEvents(app, QEvent.Type.Quit)
