"""A fast grid of thumbnails: a QListView over an id list with uniform cells, and an empty-state text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QWidget

from faceorg.gui.thumbnails import ThumbnailCache


class GridView(QListView):
    """Cells flow left to right and wrap; Enter or a double click asks to open the current cell.

    Keyboard: arrows, Home/End, PageUp/PageDown move; Shift/Ctrl extend the selection; Ctrl+A
    selects all. With nothing to show, ``empty_text`` is drawn in the middle.
    """

    open_requested = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        # Uniform cells make laying out even 100k of them one quick pass (batches would repaint each time).
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSpacing(spacing)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(40)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.empty_text = ""
        self.cell: QSize | None = None  # set_cell() makes the columns fill the width
        self.doubleClicked.connect(self.open_requested)

    def set_cell(self, size: QSize) -> None:
        """Cells of at least ``size``; the columns are widened evenly to fill the viewport."""
        self.cell = size
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Columns for the width left beside a vertical scroll bar, shown or not: the number of columns never
        depends on the bar, or the cells would reflow each time it comes or goes (and could settle on a
        column too few with no bar, or on a bar with nothing to scroll)."""
        if self.cell is None or not self.isWrapping():
            return
        width = self.viewport().width() - 2
        if not self.verticalScrollBar().isVisible():
            width -= self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        cols = max(1, width // self.cell.width())
        grid = QSize(max(self.cell.width(), width // cols), self.cell.height())
        if grid != self.gridSize():
            self.setGridSize(grid)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def watch(self, cache: ThumbnailCache) -> None:
        """Repaint when thumbnails arrive (only the viewport: cells paint from the cache); tell the cache
        when the grid scrolls."""
        cache.ready.connect(lambda _ids: self.viewport().update())
        self.verticalScrollBar().valueChanged.connect(lambda _v: cache.scrolled())
        self.horizontalScrollBar().valueChanged.connect(lambda _v: cache.scrolled())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        editing = self.state() == QAbstractItemView.State.EditingState
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not editing:
            index = self.currentIndex()
            if index.isValid():
                self.open_requested.emit(index)
                event.accept()
                return
        super().keyPressEvent(event)

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def select_rows(self, rows: list[int]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        model = self.model()
        sel = QItemSelection()
        for r in rows:
            idx = model.index(r, 0)
            sel.select(idx, idx)
        self.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if rows:
            self.selectionModel().setCurrentIndex(model.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if self.empty_text and (model is None or model.rowCount() == 0):
            p = QPainter(self.viewport())
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            font = p.font()
            font.setPointSizeF(font.pointSizeF() * 1.15)
            p.setFont(font)
            rect = QRect(self.viewport().rect()).adjusted(40, 40, -40, -40)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
            p.end()
