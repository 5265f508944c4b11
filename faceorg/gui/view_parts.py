"""Small pieces the views build themselves from: their edge-to-edge column, context menus, big labels."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QLabel,
    QLayout,
    QMenu,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


def stack_vertically(owner: QWidget, *parts: QWidget | QLayout) -> QVBoxLayout:
    """``owner``'s layout: ``parts`` top to bottom, edge to edge, the last one taking the spare height.

    A layout among ``parts`` that has no spacing of its own keeps the style's (a nested layout takes its
    parent's otherwise: this column's none, and a header's title touched its back button).
    """
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    style = owner.style()
    for i, part in enumerate(parts):
        stretch = 1 if i == len(parts) - 1 else 0
        if isinstance(part, QLayout):
            if part.spacing() < 0:  # not set (a layout not yet in a parent says so)
                horizontal = isinstance(part, QBoxLayout) and part.direction() in (
                    QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.RightToLeft)
                metric = QStyle.PixelMetric.PM_LayoutHorizontalSpacing if horizontal else \
                    QStyle.PixelMetric.PM_LayoutVerticalSpacing
                part.setSpacing(max(style.pixelMetric(metric, None, owner), 0))
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
