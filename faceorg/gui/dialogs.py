"""Small dialogs: asking for a name (with completion), confirming, and showing errors."""

from __future__ import annotations

import logging
import traceback

import shiboken6
from PySide6.QtCore import QStringListModel, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from faceorg.errors import FaceorgError

log = logging.getLogger(__name__)


def name_completer(names: QStringListModel, parent: QWidget) -> QCompleter:
    completer = QCompleter(names, parent)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    return completer


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
        self.edit.completer().activated[str].connect(lambda text: QTimer.singleShot(0, lambda: self._take(text)))
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
