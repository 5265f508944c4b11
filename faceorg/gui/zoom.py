"""Zoom and pan for the Photo view, kept apart from what the view draws on the photo.

:class:`ZoomPan` is the geometry: where the photo lies in the widget, fitted or at a zoom with a pan.
:class:`ZoomPanController` drives it from the user (an event filter on the canvas): the mouse wheel
zooms around the pointer, a touchpad scrolls (pans) and pinches (zooms), the keyboard zooms (+, -,
0 fit, 1 actual pixels) and pans (Up and Down while zoomed in, Shift+arrows too), and dragging pans
(middle button; the left one too, on the photo away from a face box while zoomed in, unless a tool
such as drawing a face takes that drag). Past the
resolution of the on-screen copy, the photo is decoded once at full size on a worker and kept in a
small LRU cache, so a 12 MP photo at 100% scrolls by copying only the visible pixels.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QGestureEvent, QHBoxLayout, QLabel, QPinchGesture, QToolButton, QWidget

from faceorg.imaging.decode import PhotoReadError, load_working_image

if TYPE_CHECKING:
    from faceorg.gui.photo_view import PhotoCanvas

MARGIN = 12.0  # around a fitted photo
MAX_ZOOM = 8.0  # device pixels per photo pixel at most (800%)
STEP = 1.25  # one wheel notch or key press
FULL_CACHE_BYTES = 200 << 20  # full-size photos kept decoded (about four 12 MP photos)


class ZoomPan:
    """The geometry: ``scale`` widget pixels per photo pixel and ``center``, the photo point shown in the
    middle of the widget. ``fit`` shows the whole photo (the default, and after every new photo)."""

    def __init__(self) -> None:
        self.fit = True
        self.scale = 1.0
        self.center = QPointF()
        self.view = QRectF()  # the widget's rect, as of the last layout
        self.size = (0.0, 0.0)  # the photo's full size (upright pixels)

    def follow(self, view: QRectF, size: tuple[float, float]) -> None:
        """Follow the widget's size and the photo's; keeps the zoom and clamps the pan."""
        if size != self.size:
            self.fit = True
        self.view, self.size = QRectF(view), size
        if self.fit:
            self.scale = self.fit_scale()
            self.center = QPointF(size[0] / 2, size[1] / 2)
        self._clamp()

    def fit_scale(self) -> float:
        w, h = self.size
        area = self.view.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        if w <= 0 or h <= 0 or area.width() <= 0 or area.height() <= 0:
            return 1.0
        return min(area.width() / w, area.height() / h)

    def image_rect(self) -> QRectF:
        """Where the whole photo is drawn, in widget coordinates (may reach far outside the widget)."""
        w, h = self.size
        if w <= 0 or h <= 0:
            return QRectF()
        c = self.view.center()
        return QRectF(c.x() - self.center.x() * self.scale, c.y() - self.center.y() * self.scale,
                      w * self.scale, h * self.scale)

    def to_photo(self, pos: QPointF) -> QPointF:
        c = self.view.center()
        return QPointF(self.center.x() + (pos.x() - c.x()) / self.scale,
                       self.center.y() + (pos.y() - c.y()) / self.scale)

    @property
    def zoomed_in(self) -> bool:
        """Part of the photo is outside the widget (there is something to pan to)."""
        r = self.image_rect()
        return r.width() > self.view.width() + 0.5 or r.height() > self.view.height() + 0.5

    def set_scale(self, scale: float, anchor: QPointF | None = None, *, dpr: float = 1.0) -> None:
        """Zoom to ``scale``, keeping the photo point under ``anchor`` (a widget position) where it is.
        Zooming out to the fitted size or below fits the photo again."""
        fit = self.fit_scale()
        scale = min(scale, MAX_ZOOM / dpr)
        if scale <= fit * 1.001:
            self.fit, self.scale = True, fit
            self.center = QPointF(self.size[0] / 2, self.size[1] / 2)
            return
        anchor = anchor if anchor is not None else self.view.center()
        fixed = self.to_photo(anchor)
        self.fit, self.scale = False, scale
        c = self.view.center()
        self.center = QPointF(fixed.x() - (anchor.x() - c.x()) / scale, fixed.y() - (anchor.y() - c.y()) / scale)
        self._clamp()

    def zoom_by(self, factor: float, anchor: QPointF | None = None, *, dpr: float = 1.0) -> None:
        self.set_scale(self.scale * factor, anchor, dpr=dpr)

    def show_fitted(self) -> None:
        self.fit = True
        self.follow(self.view, self.size)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the photo by (dx, dy) widget pixels."""
        if self.fit:
            return
        self.center = QPointF(self.center.x() - dx / self.scale, self.center.y() - dy / self.scale)
        self._clamp()

    def _clamp(self) -> None:
        """Keep the photo covering the widget where it is larger; centre it along an axis where it is smaller."""
        w, h = self.size
        if w <= 0 or h <= 0 or self.scale <= 0:
            return
        half_w, half_h = self.view.width() / 2 / self.scale, self.view.height() / 2 / self.scale
        x = w / 2 if half_w * 2 >= w else min(max(self.center.x(), half_w), w - half_w)
        y = h / 2 if half_h * 2 >= h else min(max(self.center.y(), half_h), h - half_h)
        self.center = QPointF(x, y)


