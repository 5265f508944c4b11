"""Painting person cards and face chips from the thumbnail cache (never from disk or the database)."""

from __future__ import annotations

from typing import cast

import shiboken6
from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QCompleter,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from faceorg.gui.context import CARD_CHIP, GRID_CHIP
from faceorg.gui.dialogs import enter_takes_typed_text
from faceorg.gui.models import FacesModel, PeopleModel, display_name, faces_text
from faceorg.gui.thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex

CARD_SIZE = QSize(CARD_CHIP + 28, CARD_CHIP + 64)
CHIP_SIZE = QSize(GRID_CHIP + 8, GRID_CHIP + 8)


_placeholders: dict[tuple[int, int, float, int], QImage] = {}


def placeholder_image(side: int, radius: float, palette: QPalette, dpr: float) -> QImage:
    """A neutral face silhouette (drawn once per size and colour, then reused)."""
    base = palette.color(QPalette.ColorRole.Mid)
    key = (side, int(radius), dpr, base.rgba())
    image = _placeholders.get(key)
    if image is not None:
        return image
    px = max(1, round(side * dpr))
    image = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(dpr, dpr)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, side, side), radius, radius)
    bg = QColor(base)
    bg.setAlpha(70)
    p.fillPath(path, bg)
    p.setClipPath(path)
    fg = QColor(base)
    fg.setAlpha(120)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(fg)
    cx, cy = side / 2, side * 0.42
    p.drawEllipse(QRectF(cx - side * 0.17, cy - side * 0.2, side * 0.34, side * 0.38))
    p.drawEllipse(QRectF(cx - side * 0.36, side * 0.72, side * 0.72, side * 0.6))
    p.end()
    image.setDevicePixelRatio(dpr)
    _placeholders[key] = image
    return image


def blit(p: QPainter, at: QPoint, image: QImage) -> None:
    """Draw a thumbnail at its own size, by Qt's direct blit.

    An item view's painter has SmoothPixmapTransform on, and with it Qt blends an image of 96 lines or
    more in slices on its GUI thread pool and waits for them: on a busy machine every cell then waits
    for pool threads to be scheduled, hundreds of milliseconds per screen. At its own size smoothing
    changes nothing, so it is turned off for the draw.
    """
    smooth = p.testRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    if smooth:
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    p.drawImage(at, image)
    if smooth:
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)


def paint_chip(p: QPainter, rect: QRect, cache: ThumbnailCache, face_id: int | None, palette: QPalette,
               radius: float) -> None:
    """The face's thumbnail (already rounded by the loader), or a placeholder while it loads.

    One ``drawImage`` at the image's own size: no clipping or scaling in the paint path.
    """
    image = cache.get(face_id) if face_id is not None else None
    if image is None:
        image = placeholder_image(rect.width(), radius, palette, cache.dpr)
    blit(p, rect.topLeft(), image)


def _selection_colors(option: QStyleOptionViewItem) -> tuple[QColor, QColor]:
    hl = option.palette.color(QPalette.ColorRole.Highlight)
    fill = QColor(hl)
    fill.setAlpha(60)
    return hl, fill


class CardDelegate(QStyledItemDelegate):
    """A person card: cover face, name (or "Unnamed"), face count; renamed in place with completion."""

    def __init__(self, cache: ThumbnailCache, completer_model: QAbstractItemModel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.completer_model = completer_model
        self.drop_row: int | None = None  # the card a drag hovers over
        self._font_key = ""
        self._font_set: tuple[QFont, QFont, QFont] = (QFont(), QFont(), QFont())
        self._elisions: dict[tuple[str, int, bool], str] = {}

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return CARD_SIZE

    def _fonts(self, base: QFont) -> tuple[QFont, QFont, QFont]:
        """Bold (named), italic (unnamed) and small (count) fonts, made once per base font."""
        key = base.key()
        if self._font_key != key:
            bold, italic, small = QFont(base), QFont(base), QFont(base)
            bold.setBold(True)
            italic.setItalic(True)
            small.setPointSizeF(max(7.0, base.pointSizeF() * 0.88))
            self._font_set = (bold, italic, small)
            self._font_key = key
            self._elisions.clear()
        return self._font_set

    def _elided(self, p: QPainter, text: str, width: int, named: bool) -> str:
        key = (text, width, named)
        out = self._elisions.get(key)
        if out is None:
            if len(self._elisions) > 20_000:
                self._elisions.clear()
            out = self._elisions[key] = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width)
        return out

    @staticmethod
    def card_rect(option_rect: QRect) -> QRect:
        """The card, centred in its grid cell (cells widen to fill the row)."""
        card = QRect(0, 0, CARD_SIZE.width(), CARD_SIZE.height())
        card.moveCenter(option_rect.center())
        return card

    def chip_rect(self, option_rect: QRect) -> QRect:
        cell = self.card_rect(option_rect)
        return QRect(cell.left() + (cell.width() - CARD_CHIP) // 2, cell.top() + 8, CARD_CHIP, CARD_CHIP)

    def name_rect(self, option_rect: QRect) -> QRect:
        cell = self.card_rect(option_rect)
        return QRect(cell.left() + 4, cell.top() + CARD_CHIP + 14, cell.width() - 8, 22)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cell = self.card_rect(option.rect).adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        hl, fill = _selection_colors(option)
        if selected or index.row() == self.drop_row:
            p.setPen(QPen(hl, 2))
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(cell), 10, 10)
        elif hover:
            hover_fill = QColor(option.palette.color(QPalette.ColorRole.Mid))
            hover_fill.setAlpha(40)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(hover_fill)
            p.drawRoundedRect(QRectF(cell), 10, 10)
        if option.state & QStyle.StateFlag.State_HasFocus:
            pen = QPen(hl, 1, Qt.PenStyle.DotLine)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(cell.adjusted(1, 1, -1, -1)), 9, 9)
        # Read the plain record straight from the model: no QVariant round trips in the hot path.
        model = cast(PeopleModel, index.model())  # the delegate draws only the people grid
        card = model.card_at(index.row())
        hidden = card.hidden
        if hidden:
            p.setOpacity(0.45)
        paint_chip(p, self.chip_rect(option.rect), self.cache, model.cover_of(card), option.palette, 10)
        p.setOpacity(1.0)
        named = card.name is not None
        text_color = option.palette.color(QPalette.ColorRole.Text)
        dim = option.palette.color(QPalette.ColorRole.PlaceholderText)
        bold, italic, small = self._fonts(option.font)
        p.setFont(bold if named else italic)
        p.setPen(text_color if named else dim)
        name_rect = self.name_rect(option.rect)
        name = self._elided(p, display_name(card.name), name_rect.width(), named)
        p.drawText(name_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)
        p.setFont(small)
        p.setPen(dim)
        count = faces_text(card.face_count) + (" · hidden" if hidden else "")
        p.drawText(name_rect.translated(0, 20), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, count)
        p.restore()

    # -- renaming in place --------------------------------------------------------------------------
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setPlaceholderText("Name")
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        completer = QCompleter(self.completer_model, editor)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        editor.setCompleter(completer)
        editor.setObjectName("cardNameEditor")
        # Enter on a highlighted completion goes to the popup, which then calls the editor directly, past
        # the view's key handling: without this the name was taken but a second Enter was needed.
        completer.activated[str].connect(  # type: ignore[index]  # the stubs do not declare a signal's overloads
            lambda text: QTimer.singleShot(0, lambda: self._take(editor, text)))
        enter_takes_typed_text(completer, lambda: self._take(editor, editor.text()))  # a whole name typed
        return editor

    def _take(self, editor: QLineEdit, text: str) -> None:
        """A completion was chosen: that is the name; save it and close the editor."""
        if not shiboken6.isValid(editor) or not editor.isVisible():
            return
        editor.setText(text)
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: Index) -> None:
        editor.setGeometry(self.name_rect(option.rect).adjusted(-2, -2, 2, 2))

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(cast(PeopleModel, index.model()).card_at(index.row()).name or "")
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


