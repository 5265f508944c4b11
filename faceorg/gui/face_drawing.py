"""Drawing faces on the Photo view: drag a box on the photo to add a face it missed (then name it), drag the
handles of a box you added to resize it, Delete or the context menu to remove it. The model work runs on the
operations thread; every change is undoable with the app's Undo.

Kept apart from :mod:`faceorg.gui.photo_view`: a tool that watches the canvas's mouse and keys (an event
filter) and paints on a transparent overlay above it.
"""

from __future__ import annotations

from enum import Enum, auto
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QWidget

from faceorg.gui.actions import make_action
from faceorg.gui.dialogs import name_completer
from faceorg.people.changes import ChangeSet
from faceorg.people.drawn_faces import MIN_BOX_SIDE, add_face, remove_drawn_face, resize_face
from faceorg.people.queries import FaceSummary

if TYPE_CHECKING:
    from faceorg.gui.photo_view import PhotoCanvas, PhotoView

HANDLE = 8.0  # side of a resize handle (widget pixels)
GRAB = 7.0  # how near a handle the mouse must be to take it
# Handles as the box edges they move: (left, top, right, bottom), clockwise from the top-left corner.
HANDLES = ((1, 1, 0, 0), (0, 1, 0, 0), (0, 1, 1, 0), (0, 0, 1, 0), (0, 0, 1, 1), (0, 0, 0, 1), (1, 0, 0, 1),
           (1, 0, 0, 0))
CURSORS = (Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor, Qt.CursorShape.SizeBDiagCursor,
           Qt.CursorShape.SizeHorCursor)


class Mode(Enum):
    IDLE = auto()
    PRESSED = auto()  # the button is down on the photo, not on a face: a drag will draw
    DRAWING = auto()
    RESIZING = auto()
    PENDING = auto()  # a box drawn, its name being typed
    SAVING = auto()  # the face being added or resized on the operations thread


def handle_points(rect: QRectF) -> list[QPointF]:
    """The eight handle centres of ``rect``, in the order of ``HANDLES``."""
    cx, cy = rect.center().x(), rect.center().y()
    return [rect.topLeft(), QPointF(cx, rect.top()), rect.topRight(), QPointF(rect.right(), cy),
            rect.bottomRight(), QPointF(cx, rect.bottom()), rect.bottomLeft(), QPointF(rect.left(), cy)]


