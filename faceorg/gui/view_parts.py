"""Small pieces the views build themselves from: their edge-to-edge column, context menus, big labels."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLayout, QMenu, QToolButton, QVBoxLayout, QWidget


def stack_vertically(owner: QWidget, *parts: QWidget | QLayout) -> QVBoxLayout:
    """``owner``'s layout: ``parts`` top to bottom, edge to edge, the last one taking the spare height."""
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    for i, part in enumerate(parts):
        stretch = 1 if i == len(parts) - 1 else 0
        if isinstance(part, QLayout):
            layout.addLayout(part, stretch)
        else:
            layout.addWidget(part, stretch)
    return layout


def popup_menu(owner: QWidget, view: QAbstractItemView, pos: QPoint,
               actions: Iterable[QAction | None]) -> None:
    """A context menu of ``actions`` (None: a separator; hidden actions left out) at ``pos`` in
    ``view``'s viewport, when ``pos`` is on an item."""
    if not view.indexAt(pos).isValid():
        return
    menu = QMenu(owner)
    for action in actions:
        if action is None:
            menu.addSeparator()
        elif action.isVisible():
            menu.addAction(action)
    menu.popup(view.viewport().mapToGlobal(pos))


def enlarge_font(widget: QWidget, scale: float, *, bold: bool = False) -> None:
    """Scale ``widget``'s font by ``scale`` (and make it bold if asked)."""
    font = widget.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    if bold:
        font.setBold(True)
    widget.setFont(font)


def title_header(name: str) -> tuple[QToolButton, QLabel, QLabel]:
    """A view's back button, large bold title and subtitle, named ``backButton``, ``<name>Title`` and
    ``<name>Subtitle`` (the view lays them out)."""
    back = QToolButton()
    back.setObjectName("backButton")
    title = QLabel()
    title.setObjectName(f"{name}Title")
    enlarge_font(title, 1.35, bold=True)
    subtitle = QLabel()
    subtitle.setObjectName(f"{name}Subtitle")
    return back, title, subtitle