class ChipDelegate(QStyledItemDelegate):
    """A face chip; a dot marks faces only suggested or grouped automatically, a tick the confirmed ones."""

    def __init__(self, cache: ThumbnailCache, parent: QAbstractItemView | None = None,
                 *, current_face: int | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.current_face = current_face  # outlined (the face under review)
        self.show_names = False  # each chip captioned with the name of the person it is with (or suggested to)
        self._captions: dict[tuple[str, int], str] = {}  # (name, width) -> elided text

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return CHIP_SIZE

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRect(option.rect.left() + (option.rect.width() - GRID_CHIP) // 2,
                     option.rect.top() + (option.rect.height() - GRID_CHIP) // 2, GRID_CHIP, GRID_CHIP)
        card = cast(FacesModel, index.model()).card_at(index.row())  # the delegate draws only face grids
        face_id = card.id
        dimmed = card.status in ("ignored", "not_face")
        if dimmed:
            p.setOpacity(0.6)
        paint_chip(p, rect, self.cache, face_id, option.palette, 6)
        p.setOpacity(1.0)
        if self.show_names and card.person_name:
            self._caption(p, rect, card.person_name)
        source = card.source
        dot = QRectF(rect.right() - 17, rect.top() + 5, 12, 12)
        if source in ("suggested", "auto"):
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.setBrush(QColor(230, 145, 30) if source == "suggested" else QColor(120, 130, 145))
            p.drawEllipse(dot)
        elif source == "user" and card.person_id is not None:  # confirmed: a tick on a green disc
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.setBrush(QColor(40, 150, 80))
            p.drawEllipse(dot.adjusted(-1, -1, 1, 1))
            p.setPen(QPen(QColor(255, 255, 255), 1.8))
            c = dot.center()
            p.drawPolyline([QPointF(c.x() - 3.2, c.y() + 0.2), QPointF(c.x() - 0.8, c.y() + 2.6),
                            QPointF(c.x() + 3.4, c.y() - 2.4)])
        hl, fill = _selection_colors(option)
        if option.state & QStyle.StateFlag.State_Selected:
            p.setPen(QPen(hl, 3))
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(rect).adjusted(1.5, 1.5, -1.5, -1.5), 6, 6)
        if face_id == self.current_face:
            p.setPen(QPen(hl, 3, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(rect).adjusted(1.5, 1.5, -1.5, -1.5), 6, 6)
        if option.state & QStyle.StateFlag.State_HasFocus:
            p.setPen(QPen(hl, 1, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5), 7, 7)
        p.restore()

    def _caption(self, p: QPainter, rect: QRect, name: str) -> None:
        """The name on a dark band across the chip's foot (readable on any face)."""
        band = QRect(rect.left(), rect.bottom() - 19, rect.width(), 20)
        path = QPainterPath()
        path.addRoundedRect(QRectF(band), 6, 6)
        p.fillPath(path, QColor(0, 0, 0, 150))
        key = (name, band.width() - 8)
        text = self._captions.get(key)
        if text is None:
            if len(self._captions) > 4096:
                self._captions.clear()
            text = self._captions[key] = p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, key[1])
        p.setPen(QColor(255, 255, 255))
        p.drawText(band, Qt.AlignmentFlag.AlignCenter, text)
