"""A folder chooser that never opens a file it lists.

Qt's own dialog asks its icon provider for each entry's type, and the default provider reads a file's
first bytes to guess it. Opening and closing the library's database, ``-wal`` or ``-shm`` file in this
process drops SQLite's POSIX locks on it (they belong to the process, not to the handle), so another
process may then delete the ``-wal`` under the app and lose its changes. This dialog lists folders
only, and its icon provider names entries from what ``stat`` says, never from their contents.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QFileInfo, QSize
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFileIconProvider,
    QStyle,
    QWidget,
)

from faceorg.gui.window_geometry import roomy_size

ROOMY = QSize(900, 600)  # Qt's own default (about 630x410) crams the folder names and their dates


class NoPeekIconProvider(QFileIconProvider):
    """Icons and type names from the file's kind alone (folder, drive, file); never reads a file."""

    def __init__(self) -> None:
        super().__init__()
        self.setOptions(QFileIconProvider.Option.DontUseCustomDirectoryIcons)

    def icon(self, what: Any) -> Any:  # Qt overload: QFileInfo or IconType
        if not isinstance(what, QFileInfo):
            return super().icon(what)
        style = QApplication.style()
        if what.isDir():
            return style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        return style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)

    def type(self, info: QFileInfo) -> str:
        if info.isRoot():
            return "Drive"
        if info.isDir():
            return "Folder"
        return "File"


def folder_dialog(parent: QWidget | None, caption: str, start: str) -> QFileDialog:
    """A directory-only dialog (Qt's own, so that no platform code sniffs the files it lists)."""
    dialog = QFileDialog(parent, caption, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOptions(QFileDialog.Option.ShowDirsOnly | QFileDialog.Option.DontUseNativeDialog
                      | QFileDialog.Option.DontUseCustomDirectoryIcons | QFileDialog.Option.DontResolveSymlinks)
    provider = NoPeekIconProvider()
    dialog.setIconProvider(provider)
    dialog._no_peek_provider = provider  # type: ignore[attr-defined]  # kept alive here: the dialog does not own it
    dialog.resize(roomy_size(ROOMY, (parent or dialog).screen().availableGeometry()).expandedTo(
        dialog.minimumSizeHint()))
    return dialog


def choose_folder(parent: QWidget | None, caption: str, start: str) -> str:
    """Ask for a folder; its path, or "" when the user cancels."""
    dialog = folder_dialog(parent, caption, start)
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted:
            return ""
        chosen = dialog.selectedFiles()
        return chosen[0] if chosen else ""
    finally:
        dialog.deleteLater()
