"""The sidebar: the views, and the library folders with add, remove and rescan."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget

from faceorg.filenames import display_path
from faceorg.gui.icons import icon, with_selected_color
from faceorg.store.folders import FolderInfo

VIEWS = [
    ("people", "People", "people"),
    ("review", "Review", "review"),
    ("suggested", "Suggested faces", "accept"),
    ("check", "Check named faces", "person"),
    ("unknown", "Unknown faces", "face-unknown"),
    ("ignored", "Ignored faces", "face-ignored"),
]


class FoldersPanel(QWidget):
    """Library folders with their photo counts and buttons to add, remove and rescan."""

    add_requested = Signal()
    remove_requested = Signal(object)  # folder path (a str; object: Qt text would drop undecodable bytes)
    rescan_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, title: str = "Library folders") -> None:
        super().__init__(parent)
        self._paths: list[str] = []
        self.list = QListWidget()
        self.list.setObjectName("folderList")
        self.list.setIconSize(QSize(18, 18))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.add_button = self._button("folder-add", "Add a folder to the library (Ctrl+O)", "addFolder")
        self.remove_button = self._button("folder-remove", "Remove the selected folder from the library",
                                          "removeFolder")
        self.rescan_button = self._button("rescan", "Look for new and changed photos in every folder (F5)", "rescan")
        label = QLabel(title)
        label.setObjectName("sectionLabel")
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(label, 1)
        for b in (self.add_button, self.remove_button, self.rescan_button):
            head.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        self.add_button.clicked.connect(self.add_requested)
        self.rescan_button.clicked.connect(self.rescan_requested)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def _button(self, icon_name: str, tip: str, name: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(icon_name))
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.setAutoRaise(True)
        b.setObjectName(name)
        return b

    def set_folders(self, folders: list[FolderInfo]) -> None:
        current = self.selected_path()
        self.list.clear()
        # Qt text cannot carry undecodable file names: the items hold an index into this list.
        self._paths = [f.path for f in folders]
        for index, f in enumerate(folders):
            shown = display_path(f.path)
            name = os.path.basename(shown.rstrip(os.sep)) or shown
            text = f"{name}\n{f.photos:,} photos" + (f", {f.failed} unreadable" if f.failed else "")
            if not f.exists:
                text = f"{name}\nnot found — unplugged or moved?"
            item = QListWidgetItem(icon("folder"), text)
            item.setData(Qt.ItemDataRole.UserRole, index)
            item.setToolTip(shown)
            if not f.exists:
                item.setForeground(QColor(200, 60, 50))
            self.list.addItem(item)
            if f.path == current:
                self.list.setCurrentItem(item)
        if not folders:
            item = QListWidgetItem("No folders yet.\nClick + above to add one.")
            item.setData(Qt.ItemDataRole.UserRole, None)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self._update_buttons()

    def selected_path(self) -> str | None:
        item = self.list.currentItem()
        index = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return self._paths[index] if isinstance(index, int) and index < len(self._paths) else None

    def _remove_clicked(self) -> None:
        path = self.selected_path()
        if path:
            self.remove_requested.emit(path)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_path() is not None)


class Sidebar(QWidget):
    """Views on top, library folders below."""

    view_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.views = QListWidget()
        self.views.setObjectName("viewList")
        self.views.setIconSize(QSize(20, 20))
        self.views.setFrameShape(QListWidget.Shape.NoFrame)
        on_highlight = self.views.palette().color(QPalette.ColorRole.HighlightedText)
        for key, text, icon_name in VIEWS:
            item = QListWidgetItem(with_selected_color(icon(icon_name), on_highlight), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(0, 32))
            self.views.addItem(item)
        self.views.setFixedHeight(32 * len(VIEWS) + 6)
        self.folders = FoldersPanel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 6, 6)
        layout.addWidget(self.views)
        layout.addSpacing(10)
        layout.addWidget(self.folders, 1)
        self.views.currentItemChanged.connect(self._changed)
        # On a person's or a photo's page the entry they came from stays current: a click on it must still go
        # back to that list (it changes no current item, so the signal above stays quiet).
        self.views.itemClicked.connect(lambda item: self.view_selected.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.setMinimumWidth(200)

    def _changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.view_selected.emit(current.data(Qt.ItemDataRole.UserRole))

    def select(self, key: str | None) -> None:
        """Highlight a view's entry without emitting (None, for person and photo pages: keep the last one,
        so the list never lacks a current entry, which focusing it would otherwise pick and open)."""
        if key is None:
            return
        self.views.blockSignals(True)
        for i in range(self.views.count()):
            if self.views.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.views.setCurrentRow(i)
        self.views.blockSignals(False)

    def set_review_count(self, n: int) -> None:
        for i in range(self.views.count()):
            item = self.views.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == "review":
                item.setText(f"Review ({n:,})" if n else "Review")