def draw_visible(p: QPainter, image: QImage, target: QRectF, clip: QRectF) -> None:
    """Draw ``image`` stretched over ``target``, but only the part inside ``clip``: at 100% a 12 MP photo
    costs a copy of the visible pixels, not a pass over the whole photo."""
    visible = target.intersected(clip)
    if visible.isEmpty() or target.isEmpty():
        return
    sx, sy = image.width() / target.width(), image.height() / target.height()
    source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                    visible.width() * sx, visible.height() * sy)
    exact = abs(sx * p.device().devicePixelRatioF() - 1.0) < 1e-3 if p.device() is not None else False
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not exact)
    p.drawImage(visible, image, source)


# -- full-size decoding --------------------------------------------------------------------------------

_full: OrderedDict[tuple[str, int], QImage] = OrderedDict()
_full_lock = threading.Lock()


def decode_full(path: str) -> QImage | None:
    """The photo upright at full size, ready to paint (32-bit), from the LRU cache or decoded now
    (worker thread). None when it cannot be read."""
    try:
        key = (path, os.stat(path).st_mtime_ns)
    except OSError:
        return None
    with _full_lock:
        image = _full.get(key)
        if image is not None:
            _full.move_to_end(key)
            return image
    try:
        pixels = load_working_image(path, max_side=None).pixels
    except (PhotoReadError, OSError):
        return None
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888) \
        .convertToFormat(QImage.Format.Format_RGB32)
    with _full_lock:
        _full[key] = image
        total = sum(i.sizeInBytes() for i in _full.values())
        while total > FULL_CACHE_BYTES and len(_full) > 1:
            _, dropped = _full.popitem(last=False)
            total -= dropped.sizeInBytes()
    return image


def clear_full_cache() -> None:
    with _full_lock:
        _full.clear()


# -- the controller --------------------------------------------------------------------------------------

