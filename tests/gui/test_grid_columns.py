"""The thumbnail grid keeps its columns when its scroll bar comes and goes (no reflow, no stuck state)."""

from __future__ import annotations

from PySide6.QtCore import QSize, QStringListModel
from PySide6.QtWidgets import QStyle

from faceorg.gui.grid import GridView


def test_columns_do_not_change_when_the_scroll_bar_comes_or_goes(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = GridView(spacing=0)
    qtbot.addWidget(view)
    model = QStringListModel([str(n) for n in range(8)])
    view.setModel(model)
    view.set_cell(QSize(100, 100))
    bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view)
    # Wide enough for 8 columns without the bar, not beside it: the bar used to take a column away.
    view.resize(8 * 100 + 2 + bar // 2 + 2 * view.frameWidth(), 260)
    view.show()
    qtbot.waitExposed(view)
    assert not view.verticalScrollBar().isVisible()
    no_bar = view.gridSize()
    model.setStringList([str(n) for n in range(40)])  # 40 cells: more rows than fit, the bar comes
    qtbot.waitUntil(lambda: view.verticalScrollBar().isVisible())
    assert view.gridSize() == no_bar
    model.setStringList([str(n) for n in range(8)])  # back to one row: the bar goes
    qtbot.waitUntil(lambda: not view.verticalScrollBar().isVisible())
    assert view.gridSize() == no_bar
    assert view.viewport().width() // view.gridSize().width() >= 7
