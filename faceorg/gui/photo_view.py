"""The Photo view: the photo upright, a box and a name on every face; click a box to name or reassign it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceorg.filenames import display_path
from faceorg.gui.actions import make_action, tool_button
from faceorg.gui.context import AppContext
from faceorg.gui.dialogs import ask_choice, ask_name, name_completer
from faceorg.gui.system_open import open_in_viewer, show_in_folder
from faceorg.gui.view_parts import stack_vertically
from faceorg.gui.zoom import ZoomBar, ZoomPan, ZoomPanController, decode_full, draw_visible
from faceorg.imaging.decode import PhotoReadError, load_working_image
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.queries import FaceSummary, PhotoFaces, photo_with_faces
from faceorg.store.db import Library

DISPLAY_SIDE = 2560  # the photo is decoded no larger than this on its long side


@dataclass(frozen=True)
class LoadedPhoto:
    faces: PhotoFaces
    image: QImage | None
    error: str | None


def decode_photo(path: str) -> tuple[QImage | None, str | None]:
    """The photo upright as a QImage (worker thread), or the reason it cannot be shown."""
    try:
        working = load_working_image(path, max_side=DISPLAY_SIDE)
    except PhotoReadError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"
    pixels = working.pixels
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB888).copy()
    return image, None


MISSING_TEXT = ("The file of this photo is missing (moved, deleted, or on a drive that is not plugged in). "
                "Its faces count for no one until it is back: put it back and rescan (F5).")


def load_photo(library: Library, photo_id: int, with_image: bool = True) -> LoadedPhoto:
    faces = photo_with_faces(library, photo_id)
    if not with_image:
        return LoadedPhoto(faces, None, None)
    if faces.missing or not Path(faces.path).is_file():
        return LoadedPhoto(faces, None, MISSING_TEXT)
    image, error = decode_photo(faces.path)
    return LoadedPhoto(faces, image, error)


def face_label(face: FaceSummary) -> str:
    if face.status == "ignored":
        return "Ignored"
    if face.person_id is None:
        return "Unknown"
    return face.person_name or "Unnamed"


def face_color(face: FaceSummary) -> QColor:
    if face.status == "ignored":
        return QColor(150, 150, 150)
    if face.person_id is None:
        return QColor(255, 255, 255)
    if face.person_name:
        return QColor(60, 200, 120) if face.source == "user" else QColor(240, 170, 40)
    return QColor(90, 160, 255)


class PhotoCanvas(QWidget):
    """Paints the photo fitted to the widget and the face boxes; clicking a box selects it."""

    face_clicked = Signal(int)  # face id
    background_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.photo: PhotoFaces | None = None
        self.selected: int | None = None
        self.hovered: int | None = None
        self.message = ""
        self.zoom = ZoomPan()  # fitted, or zoomed and panned (driven by the view's ZoomPanController)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(320, 240))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_photo(self, photo: PhotoFaces, image: QImage | None, message: str = "") -> None:
        self.photo, self.image, self.message = photo, image, message
        self.update()

    def set_faces(self, photo: PhotoFaces) -> None:
        self.photo = photo
        self.update()

    def image_rect(self) -> QRectF:
        """Where the whole photo is drawn in the widget (fitted and centred, or as zoomed and panned)."""
        self.zoom.follow(QRectF(self.rect()), self._photo_size())
        return self.zoom.image_rect()

    def selected_face_rect(self) -> QRectF | None:
        """The selected face's box in widget coordinates, if a face is selected."""
        face = next((f for f in self.photo.faces if f.id == self.selected), None) if self.photo else None
        return self.box_rect(face) if face is not None else None

    def full_size_path(self) -> str | None:
        """The file to decode at full size for zooming in (None while there is no photo on screen)."""
        if self.photo is None or self.image is None or self.photo.missing or not self.photo.path:
            return None
        return self.photo.path

    def _photo_size(self) -> tuple[float, float]:
        if self.photo is not None and self.photo.width and self.photo.height:
            return float(self.photo.width), float(self.photo.height)
        if self.image is not None:
            return float(self.image.width()), float(self.image.height())
        return 0.0, 0.0

    def box_rect(self, face: FaceSummary) -> QRectF:
        """The face's box in widget coordinates (boxes are in pixels of the full-size upright photo)."""
        return self.photo_to_widget(face.box)

    def photo_to_widget(self, box: tuple[float, float, float, float]) -> QRectF:
        """A box in pixels of the full-size upright photo, in widget coordinates."""
        target = self.image_rect()
        w, _h = self._photo_size()
        if w <= 0:
            return QRectF()
        s = target.width() / w
        x, y, bw, bh = box
        return QRectF(target.left() + x * s, target.top() + y * s, bw * s, bh * s)

    def widget_to_photo(self, rect: QRectF) -> tuple[float, float, float, float]:
        """A rectangle in widget coordinates as a box in pixels of the full-size upright photo."""
        target = self.image_rect()
        w, _h = self._photo_size()
        if w <= 0 or target.width() <= 0:
            return 0.0, 0.0, 0.0, 0.0
        s = w / target.width()
        return ((rect.left() - target.left()) * s, (rect.top() - target.top()) * s, rect.width() * s,
                rect.height() * s)

    def face_at(self, pos: QPointF) -> int | None:
        if self.photo is None:
            return None
        hits = [f for f in self.photo.faces if self.box_rect(f).adjusted(-4, -4, 4, 4).contains(pos)]
        if not hits:
            return None
        return min(hits, key=lambda f: self.box_rect(f).width()).id  # the smallest box wins when nested

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window).darker(115))
        target = self.image_rect()
        if self.image is not None and not target.isEmpty():
            draw_visible(p, self.image, target, QRectF(self.rect()))
        elif not target.isEmpty():
            p.fillRect(target, QColor(60, 60, 60))
        if self.message:
            p.setPen(self.palette().color(QPalette.ColorRole.Text) if target.isEmpty() else QColor(235, 235, 235))
            area = target if target.width() > 200 and target.height() > 80 else QRectF(self.rect())
            p.drawText(area.adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.message)
        if self.photo is None or self.image is None:
            return  # boxes only over the photo itself (without it, they would cover the message)
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        boxes = {f.id: self.box_rect(f) for f in self.photo.faces}
        labels = self._place_labels(p.fontMetrics(), boxes)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        # The selected face last, so its box and label are on top.
        for face in sorted(self.photo.faces, key=lambda f: f.id == self.selected):
            rect, chosen = boxes[face.id], face.id == self.selected
            color = highlight if chosen else face_color(face)
            width = 3.0 if chosen or face.id == self.hovered else 2.0
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 140), width + 2))
            p.drawRoundedRect(rect, 3, 3)
            style = Qt.PenStyle.DashLine if face.person_id is None and not chosen else Qt.PenStyle.SolidLine
            p.setPen(QPen(color, width, style))
            p.drawRoundedRect(rect, 3, 3)
            if chosen:
                glow = QColor(highlight)
                glow.setAlpha(45)
                p.fillRect(rect, glow)
            text, pill = labels[face.id]
            path = QPainterPath()
            path.addRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            p.fillPath(path, highlight if chosen else QColor(0, 0, 0, 170))
            p.setPen(QColor(255, 255, 255) if chosen else face_color(face))
            p.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        p.end()

    def _place_labels(self, fm: QFontMetrics, boxes: dict[int, QRectF]) -> dict[int, tuple[str, QRectF]]:
        """A label for every box: above it, else below, else inside its top, wherever it covers no other
        box or label (crowded group photos)."""
        assert self.photo is not None
        placed: list[QRectF] = []
        out: dict[int, tuple[str, QRectF]] = {}
        order = sorted(self.photo.faces, key=lambda f: (f.id != self.selected, boxes[f.id].top()))
        for face in order:
            rect = boxes[face.id]
            text = face_label(face)
            tw, th = fm.horizontalAdvance(text) + 12, fm.height() + 4
            x = rect.center().x() - tw / 2
            options = [QRectF(x, rect.top() - th - 3, tw, th), QRectF(x, rect.bottom() + 3, tw, th),
                       QRectF(x, rect.top() + 3, tw, th)]
            others = [b for fid, b in boxes.items() if fid != face.id] + placed
            bounds = QRectF(self.rect())
            pill = next((o for o in options if bounds.contains(o) and not any(o.intersects(b) for b in others)),
                        options[0] if bounds.contains(options[0]) else options[1])
            placed.append(pill)
            out[face.id] = (text, pill)
        return out

    def mousePressEvent(self, event: QMouseEvent) -> None:
        face = self.face_at(event.position())
        if face is None:
            self.background_clicked.emit()
        else:
            self.face_clicked.emit(face)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        face = self.face_at(event.position())
        if face != self.hovered:
            self.hovered = face
            self.setCursor(Qt.CursorShape.PointingHandCursor if face is not None else Qt.CursorShape.ArrowCursor)
            self.update()