class ZoomPanController(QObject):
    """Zooms and pans a canvas from the wheel, the touchpad, pinches, keys and drags (an event filter)."""

    changed = Signal()  # the zoom or the pan changed

    #: Dragging with the left button on the photo (away from face boxes) pans while zoomed in. A tool that
    #: needs that drag (drawing a box) turns this off while it is active.
    left_drag_pans = True

    def __init__(self, canvas: PhotoCanvas, load_full: Callable[[str, Callable[[QImage | None], None]], None]) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.load_full = load_full  # load_full(path, done): decode at full size off the GUI thread
        self._drag: QPointF | None = None
        self._full_for: str | None = None  # the path whose full-size decode was asked for
        canvas.installEventFilter(self)
        canvas.grabGesture(Qt.GestureType.PinchGesture)

    @property
    def zoom(self) -> ZoomPan:
        return self.canvas.zoom

    def _dpr(self) -> float:
        return self.canvas.devicePixelRatioF()

    # -- commands (also the zoom bar's) -------------------------------------------------------------
    def zoom_in(self, anchor: QPointF | None = None) -> None:
        self._zoom(STEP, anchor)

    def zoom_out(self, anchor: QPointF | None = None) -> None:
        self._zoom(1 / STEP, anchor)

    def fit(self) -> None:
        self.zoom.show_fitted()
        self._changed()

    def actual_pixels(self) -> None:
        """100%: one photo pixel on one screen pixel, around the selected face if there is one."""
        face = self.canvas.selected_face_rect()
        self.zoom.set_scale(1.0 / self._dpr(), face.center() if face is not None else None, dpr=self._dpr())
        self._changed()

    def percent(self) -> int:
        """The zoom as a percentage of the photo's own pixels on screen pixels."""
        return round(self.zoom.scale * self._dpr() * 100)

    def _zoom(self, factor: float, anchor: QPointF | None) -> None:
        self.zoom.zoom_by(factor, anchor, dpr=self._dpr())
        self._changed()

    def _pan(self, dx: float, dy: float) -> None:
        self.zoom.pan_by(dx, dy)
        self._changed()

    def _changed(self) -> None:
        self._want_full()
        self.canvas.update()
        self.changed.emit()

    def _want_full(self) -> None:
        """Ask for the full-size photo once the on-screen copy has fewer pixels than the zoom shows."""
        canvas = self.canvas
        image = canvas.image
        path = canvas.full_size_path()
        w = self.zoom.size[0]
        if image is None or path is None or w <= 0 or self._full_for == path:
            return
        if self.zoom.scale * self._dpr() <= image.width() / w * 1.02:
            return  # the copy on screen is sharp enough
        self._full_for = path

        def done(full: QImage | None) -> None:
            if full is not None and canvas.full_size_path() == path:
                canvas.image = full
                canvas.update()

        self.load_full(path, done)

    def photo_changed(self) -> None:
        """A new photo: fitted again, its full size not asked for yet."""
        self._full_for = None
        self._drag = None
        self.zoom.fit = True

    # -- events ---------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.canvas:
            return False
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.changed.emit()  # a fitted photo's zoom follows the window's size
            return False
        if kind == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            return self._wheel(event)
        if kind == QEvent.Type.NativeGesture and isinstance(event, QNativeGestureEvent):
            if event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self._zoom(1.0 + event.value(), event.position())
                return True
            if event.gestureType() == Qt.NativeGestureType.SmartZoomNativeGesture:
                self.fit() if not self.zoom.fit else self._zoom(2.0, event.position())
                return True
            return False
        if kind == QEvent.Type.Gesture and isinstance(event, QGestureEvent):
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                centre = self.canvas.mapFromGlobal(pinch.centerPoint().toPoint())
                self._zoom(pinch.scaleFactor(), QPointF(centre))
                return True
            return False
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(event)
        if isinstance(event, QMouseEvent):
            return self._mouse(event)
        return False

    def _wheel(self, event: QWheelEvent) -> bool:
        pixels, angle = event.pixelDelta(), event.angleDelta()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if not pixels.isNull() and not ctrl:  # a touchpad scrolls: pan
            self._pan(pixels.x(), pixels.y())
            return True
        steps = (angle.y() or angle.x()) / 120.0
        if steps:
            self._zoom(STEP ** steps, event.position())
        return True

    def _key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_pixels()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right) and \
                not self.zoom.fit and (shift or key in (Qt.Key.Key_Up, Qt.Key.Key_Down)):
            step = max(40.0, self.canvas.height() / 8)  # Left/Right without Shift go from face to face
            dx = step if key == Qt.Key.Key_Left else -step if key == Qt.Key.Key_Right else 0.0
            dy = step if key == Qt.Key.Key_Up else -step if key == Qt.Key.Key_Down else 0.0
            self._pan(dx, dy)
        else:
            return False
        return True

    def _mouse(self, event: QMouseEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            button = event.button()
            pan_left = button == Qt.MouseButton.LeftButton and self.left_drag_pans and self.zoom.zoomed_in \
                and self.canvas.face_at(event.position()) is None
            if button == Qt.MouseButton.MiddleButton or pan_left:
                self._drag = event.position()
                self.canvas.setCursor(Qt.CursorShape.ClosedHandCursor)
                return button == Qt.MouseButton.MiddleButton  # a left click still reaches the canvas
            return False
        if kind == QEvent.Type.MouseMove and self._drag is not None:
            if not event.buttons() & (Qt.MouseButton.MiddleButton | Qt.MouseButton.LeftButton):
                self._drag = None  # the release went elsewhere (another tool took it)
                self.canvas.unsetCursor()
                return False
            pos = event.position()
            self._pan(pos.x() - self._drag.x(), pos.y() - self._drag.y())
            self._drag = pos
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._drag is not None:
            self._drag = None
            self.canvas.unsetCursor()
            return True
        if kind == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.LeftButton and \
                self.canvas.face_at(event.position()) is None:
            self.fit() if not self.zoom.fit else self.actual_pixels_at(event.position())
            return True
        return False

    def actual_pixels_at(self, pos: QPointF) -> None:
        self.zoom.set_scale(1.0 / self._dpr(), pos, dpr=self._dpr())
        self._changed()


class ZoomBar(QWidget):
    """Fit, 100%, zoom out and in, and the current zoom, for the Photo view's header."""

    def __init__(self, controller: ZoomPanController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.label = QLabel()
        self.label.setObjectName("zoomPercent")
        self.label.setMinimumWidth(44)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.buttons: dict[str, QToolButton] = {}
        for name, text, tip, slot in (
                ("zoomOut", "−", "Zoom out (−, or the mouse wheel)", controller.zoom_out),
                ("zoomIn", "+", "Zoom in (+, or the mouse wheel)", controller.zoom_in),
                ("zoomFit", "Fit", "Show the whole photo (0)", controller.fit),
                ("zoomActual", "1:1", "Actual pixels, 100% (1); drag or use the arrow keys to move around",
                 controller.actual_pixels)):
            button = QToolButton()
            button.setObjectName(name)
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
            self.buttons[name] = button
        layout.addWidget(self.label)
        for name in ("zoomOut", "zoomIn", "zoomFit", "zoomActual"):
            layout.addWidget(self.buttons[name])
        controller.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        zoom = self.controller.zoom
        self.controller.canvas.image_rect()  # brings the geometry up to date with the photo and the widget
        self.label.setText(f"{self.controller.percent()}%" if zoom.size[0] > 0 else "")
        self.buttons["zoomFit"].setEnabled(not zoom.fit)