class DrawOverlay(QWidget):
    """Transparent to the mouse, above the canvas: paints the box being drawn or resized and the handles."""

    def __init__(self, tool: FaceDrawing, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.tool = tool
        self.setObjectName("drawOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)

    def paintEvent(self, event: QPaintEvent) -> None:
        rect, handles = self.tool.overlay_box()
        if rect is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        if self.tool.mode in (Mode.DRAWING, Mode.RESIZING, Mode.PENDING, Mode.SAVING):
            glow = QColor(highlight)
            glow.setAlpha(40)
            p.fillRect(rect, glow)
            p.setPen(QPen(QColor(0, 0, 0, 150), 4))
            p.drawRect(rect)
            p.setPen(QPen(QColor(255, 255, 255), 2, Qt.PenStyle.DashLine))
            p.drawRect(rect)
        if handles:
            p.setPen(QPen(QColor(0, 0, 0, 170), 1))
            p.setBrush(QColor(255, 255, 255))
            for point in handle_points(rect):
                p.drawRect(QRectF(point.x() - HANDLE / 2, point.y() - HANDLE / 2, HANDLE, HANDLE))
        p.end()


class FaceDrawing(QObject):
    """The drawing tool of one Photo view (see the module docstring)."""

    def __init__(self, view: PhotoView) -> None:
        super().__init__(view)
        self.view = view
        self.canvas: PhotoCanvas = view.canvas
        self.ctx = view.ctx
        self.mode = Mode.IDLE
        self.press = QPointF()
        self.rect = QRectF()  # the box being drawn, resized, named or saved (widget coordinates)
        self.handle = -1
        self.resizing: FaceSummary | None = None
        self.overlay = DrawOverlay(self, self.canvas)
        self.overlay.setGeometry(self.canvas.rect())
        self.name_edit = QLineEdit(self.canvas)
        self.name_edit.setObjectName("drawnFaceNameEditor")
        self.name_edit.setPlaceholderText("Who is this? (Enter to add, Esc to cancel)")
        self.name_edit.setCompleter(name_completer(self.ctx.names, self.name_edit))
        self.name_edit.setFixedWidth(280)
        self.name_edit.hide()
        self.name_edit.installEventFilter(self)
        self.name_edit.returnPressed.connect(self.commit)  # Enter on a completion goes this way
        self.remove_action = make_action(view, "&Remove Face", self.remove_selected, shortcut="Del",
                                         icon_name="not-face", tip="Remove this face you added",
                                         name="removeDrawnFace")
        self.canvas.installEventFilter(self)
        self.update_actions()

    # -- state ----------------------------------------------------------------------------------------------
    def drawn_selected(self) -> FaceSummary | None:
        """The selected face when the user drew it (only those can be resized or removed)."""
        face = self.view.selected_face()
        return face if face is not None and face.manual else None

    def overlay_box(self) -> tuple[QRectF | None, bool]:
        """What the overlay paints: a box (or None) and whether it has handles."""
        if self.mode in (Mode.DRAWING, Mode.PENDING, Mode.SAVING):
            return self.rect, False
        if self.mode is Mode.RESIZING:
            return self.rect, True
        face = self.drawn_selected()
        if face is not None and self.canvas.image is not None:
            return self.canvas.box_rect(face), True
        return None, False

    def update_actions(self) -> None:
        self.remove_action.setEnabled(self.drawn_selected() is not None and self.mode is Mode.IDLE)
        self.overlay.update()

    def reset(self) -> None:
        """Drop whatever was being drawn (another photo is shown)."""
        self.mode = Mode.IDLE
        self.resizing = None
        self.name_edit.hide()
        self.overlay.update()

    # -- events ---------------------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.name_edit:
            return self._editor_event(event)
        if obj is not self.canvas:
            return False
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.overlay.setGeometry(self.canvas.rect())
            if self.mode is Mode.PENDING:
                self.reset()  # the box no longer matches the photo's place
            return False
        if isinstance(event, QMouseEvent):
            if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                return self._press(event.position())
            if kind == QEvent.Type.MouseMove:
                return self._move(event.position(), bool(event.buttons() & Qt.MouseButton.LeftButton))
            if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
                return self._release(event.position())
            return False
        if isinstance(event, QContextMenuEvent):
            self._context_menu(event)
            return True
        escape = isinstance(event, QKeyEvent) and kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape
        if escape and self.mode in (Mode.DRAWING, Mode.RESIZING, Mode.PENDING):
            self.reset()
            return True
        return False

    def _press(self, pos: QPointF) -> bool:
        if self.mode is Mode.PENDING:
            self.reset()  # a click elsewhere drops the box being named
        if self.mode is not Mode.IDLE or self.canvas.image is None:
            return False
        face = self.drawn_selected()
        handle = self._handle_at(pos, self.canvas.box_rect(face)) if face is not None else -1
        if face is not None and handle >= 0:
            self.mode, self.handle, self.resizing = Mode.RESIZING, handle, face
            self.rect = self.canvas.box_rect(face)
            self.overlay.update()
            return True
        if self.canvas.face_at(pos) is None and self.canvas.image_rect().contains(pos):
            self.mode, self.press = Mode.PRESSED, pos
        return False  # the canvas still sees the click (it clears the selection, closes its name editor)

    def _move(self, pos: QPointF, pressed: bool) -> bool:
        if self.mode is Mode.PRESSED and pressed:
            if (pos - self.press).manhattanLength() < QApplication.startDragDistance():
                return True
            self.mode = Mode.DRAWING
        if self.mode is Mode.DRAWING:
            self.rect = QRectF(self.press, pos).normalized().intersected(self.canvas.image_rect())
            self.overlay.update()
            return True
        if self.mode is Mode.RESIZING:
            self.rect = self._resized(pos)
            self.overlay.update()
            return True
        if not pressed and self.mode is Mode.IDLE:
            face = self.drawn_selected()
            handle = self._handle_at(pos, self.canvas.box_rect(face)) if face is not None else -1
            if handle >= 0:
                self.canvas.setCursor(CURSORS[handle % 4])
                return True
            if self.canvas.face_at(pos) is None:
                inside = self.canvas.image is not None and self.canvas.image_rect().contains(pos)
                self.canvas.setCursor(Qt.CursorShape.CrossCursor if inside else Qt.CursorShape.ArrowCursor)
        return False

    def _release(self, pos: QPointF) -> bool:
        if self.mode is Mode.PRESSED:
            self.mode = Mode.IDLE
            return False
        if self.mode is Mode.DRAWING:
            if self._big_enough(self.rect):
                self._ask_name()
            else:
                self.reset()
            return True
        if self.mode is Mode.RESIZING:
            face, rect = self.resizing, self.rect
            self.resizing = None
            if face is None or not self._big_enough(rect) or rect == self.canvas.box_rect(face):
                self.reset()
                return True
            self._save(partial(resize_face), face.id, self.canvas.widget_to_photo(rect))
            return True
        return False

    def _handle_at(self, pos: QPointF, rect: QRectF) -> int:
        best, nearest = -1, GRAB
        for i, point in enumerate(handle_points(rect)):
            d = max(abs(point.x() - pos.x()), abs(point.y() - pos.y()))
            if d <= nearest:
                best, nearest = i, d
        return best

    def _resized(self, pos: QPointF) -> QRectF:
        assert self.resizing is not None
        start = self.canvas.box_rect(self.resizing)
        left, top, right, bottom = start.left(), start.top(), start.right(), start.bottom()
        moves_left, moves_top, moves_right, moves_bottom = HANDLES[self.handle]
        left = pos.x() if moves_left else left
        top = pos.y() if moves_top else top
        right = pos.x() if moves_right else right
        bottom = pos.y() if moves_bottom else bottom
        return QRectF(QPointF(left, top), QPointF(right, bottom)).normalized().intersected(self.canvas.image_rect())

    def _big_enough(self, rect: QRectF) -> bool:
        _x, _y, w, h = self.canvas.widget_to_photo(rect)
        return rect.width() >= 6 and rect.height() >= 6 and min(w, h) >= MIN_BOX_SIDE

    # -- adding ---------------------------------------------------------------------------------------------
    def _ask_name(self) -> None:
        """Show the name field under the drawn box (Enter adds the face, with the name typed if any)."""
        self.mode = Mode.PENDING
        rect = self.rect.toRect()
        width = self.name_edit.width()
        x = max(4, min(rect.center().x() - width // 2, self.canvas.width() - width - 4))
        y = rect.bottom() + 6
        if y + self.name_edit.height() > self.canvas.height() - 4:
            y = max(4, rect.top() - self.name_edit.height() - 6)
        self.name_edit.move(x, y)
        self.name_edit.clear()
        self.name_edit.show()
        self.name_edit.raise_()
        self.name_edit.setFocus()
        self.overlay.update()

    def _editor_event(self, event: QEvent) -> bool:
        if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
            return False
        if event.key() == Qt.Key.Key_Escape:
            self.reset()
            self.canvas.setFocus()
            return True
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            popup = self.name_edit.completer().popup() if self.name_edit.completer() else None
            if popup is not None and popup.isVisible():
                return False  # the completer takes the highlighted name first
            self.commit()
            return True
        return False

    def commit(self) -> None:
        """Add the drawn face, named with what was typed (nothing typed: the next grouping places it)."""
        if self.mode is not Mode.PENDING or self.view.photo is None:
            return
        name = " ".join(self.name_edit.text().split()) or None
        self.name_edit.hide()
        self.canvas.setFocus()
        self._save(partial(add_face, name=name), self.view.photo.photo_id, self.canvas.widget_to_photo(self.rect))

    def _save(self, fn: partial[ChangeSet], target: int, box: tuple[float, float, float, float]) -> None:
        self.mode = Mode.SAVING
        self.update_actions()
        self.ctx.message.emit("Adding the face…" if fn.func is add_face else "Resizing the face…")

        def done(changes: ChangeSet) -> None:
            self.reset()
            added = sorted(changes.faces_added)
            if added:
                self.canvas.selected = added[0]  # selected once the photo's faces come back
            self.update_actions()

        def failed(_exc: BaseException) -> None:
            self.reset()
            self.update_actions()

        self.ctx.run_op(fn, target, box, on_done=done, on_error=failed)

    # -- removing and the menu ------------------------------------------------------------------------------
    def remove_selected(self) -> None:
        face = self.drawn_selected()
        if face is not None and self.mode is Mode.IDLE:
            self.ctx.run_op(remove_drawn_face, face.id)

    def _context_menu(self, event: QContextMenuEvent) -> None:
        pos = QPointF(event.pos())
        face = self.canvas.face_at(pos)
        menu = QMenu(self.canvas)
        if face is not None:
            self.view.select_face(face)
            menu.addAction(self.view.name_action)
            if self.drawn_selected() is not None:
                resize = menu.addAction("Resize: Drag the Box's Handles")
                resize.setEnabled(False)
                menu.addAction(self.remove_action)
            else:
                menu.addAction(self.view.not_face_action)
                menu.addAction(self.view.ignore_action)
        else:
            hint = menu.addAction("Add a Face: Drag a Box Around It")
            hint.setEnabled(False)
        menu.exec(event.globalPos())