class PhotoView(QWidget):
    """A photo with its faces; click a box (or pick it in the list) to name, reassign or remove it."""

    back_requested = Signal()
    open_person = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.photo_id: int | None = None
        self.photo: PhotoFaces | None = None
        self.canvas = PhotoCanvas(self)
        self.canvas.setObjectName("photoCanvas")
        self.back_button = QToolButton()
        self.back_button.setObjectName("backButton")
        self.title = QLabel()
        self.title.setObjectName("photoTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.face_list = QListWidget()
        self.face_list.setObjectName("photoFaces")
        self.face_list.setMinimumWidth(200)

        # The in-place name editor shown under a clicked box.
        self.name_edit = QLineEdit(self.canvas)
        self.name_edit.setObjectName("boxNameEditor")
        self.name_edit.setPlaceholderText("Name (Enter to save, Esc to cancel)")
        self.name_edit.setCompleter(name_completer(ctx.names, self.name_edit))
        self.name_edit.setFixedWidth(260)
        self.name_edit.hide()
        self.name_edit.returnPressed.connect(self._commit_name)  # Enter on a completion goes this way
        self.name_edit.installEventFilter(self)

        lst = self.face_list
        self.name_action = make_action(self, "&Name…", self.name_selected, shortcut="F2", icon_name="rename",
                                       tip="Name this face or give it to someone else")
        self.reject_action = make_action(lst, "Not &This Person", self.reject_selected, shortcut="Ctrl+Del",
                                         icon_name="not-person", tip="This face is not the person it is given to")
        self.not_face_action = make_action(self, "Not a &Face", self.not_face_selected, shortcut="Shift+Del",
                                           icon_name="not-face", tip="Remove this box: it is not a face")
        self.ignore_action = make_action(self, "&Ignore", self.ignore_selected, shortcut="Ctrl+I", icon_name="ignore",
                                         tip="Ignore this face (a stranger)")
        self.person_action = make_action(self, "Open &Person", self.open_selected_person, icon_name="person",
                                         tip="Show all faces of this person")
        self.viewer_action = make_action(self, "Open in System &Viewer", self.open_in_viewer, icon_name="photo",
                                         shortcut="Ctrl+Shift+O", tip="Open this photo in the system's photo viewer")
        self.folder_action = make_action(self, "Show in &Folder", self.show_in_folder, shortcut="Ctrl+Shift+F",
                                         icon_name="folder", tip="Show this photo in its folder")
        self.zoom_control = ZoomPanController(self.canvas, self._load_full)
        self.zoom_control.changed.connect(self._cancel_name)  # the editor would float away from its box
        self.zoom_bar = ZoomBar(self.zoom_control)
        self.zoom_bar.setObjectName("zoomBar")
        self.collage_action = make_action(self, "&Collage or Mirror Photo", self.toggle_collage, checkable=True,
                                          icon_name="collage",
                                          tip="One person may appear more than once in this photo "
                                              "(a collage, a mirror shot)", name="collageAction")

        from faceorg.gui.face_drawing import FaceDrawing

        self.drawing = FaceDrawing(self)  # drag a box to add a face; resize or remove the ones added
        self.zoom_control.left_drag_pans = False  # a left drag on the photo draws a face; the middle button pans

        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 4)
        header.addWidget(self.back_button)
        header.addWidget(self.title, 1)
        header.addWidget(self.zoom_bar)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 0, 6, 6)
        faces_label = QLabel("Faces in this photo")
        faces_label.setObjectName("sectionLabel")
        side_layout.addWidget(faces_label)
        side_layout.addWidget(self.face_list, 1)
        for action in (self.name_action, self.reject_action, self.not_face_action, self.ignore_action,
                       self.person_action, self.collage_action, self.drawing.remove_action, self.viewer_action,
                       self.folder_action):
            button = tool_button(action)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            side_layout.addWidget(button)
        draw_hint = QLabel("A face missing? Drag a box around it on the photo.")
        draw_hint.setObjectName("drawHint")
        draw_hint.setWordWrap(True)
        draw_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        side_layout.addWidget(draw_hint)
        splitter = QSplitter()
        splitter.addWidget(self.canvas)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([900, 240])
        stack_vertically(self, header, splitter)

        self.canvas.face_clicked.connect(self._box_clicked)
        self.canvas.background_clicked.connect(self._cancel_name)
        self.face_list.currentItemChanged.connect(self._list_selection)
        self.face_list.itemActivated.connect(lambda _item: self.name_selected())
        ctx.changed.connect(self.on_changed)
        self._update_actions()

    # -- loading ------------------------------------------------------------------------------------
    def show_photo(self, photo_id: int, face_id: int | None = None) -> None:
        self.photo_id = photo_id
        self.photo = None
        self._cancel_name()
        self.drawing.reset()
        self.canvas.selected = face_id
        self.zoom_control.photo_changed()
        self.canvas.set_photo(PhotoFaces(photo_id, "", None, None, False, []), None, "Loading…")
        self.collage_action.setChecked(False)
        self.face_list.clear()
        self.title.setText("")

        def done(loaded: LoadedPhoto) -> None:
            if photo_id != self.photo_id:
                return
            message = loaded.error if loaded.error == MISSING_TEXT else \
                (f"Cannot show this photo: {loaded.error}" if loaded.error else "")
            self.canvas.set_photo(loaded.faces, loaded.image, message)
            self._set_faces(loaded.faces)
            path = Path(display_path(loaded.faces.path))
            self.title.setText(f"<b>{escape(path.name)}</b>&nbsp;&nbsp;<span style='color:gray'>"
                               f"{escape(str(path.parent))}</span>")
            self.title.setToolTip(str(path))
            self.zoom_bar.refresh()
            self._update_actions()

        self.ctx.query(load_photo, photo_id, on_done=done, owner=self)

    def on_changed(self, changes: ChangeSet) -> None:
        if self.photo is None or self.photo_id is None:
            return
        mine = {f.id for f in self.photo.faces}
        if self.photo_id in changes.photos_changed or changes.faces_changed & mine or \
                {f.person_id for f in self.photo.faces} & (changes.people_changed | changes.people_removed):
            photo_id = self.photo_id

            def done(loaded: LoadedPhoto) -> None:
                if photo_id == self.photo_id:
                    self.canvas.set_faces(loaded.faces)
                    self._set_faces(loaded.faces)

            self.ctx.query(load_photo, photo_id, False, on_done=done, owner=self)

    def _set_faces(self, photo: PhotoFaces) -> None:
        self.photo = photo
        self.collage_action.setChecked(photo.is_collage)
        keep = self.canvas.selected
        self.face_list.blockSignals(True)
        self.face_list.clear()
        for n, face in enumerate(photo.faces, start=1):
            item = QListWidgetItem(f"{n}.  {face_label(face)}")
            item.setData(Qt.ItemDataRole.UserRole, face.id)
            item.setForeground(face_color(face).darker(130) if face.person_id is not None else
                               self.palette().color(QPalette.ColorRole.PlaceholderText))
            self.face_list.addItem(item)
            if face.id == keep:
                self.face_list.setCurrentItem(item)
        self.face_list.blockSignals(False)
        if keep not in {f.id for f in photo.faces}:
            self.canvas.selected = None
        if not photo.faces:
            empty = QListWidgetItem("No faces found in this photo.")
            empty.setData(Qt.ItemDataRole.UserRole, -1)
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.face_list.addItem(empty)
        self._update_actions()

    # -- selection ----------------------------------------------------------------------------------
    def selected_face(self) -> FaceSummary | None:
        if self.photo is None or self.canvas.selected is None:
            return None
        return next((f for f in self.photo.faces if f.id == self.canvas.selected), None)

    def select_face(self, face_id: int | None) -> None:
        self.canvas.selected = face_id
        for i in range(self.face_list.count()):
            item = self.face_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == face_id:
                self.face_list.blockSignals(True)
                self.face_list.setCurrentItem(item)
                self.face_list.blockSignals(False)
        self.canvas.update()
        self._update_actions()

    def _list_selection(self, current: QListWidgetItem | None, _previous: object) -> None:
        face = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.canvas.selected = face
        self.canvas.update()
        self._update_actions()

    def _update_actions(self) -> None:
        face = self.selected_face()
        for action in (self.name_action, self.not_face_action, self.ignore_action):
            action.setEnabled(face is not None)
        self.reject_action.setEnabled(face is not None and face.person_id is not None)
        self.person_action.setEnabled(face is not None and face.person_id is not None)
        on_disk = self.photo is not None and not self.photo.missing and bool(self.photo.path)
        self.viewer_action.setEnabled(on_disk)
        self.folder_action.setEnabled(self.photo is not None and bool(self.photo.path))
        self.drawing.update_actions()

    # -- naming in place ----------------------------------------------------------------------------
    def _box_clicked(self, face_id: int) -> None:
        self.select_face(face_id)
        self.start_naming()

    def start_naming(self) -> None:
        """Show the name editor under the selected box, prefilled with the current name."""
        face = self.selected_face()
        if face is None:
            return
        rect = self.canvas.box_rect(face).toRect()
        width = self.name_edit.width()
        x = max(4, min(rect.center().x() - width // 2, self.canvas.width() - width - 4))
        y = rect.bottom() + 6
        if y + self.name_edit.height() > self.canvas.height() - 4:
            y = max(4, rect.top() - self.name_edit.height() - 30)
        self.name_edit.move(x, y)
        self.name_edit.setText(face.person_name or "")
        self.name_edit.selectAll()
        self.name_edit.show()
        self.name_edit.raise_()
        self.name_edit.setFocus()

    def _commit_name(self) -> None:
        face = self.selected_face()
        name = " ".join(self.name_edit.text().split())
        self._cancel_name()
        if face is None or not name or (name == face.person_name and face.source == "user"):
            return
        self.name_face(face, name)

    def name_face(self, face: FaceSummary, name: str) -> None:
        """Give the face this name; a face of an unnamed group offers to name the whole group instead."""
        size = self.photo.group_sizes.get(face.person_id, 0) if self.photo and face.person_id is not None else 0
        if face.person_id is not None and face.person_name is None and size > 1:
            choice = ask_choice(self, "Name face", f"This face is in an unnamed group of {size} faces.", [
                ("wholeGroup", f"Name the whole group ({size} faces) “{name}”"), ("onlyThisFace", "Only this face")])
            if choice == "wholeGroup":  # the face the user named is confirmed, the others stay automatic
                self.ctx.run_op(ops.name_person, face.person_id, name, [face.id])
            if choice != "onlyThisFace":
                return
        self.ctx.run_op(ops.assign_faces_to_name, [face.id], name)

    def _cancel_name(self) -> None:
        if self.name_edit.isVisible():
            self.name_edit.hide()
            self.canvas.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Escape cancels the name editor; Enter saves (and does not reach the view, which would reopen it)."""
        if obj is self.name_edit and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self._cancel_name()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                popup = self.name_edit.completer().popup() if self.name_edit.completer() else None
                if popup is not None and popup.isVisible():
                    return False  # the completer takes the highlighted name first
                self._commit_name()
                return True
        return super().eventFilter(obj, event)

    # -- actions ------------------------------------------------------------------------------------
    def name_selected(self) -> None:
        face = self.selected_face()
        if face is None:
            return
        name = ask_name(self, self.ctx.names, title="Name face", prompt="Who is this?", accept_text="Name",
                        initial=face.person_name or "")
        if name:
            self.name_face(face, name)

    def reject_selected(self) -> None:
        face = self.selected_face()
        if face is not None and face.person_id is not None:
            self.ctx.run_op(ops.reject_faces, [face.id], face.person_id)

    def not_face_selected(self) -> None:
        face = self.selected_face()
        if face is not None:
            self.ctx.run_op(ops.mark_not_face, [face.id])

    def ignore_selected(self) -> None:
        face = self.selected_face()
        if face is not None:
            self.ctx.run_op(ops.ignore_faces, [face.id])

    def _load_full(self, path: str, done: Callable[[QImage | None], None]) -> None:
        """Decode the photo at full size on a worker (kept in the zoom module's cache)."""
        self.ctx.queries.submit(decode_full, path, on_done=done, owner=self)

    def open_in_viewer(self) -> None:
        if self.photo is not None and not open_in_viewer(self.photo.path):
            self.ctx.message.emit(f"Could not open {Path(self.photo.path).name} (is the file still there?)")

    def show_in_folder(self) -> None:
        if self.photo is not None and not show_in_folder(self.photo.path):
            self.ctx.message.emit(f"Could not show {Path(self.photo.path).name} in its folder")

    def toggle_collage(self) -> None:
        """Mark or unmark the photo as a collage or mirror shot (undoable); the box follows the change record."""
        if self.photo is None:
            return
        wanted = self.collage_action.isChecked()
        self.collage_action.setChecked(self.photo.is_collage)  # until the change lands
        if wanted != self.photo.is_collage:
            self.ctx.run_op(ops.set_collage, self.photo.photo_id, wanted)

    def open_selected_person(self) -> None:
        face = self.selected_face()
        if face is not None and face.person_id is not None:
            self.open_person.emit(face.person_id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            if self.name_edit.isVisible():
                self._cancel_name()
            else:
                self.back_requested.emit()
            return
        if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Right, Qt.Key.Key_Left) and self.photo and self.photo.faces \
                and not self.name_edit.isVisible():
            ids = [f.id for f in self.photo.faces]
            step = -1 if event.key() == Qt.Key.Key_Left else 1
            pos = ids.index(self.canvas.selected) if self.canvas.selected in ids else -step
            self.select_face(ids[(pos + step) % len(ids)])
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected_face() is not None:
            self.start_naming()
            return
        super().keyPressEvent(event)
