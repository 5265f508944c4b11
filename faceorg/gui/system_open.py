"""Hand a photo to the system: open it in the default viewer, or show it in the file manager (selected
where the platform allows: Explorer, Finder, file managers speaking org.freedesktop.FileManager1)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def open_in_viewer(path: str) -> bool:
    """Open the file with the system's default application; False when there is none or it is gone."""
    if not Path(path).is_file():
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_command(path: str, platform: str = sys.platform) -> tuple[str, list[str]] | None:
    """The program and arguments that show ``path`` selected in the file manager, where one exists."""
    if platform == "win32":
        return "explorer.exe", [f"/select,{Path(path)}"]
    if platform == "darwin":
        return "open", ["-R", path]
    return None


def _reveal_freedesktop(path: str) -> bool:
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    manager = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                             "org.freedesktop.FileManager1", bus)
    if not manager.isValid():
        return False
    reply = manager.call("ShowItems", [QUrl.fromLocalFile(path).toString()], "")
    return not reply.errorMessage()


def show_in_folder(path: str) -> bool:
    """Show the file in its folder (selected when the platform allows; else the folder is opened)."""
    target = Path(path)
    if not target.exists():
        folder = target.parent
        return folder.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
    command = reveal_command(path)
    if command is not None and QProcess.startDetached(*command)[0]:
        return True
    if command is None and _reveal_freedesktop(path):
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(target.parent)))
