"""Small dialogs: asking for a name (with completion), where to move faces, a choice, and showing errors."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, QStringListModel, Qt, QTimer
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceorg.errors import FaceorgError
from faceorg.gui.models import faces_text
from faceorg.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)


def name_completer(names: QStringListModel, parent: QWidget) -> QCompleter:
    completer = QCompleter(names, parent)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    return completer


def start_cancel_buttons(dialog: QDialog, start: str) -> tuple[QDialogButtonBox, QPushButton]:
    """Cancel and ``start`` (the default: Enter starts) for a dialog that starts a job, wired to it.

    The box is made inside ``dialog``: a button made the default before it is in its dialog leaves the dialog
    without one, and the dialog then makes the first button it finds, Cancel, the default when shown.
    """
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, dialog)
    start_button = buttons.addButton(start, QDialogButtonBox.ButtonRole.AcceptRole)
    start_button.setDefault(True)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons, start_button


class _EnterWithNothingHighlighted(QObject):
    """On a completion list: Enter while no name in it is highlighted means "the text as typed"."""

    def __init__(self, popup: QAbstractItemView, on_enter: Callable[[], None]) -> None:
        super().__init__(popup)
        self._popup = popup
        self._on_enter = on_enter

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not self._popup.currentIndex().isValid()):
            self._popup.hide()
            QTimer.singleShot(0, self._on_enter)
            return True
        return False


def enter_takes_typed_text(completer: QCompleter, on_enter: Callable[[], None]) -> None:
    """Call ``on_enter`` when Enter is pressed while the completion list is open and nothing is highlighted.

    The open list takes the keyboard; Qt then hands Enter to the line edit alone, past its parents and event
    filters, and only closes the list, so a whole name typed needed a second Enter. (A highlighted name is
    the completer's ``activated`` signal.)
    """
    popup = completer.popup()  # made now, so that this filter runs before the completer's own
    if popup is not None:
        popup.installEventFilter(_EnterWithNothingHighlighted(popup, on_enter))


class NameDialog(QDialog):
    """Ask for a person's name, completing from the names that exist; says whether it is new."""

    def __init__(self, names: QStringListModel, *, title: str, prompt: str, accept_text: str = "OK",
                 initial: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("nameDialog")
        self._names = names
        layout = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.edit = QLineEdit(initial)
        self.edit.setPlaceholderText("Type a name")
        self.edit.setCompleter(name_completer(names, self.edit))
        # Enter on a highlighted completion is taken by the popup: the chosen name is the answer (one Enter).
        self.edit.completer().activated[str].connect(  # type: ignore[index]  # the stubs do not declare a signal's overloads
            lambda text: QTimer.singleShot(0, lambda: self._take(text)))
        enter_takes_typed_text(self.edit.completer(), lambda: self._take(self.edit.text()))
        self.edit.setMinimumWidth(320)
        layout.addWidget(self.edit)
        self.hint = QLabel(" ")
        self.hint.setObjectName("hint")
        layout.addWidget(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(accept_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._update_hint)
        self._update_hint(initial)

    def _take(self, text: str) -> None:
        if self.isVisible():
            self.edit.setText(text)
            if self.name:
                self.accept()

    def _update_hint(self, text: str) -> None:
        name = self.name
        existing = {n.casefold() for n in self._names.stringList()}
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(name))
        if not name:
            self.hint.setText(" ")
        elif name.casefold() in existing:
            self.hint.setText(f"“{name}” exists: the faces join them.")
        else:
            self.hint.setText(f"A new person “{name}” will be created.")

    @property
    def name(self) -> str:
        return " ".join(self.edit.text().split())


@dataclass(frozen=True)
class GroupChoice:
    """An unnamed group offered as a place to move faces to."""

    person_id: int
    face_count: int
    cover_face_id: int | None


class MoveToDialog(NameDialog):
    """Move faces to a person by name, or to an unnamed group picked from a list (cover and size)."""

    def __init__(self, names: QStringListModel, groups: list[GroupChoice], thumbs: ThumbnailCache | None, *,
                 title: str, prompt: str, parent: QWidget | None = None) -> None:
        self.group_list: QListWidget | None = None
        super().__init__(names, title=title, prompt=prompt, accept_text="Move", parent=parent)
        self._thumbs = thumbs
        self.group_list = QListWidget()
        self.group_list.setObjectName("groupList")
        self.group_list.setIconSize(QSize(48, 48))
        self.group_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for group in groups:
            item = QListWidgetItem(f"Unnamed group ({faces_text(group.face_count)})")
            item.setData(Qt.ItemDataRole.UserRole, group.person_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, group.cover_face_id)
            self.group_list.addItem(item)
        self._set_icons()
        if thumbs is not None:
            thumbs.ready.connect(self._set_icons)
        label = QLabel("…or an unnamed group:" if groups else "")
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        at = layout.indexOf(self.hint)
        layout.insertWidget(at, label)
        layout.insertWidget(at + 1, self.group_list)
        self.group_list.setVisible(bool(groups))
        self.group_list.setMinimumHeight(min(6, len(groups)) * 54 + 6)
        self.group_list.itemSelectionChanged.connect(self._group_picked)
        self.group_list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.edit.textChanged.connect(self._name_typed)

    def _set_icons(self, _ready: object = None) -> None:
        if self.group_list is None or self._thumbs is None or not shiboken6.isValid(self.group_list):
            return
        for row in range(self.group_list.count()):
            item = self.group_list.item(row)
            cover = item.data(Qt.ItemDataRole.UserRole + 1)
            image = self._thumbs.get(cover) if cover is not None and item.icon().isNull() else None
            if image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _name_typed(self, text: str) -> None:
        if text.strip() and self.group_list is not None:
            self.group_list.clearSelection()

    def _group_picked(self) -> None:
        if self.group_id is not None and self.edit.text():
            self.edit.clear()
        self._update_hint(self.edit.text())

    def _update_hint(self, text: str) -> None:
        super()._update_hint(text)
        if self.group_id is not None:
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            self.hint.setText("The faces join this unnamed group.")

    @property
    def group_id(self) -> int | None:
        """The unnamed group picked, or None (then ``name`` says where)."""
        if self.group_list is None:
            return None
        items = self.group_list.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None


def ask_move_target(parent: QWidget, names: QStringListModel, groups: list[GroupChoice],
                    thumbs: ThumbnailCache | None, *, title: str, prompt: str) -> int | str | None:
    """Where to move faces: an unnamed group's person id, a name, or None when the user cancels."""
    dialog = MoveToDialog(names, groups, thumbs, title=title, prompt=prompt, parent=parent)
    if _run_modal(dialog, parent) != QDialog.DialogCode.Accepted:
        return None
    return dialog.group_id if dialog.group_id is not None else (dialog.name or None)


def ask_choice(parent: QWidget, title: str, text: str, choices: list[tuple[str, str]]) -> str | None:
    """One of several answers (``(key, button text)``, the first is the default), or None on Cancel."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("choiceBox")
    buttons: dict[QAbstractButton, str] = {}
    default: QPushButton | None = None
    for key, label in choices:
        button = box.addButton(label, QMessageBox.ButtonRole.AcceptRole)
        button.setObjectName(f"{key}Button")
        buttons[button] = key
        default = default or button
    if default is not None:
        box.setDefaultButton(default)
    _run_modal(box, parent)
    return buttons.get(box.clickedButton())


def _run_modal(dialog: QDialog, parent: QWidget) -> int:
    """Run a dialog, then give the keyboard back to the window and the widget that had it."""
    had_focus = QApplication.focusWidget()
    result = dialog.exec()
    parent.window().activateWindow()
    if had_focus is not None and shiboken6.isValid(had_focus) and had_focus.isVisible():
        had_focus.setFocus()
    return result


def ask_name(parent: QWidget, names: QStringListModel, *, title: str, prompt: str, accept_text: str = "OK",
             initial: str = "") -> str | None:
    """A name, or None when the user cancels."""
    dialog = NameDialog(names, title=title, prompt=prompt, accept_text=accept_text, initial=initial, parent=parent)
    if _run_modal(dialog, parent) != QDialog.DialogCode.Accepted or not dialog.name:
        return None
    return dialog.name


def confirm(parent: QWidget, title: str, text: str, accept_text: str) -> bool:
    """Ask a yes/no question with a clear action name on the button."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("confirmBox")
    yes = box.addButton(accept_text, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(yes)
    _run_modal(box, parent)
    return box.clickedButton() is yes


def confirm_then(parent: QWidget, title: str, text: str, accept_text: str, go: Callable[[], object],
                 name: str) -> QMessageBox:
    """:func:`confirm` without blocking: the question opens and ``go()`` runs when the user presses
    ``accept_text`` (the box, named ``name``, is returned for tests)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName(name)
    button = box.addButton(accept_text, QMessageBox.ButtonRole.AcceptRole)
    box.buttonClicked.connect(lambda clicked: go() if clicked is button else None)
    box.open()
    return box


def error_text(exc: BaseException) -> tuple[str, str | None]:
    """The message for the user and, for bugs, the details (a traceback)."""
    if isinstance(exc, FaceorgError):
        return str(exc)[:1].upper() + str(exc)[1:], None
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"Unexpected error: {type(exc).__name__}: {exc}", details


def show_error(parent: QWidget | None, title: str, exc: BaseException) -> QMessageBox:
    """Show an error in a window-modal dialog (non-blocking: returns the box)."""
    text, details = error_text(exc)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    if details:
        box.setDetailedText(details)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
