"""A grid of photos (square thumbnails with their dates), as fast as the face grids: a QListView over a
list of photo records, thumbnails decoded from the photo files on the loader thread into the LRU cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from faceorg.filenames import display_path
from faceorg.gui.delegates import blit, placeholder_image
from faceorg.gui.grid import GridView
from faceorg.gui.models import ID_ROLE
from faceorg.gui.photo_thumbnails import PHOTO_THUMB
from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.people.photos import PhotoItem

Index = QModelIndex | QPersistentModelIndex

DATE_HEIGHT = 20  # the date line under each thumbnail
PHOTO_CELL = QSize(PHOTO_THUMB + 10, PHOTO_THUMB + DATE_HEIGHT + 8)


_SELECTED, _FOCUS = QStyle.StateFlag.State_Selected, QStyle.StateFlag.State_HasFocus
_HIGHLIGHT, _TEXT, _DIM = QPalette.ColorRole.Highlight, QPalette.ColorRole.Text, QPalette.ColorRole.PlaceholderText
_ANTIALIAS = QPainter.RenderHint.Antialiasing
_DATE_ALIGN = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
_FIELDS = len(PhotoItem._fields)  # a row is the PhotoItem's fields, then its date text


def date_text(date: datetime | None) -> str:
    return f"{date.day} {date:%b %Y}" if date is not None else ""


def as_rows(items: list[PhotoItem]) -> list[tuple[Any, ...]]:
    """Photos as the grid's model keeps them: plain tuples (see :class:`PhotosModel`), each photo's fields
    and the date text its cell shows."""
    return [(*p, date_text(p.date)) for p in items]


class PhotosModel(QAbstractListModel):
    """Photo records in display order; pages are appended as they arrive.

    Each row is kept as a plain tuple (a :class:`PhotoItem` is made when asked for): the garbage collector
    leaves tuples of plain values out, so 100k rows add nothing to its full collections, which run on the
    GUI thread and would otherwise take tens of milliseconds more in the middle of a scroll.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[Any, ...]] = []
        self._row: dict[int, int] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item_at(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return self.date_text_at(index.row())
        if role == ID_ROLE:
            return item.id
        if role == Qt.ItemDataRole.ToolTipRole:
            when = f"{item.date:%Y-%m-%d %H:%M}" if item.date else "no date"
            how = "taken" if item.date_taken else "file time"
            return f"{display_path(item.path)}\n{when} ({how})"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Photo {date_text(item.date)}"
        return None

    def set_items(self, items: list[PhotoItem]) -> None:
        self.set_rows(as_rows(items))

    def append(self, items: list[PhotoItem]) -> None:
        self.append_rows(as_rows(items))

    def set_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Show these rows (from :func:`as_rows`) instead."""
        self.beginResetModel()
        self._rows = rows
        self._row = {r[0]: i for i, r in enumerate(rows)}
        self.endResetModel()

    def append_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Add rows (from :func:`as_rows`, made on a worker: 100k of them are a few milliseconds here)."""
        fresh = [r for r in rows if r[0] not in self._row]
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._row.update((r[0], i) for i, r in enumerate(fresh, start=first))
        self._rows.extend(fresh)
        self.endInsertRows()

    def item_at(self, row: int) -> PhotoItem:
        return PhotoItem._make(self._rows[row][:_FIELDS])

    def date_text_at(self, row: int) -> str:
        return str(self._rows[row][_FIELDS])

    def id_at(self, row: int) -> int:
        return int(self._rows[row][0])

    def row_of(self, photo_id: int) -> int | None:
        return self._row.get(photo_id)

    @property
    def ids(self) -> list[int]:
        return [r[0] for r in self._rows]


class PhotoDelegate(QStyledItemDelegate):
    """A photo's square thumbnail (a placeholder while it loads) with its date below."""

    def __init__(self, cache: ThumbnailCache, parent: QAbstractItemView | None = None) -> None:
        super().__init__(parent)
        self.cache = cache

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return PHOTO_CELL

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        # Every cell scrolled into view comes here (tens per frame while scrolling): constants from the
        # module, the row's date text made on the worker, antialiasing only for the selection's outline.
        r = option.rect
        left, top, width = r.left(), r.top(), r.width()
        at = QPoint(left + (width - PHOTO_THUMB) // 2, top + 4)
        model = cast(PhotosModel, index.model())
        row = index.row()
        palette = option.palette
        image = self.cache.get(model.id_at(row))
        if image is None:
            image = placeholder_image(PHOTO_THUMB, 4, palette, self.cache.dpr)
        p.save()
        blit(p, at, image)
        state = option.state
        selected = bool(state & _SELECTED)
        if selected or state & _FOCUS:
            hl = palette.color(_HIGHLIGHT)
            p.setRenderHint(_ANTIALIAS)
            if selected:
                fill = QColor(hl)
                fill.setAlpha(70)
                p.setPen(QPen(hl, 3))
                p.setBrush(fill)
                p.drawRoundedRect(QRectF(at.x() + 1.5, at.y() + 1.5, PHOTO_THUMB - 3, PHOTO_THUMB - 3), 4, 4)
            if state & _FOCUS:
                p.setPen(QPen(hl, 1, Qt.PenStyle.DotLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        p.setPen(palette.color(_TEXT if selected else _DIM))
        p.drawText(QRect(left, at.y() + PHOTO_THUMB + 2, width, DATE_HEIGHT), _DATE_ALIGN, model.date_text_at(row))
        p.restore()


class PhotoGrid(GridView):
    """Photos as thumbnails; Enter or a double click asks to open the current photo."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent, spacing=2)
        self.photos = PhotosModel(self)
        self.setModel(self.photos)
        self.thumbs = PhotoDelegate(cache, self)
        self.setItemDelegate(self.thumbs)
        self.set_cell(PHOTO_CELL + QSize(4, 4))
        self.watch(cache)

    def selected_ids(self) -> list[int]:
        return [self.photos.id_at(r) for r in self.selected_rows()]

    def current_item(self) -> PhotoItem | None:
        index = self.currentIndex()
        return self.photos.item_at(index.row()) if index.isValid() else None
