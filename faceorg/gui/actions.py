"""QAction helpers: the shortcut appears in menus (Qt does that) and in the tooltip (we do)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSizePolicy, QToolBar, QToolButton, QWidget

from faceorg.gui.icons import icon


def make_action(parent: QWidget, text: str, slot: Callable[[], object] | None = None, *,
                shortcut: str | QKeySequence.StandardKey | list[str] | None = None, icon_name: str | None = None,
                tip: str | None = None, context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
                checkable: bool = False, name: str | None = None) -> QAction:
    """An action owned by ``parent`` (so its shortcut works there), with the shortcut in its tooltip."""
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    action.setShortcutContext(context)
    action.setCheckable(checkable)
    set_tip(action, tip or text.replace("&", "").rstrip("…."))
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    if name:
        action.setObjectName(name)
    parent.addAction(action)
    return action


def set_tip(action: QAction, tip: str) -> None:
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({keys})" if keys else tip)


def tool_button(action: QAction, *, text_beside: bool = True) -> QToolButton:
    """A flat button for ``action`` showing its icon and text."""
    button = QToolButton()
    button.setDefaultAction(action)
    button.setAutoRaise(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text_beside
                              else Qt.ToolButtonStyle.ToolButtonIconOnly)
    return button


def view_toolbar(name: str, parent: QWidget | None = None) -> QToolBar:
    """A view's action bar: icons with text, and a » menu for what does not fit a narrow window."""
    bar = QToolBar(parent)
    bar.setObjectName(name)
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.setIconSize(QSize(18, 18))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return bar


def spacer() -> QWidget:
    """An expanding gap for a toolbar."""
    gap = QWidget()
    gap.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return gap
