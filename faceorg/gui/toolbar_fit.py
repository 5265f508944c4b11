"""A view toolbar that degrades gracefully in a narrow window: its count label shortens (a shorter wording,
then an elided one, the full text in the tooltip), then chosen buttons drop their text (icon only, the
name in the tooltip), before Qt's » menu takes what is left."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QMargins, QObject, QSize, Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

MIN_CHARS = "0,000…"  # the narrowest a fitting label gets (then the toolbar's » menu takes it)


class FittingLabel(QLabel):
    """Shows the longest of its texts (longest first) that fits its width, else the last one elided; the
    first is the tooltip whenever it is not shown whole. Asks for the first text's width, accepts less."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._texts: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def set_texts(self, texts: Sequence[str]) -> None:
        """The wordings, longest first (an empty list shows nothing)."""
        texts = [t for t in texts if t]
        if texts == self._texts:
            return
        self._texts = texts
        self.updateGeometry()
        self._fit()

    def full_text(self) -> str:
        return self._texts[0] if self._texts else ""

    def _width(self, text: str) -> int:
        m = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance(text) + m.left() + m.right() + 2 * self.margin() + 4

    def sizeHint(self) -> QSize:
        return QSize(self._width(self.full_text()) if self._texts else 0, super().sizeHint().height())

    def shortest_width(self) -> int:
        """The width of the shortest wording, whole (what a toolbar makes room for before eliding it)."""
        return self._width(self._texts[-1]) if self._texts else 0

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self._width(MIN_CHARS), self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = self.width()
        shown = next((t for t in self._texts if self._width(t) <= room), None)
        if shown is None and self._texts:
            spare = room - self._width("")
            shown = self.fontMetrics().elidedText(self._texts[-1], Qt.TextElideMode.ElideRight, max(0, spare))
        self.setText(shown or "")
        self.setToolTip("" if shown == self.full_text() else self.full_text())


class ButtonTextFitter(QObject):
    """Keeps ``bar``'s items within its width: when they do not fit (widgets at their smallest, a fitting
    label at its shortest wording), ``actions`` (least needed first) show their icon only, one by one.
    It fits again when the bar is resized or laid out, and when one of its actions (those it has when the
    fitter is made) is shown or hidden."""

    def __init__(self, bar: QToolBar, actions: Sequence[QAction]) -> None:
        super().__init__(bar)
        self.bar = bar
        self.actions = list(actions)
        self._probe = QToolButton()  # measures a button with and without its text (never shown)
        bar.installEventFilter(self)
        for action in bar.actions():  # a button shown or hidden changes what fits (the bar asks no new layout)
            action.visibleChanged.connect(self.fit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A new width, or an item that changed (a count's new wording); fit() changes only what must change,
        # so the layout request it may cause ends there.
        if watched is self.bar and event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            self.fit()
        return False

    def _widths(self, button: QToolButton) -> tuple[int, int]:
        """``button``'s width with its text beside the icon, and with the icon only."""
        probe, action = self._probe, button.defaultAction()
        probe.setFont(button.font())
        probe.setIconSize(self.bar.iconSize())
        probe.setIcon(action.icon() if action is not None else button.icon())
        probe.setText(action.iconText() if action is not None else button.text())
        out = []
        for style in (self.bar.toolButtonStyle(), Qt.ToolButtonStyle.ToolButtonIconOnly):
            probe.setToolButtonStyle(style)
            out.append(probe.sizeHint().width())
        return out[0], out[1]

    @staticmethod
    def _smallest(widget: QWidget) -> int:
        if isinstance(widget, FittingLabel):  # its shortest wording whole: buttons drop their text first
            return widget.shortest_width()
        if widget.sizePolicy().horizontalPolicy() in (QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum,
                                                       QSizePolicy.Policy.MinimumExpanding):
            return max(widget.sizeHint().width(), widget.minimumWidth())
        return max(widget.minimumWidth(), widget.minimumSizeHint().width(), 0)

    def fit(self) -> None:
        """Text on every button that has room for it, the most needed ones first."""
        managed = [b for a in self.actions if isinstance(b := self.bar.widgetForAction(a), QToolButton)]
        widths: dict[int, tuple[int, int]] = {}  # id of a managed button shown -> with text, icon only
        items: list[int] = []
        for action in self.bar.actions():
            widget = self.bar.widgetForAction(action)
            if widget is None or not action.isVisible():
                continue
            if isinstance(widget, QToolButton) and widget in managed:
                widths[id(widget)] = self._widths(widget)
                items.append(widths[id(widget)][0])
            else:
                items.append(self._smallest(widget))
        layout = self.bar.layout()
        spacing, m = (layout.spacing(), layout.contentsMargins()) if layout is not None else (0, QMargins())
        frame = self.bar.contentsMargins()
        needed = sum(items) + spacing * max(0, len(items) - 1) + m.left() + m.right() + frame.left() + frame.right()
        for button in managed:
            if id(button) not in widths:  # its action is hidden
                continue
            style = self.bar.toolButtonStyle()
            if needed > self.bar.width():
                style = Qt.ToolButtonStyle.ToolButtonIconOnly
                needed -= widths[id(button)][0] - widths[id(button)][1]
            if button.toolButtonStyle() != style:
                button.setToolButtonStyle(style)
