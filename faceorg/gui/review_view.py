"""The Review view: suggestions and uncertain matches, most uncertain first, decided with single keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListView, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from faceorg.gui.actions import make_action, tool_button
from faceorg.gui.context import LARGE_CHIP, AppContext
from faceorg.gui.delegates import CHIP_SIZE, ChipDelegate, paint_chip
from faceorg.gui.grid import GridView
from faceorg.gui.models import FacesModel
from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.gui.view_parts import enlarge_font
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import FaceCard, best_faces, person_cards
from faceorg.people.queries import FaceSummary, faces_by_ids, review_queue
from faceorg.store.db import Library

RELOAD_ABOVE = 500  # a change touching more faces than this reloads the queue
BRING_BACK_AT_MOST = 20  # more new reviewable faces than this reload (and re-rank) the queue


@dataclass(frozen=True)
class ReviewData:
    items: list[FaceSummary]
    covers: dict[int, int]  # person id -> face shown for them


def _covers(library: Library, person_ids: set[int]) -> dict[int, int]:
    cards = person_cards(library, person_ids)
    covers = {c.id: c.cover_face_id for c in cards if c.cover_face_id is not None}
    covers.update(best_faces(library, [c.id for c in cards if c.cover_face_id is None]))
    return covers


def load_review(library: Library) -> ReviewData:
    items = review_queue(library)
    return ReviewData(items, _covers(library, {f.person_id for f in items if f.person_id is not None}))


def load_faces(library: Library, face_ids: list[int]) -> ReviewData:
    items = faces_by_ids(library, face_ids)
    return ReviewData(items, _covers(library, {f.person_id for f in items if f.person_id is not None}))


def reviewable(face: FaceSummary) -> bool:
    return face.source in ("suggested", "auto") and bool(face.person_name) and face.status == "normal"


def _card(face: FaceSummary) -> FaceCard:
    return FaceCard(face.id, face.photo_id, face.person_id, face.source, face.status)


class BigFace(QWidget):
    """One large face chip with a caption under it."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.face_id: int | None = None
        self.caption = ""
        self.setFixedSize(QSize(LARGE_CHIP + 20, LARGE_CHIP + 44))
        cache.ready.connect(lambda ids: self.update() if self.face_id in ids else None)

    def set_face(self, face_id: int | None, caption: str) -> None:
        self.face_id, self.caption = face_id, caption
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRect(10, 4, LARGE_CHIP, LARGE_CHIP)
        paint_chip(p, rect, self.cache, self.face_id, self.palette(), 14)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        p.setFont(font)
        p.setPen(self.palette().color(QPalette.ColorRole.Text))
        text = p.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight, self.width() - 8)
        p.drawText(QRect(0, LARGE_CHIP + 10, self.width(), 28), Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class ReviewView(QWidget):
    """Accept (A) or reject (R) each suggestion; skip with S or →; the next face comes at once."""

    open_photo = Signal(int, int)  # photo id, face id
    remaining_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.items: list[FaceSummary] = []
        self.covers: dict[int, int] = {}
        self.pos = 0
        self.loaded = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.face = BigFace(ctx.large_thumbs)
        self.face.setObjectName("reviewFace")
        self.person = BigFace(ctx.large_thumbs)
        self.person.setObjectName("reviewPerson")
        self.question = QLabel()
        self.question.setObjectName("reviewQuestion")
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        enlarge_font(self.question, 1.5, bold=True)
        self.detail = QLabel()
        self.detail.setObjectName("reviewDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.progress = QLabel()
        self.progress.setObjectName("reviewProgress")
        self.empty = QLabel("Nothing to review.\nSuggestions appear here after a scan finds faces that "
                            "look like people you named.")
        self.empty.setObjectName("reviewEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        ctx_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.accept_action = make_action(self, "&Accept", self.accept_current, shortcut="A", icon_name="accept",
                                         tip="Yes, this is them", context=ctx_)
        self.reject_action = make_action(self, "&Reject", self.reject_current, shortcut="R", icon_name="reject",
                                         tip="No, this is someone else", context=ctx_)
        self.skip_action = make_action(self, "&Skip", self.skip, shortcut=["S", "Right"], icon_name="skip",
                                       tip="Decide later", context=ctx_)
        self.previous_action = make_action(self, "&Previous", self.previous, shortcut="Left", context=ctx_)
        self.photo_action = make_action(self, "Open &Photo", self.open_current_photo, shortcut="P",
                                        icon_name="photo", tip="See the whole photo", context=ctx_)

        self.strip = GridView(self, spacing=2)
        self.strip.setObjectName("reviewQueue")
        self.strip.setWrapping(False)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setSelectionMode(QListView.SelectionMode.NoSelection)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip.setFixedHeight(CHIP_SIZE.height() + 8 + self.strip.horizontalScrollBar().sizeHint().height())
        self.strip.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.queue = FacesModel(self)
        self.strip.setModel(self.queue)
        self.strip_delegate = ChipDelegate(ctx.thumbs, self.strip)
        self.strip.setItemDelegate(self.strip_delegate)
        self.strip.watch(ctx.thumbs)
        self.strip.clicked.connect(self._strip_clicked)

        pair = QHBoxLayout()
        pair.addStretch(1)
        pair.addWidget(self.face)
        arrow = QLabel("→")
        enlarge_font(arrow, 2.5)
        arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pair.addWidget(arrow)
        pair.addWidget(self.person)
        pair.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for action, key in ((self.accept_action, "A"), (self.reject_action, "R"), (self.skip_action, "S"),
                            (self.photo_action, "P")):
            action.setIconText(f"{action.text().replace('&', '')}  ({key})")  # the key on the button
            b = tool_button(action)
            b.setAutoRaise(False)
            b.setMinimumWidth(110)
            b.setMinimumHeight(34)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.card = QFrame()
        self.card.setObjectName("reviewCard")
        card_layout = QVBoxLayout(self.card)
        card_layout.addStretch(1)
        card_layout.addWidget(self.question)
        card_layout.addSpacing(8)
        card_layout.addLayout(pair)
        card_layout.addWidget(self.detail)
        card_layout.addSpacing(8)
        card_layout.addLayout(buttons)
        card_layout.addStretch(1)
        top = QHBoxLayout()
        top.setContentsMargins(12, 8, 12, 0)
        title = QLabel("Review suggestions")
        title.setObjectName("viewTitle")
        enlarge_font(title, 1.2, bold=True)
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        scroll = QScrollArea()  # a short window scrolls the card rather than growing the window
        scroll.setWidget(self.card)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.card_area = scroll
        layout.addWidget(scroll, 1)
        layout.addWidget(self.empty, 1)
        up_next = QLabel("Up next")
        up_next.setObjectName("sectionLabel")
        up_next.setContentsMargins(12, 0, 12, 0)
        self.up_next = up_next
        layout.addWidget(up_next)
        layout.addWidget(self.strip)
        self.empty.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        ctx.changed.connect(self.on_changed)
        self._show_current()

    # -- loading ------------------------------------------------------------------------------------
    def load(self) -> None:
        def done(data: ReviewData) -> None:
            self.loaded = True
            self.items = list(data.items)
            self.covers = dict(data.covers)
            self.pos = 0
            self.queue.person_names = {f.person_id: f.person_name for f in self.items if f.person_id is not None}
            self.queue.set_cards(_card(f) for f in self.items)
            self._show_current()

        self.ctx.query(load_review, on_done=done, owner=self)

    def on_changed(self, changes: ChangeSet) -> None:
        """Faces decided elsewhere leave the queue; faces that became reviewable again (undo) come back first."""
        if not self.loaded or not changes.faces_changed:
            return
        if len(changes.faces_changed) > RELOAD_ABOVE:
            self.load()
            return

        def apply(data: ReviewData) -> None:
            self.covers.update(data.covers)
            queued = {f.id: i for i, f in enumerate(self.items)}
            fresh = [f for f in data.items if f.id not in queued and reviewable(f)]
            if len(fresh) > BRING_BACK_AT_MOST:  # many new suggestions (a grouping): rank them all again
                self.load()
                return
            for face in data.items:
                if face.id in queued and not reviewable(face):
                    self._remove(face.id)
                elif face.id in queued:
                    self.items[[f.id for f in self.items].index(face.id)] = face
            if fresh:  # decisions undone: those faces come back first
                self.items[self.pos:self.pos] = fresh
                self.queue.person_names.update({f.person_id: f.person_name for f in fresh if f.person_id})
                self.queue.set_cards(_card(f) for f in self.items)
            self._show_current()

        self.ctx.query(load_faces, sorted(changes.faces_changed), on_done=apply, owner=self)

    # -- the current face ---------------------------------------------------------------------------
    def current(self) -> FaceSummary | None:
        return self.items[self.pos] if 0 <= self.pos < len(self.items) else None

    def _show_current(self) -> None:
        if self.items and self.pos >= len(self.items):
            self.pos = 0
        face = self.current()
        has = face is not None
        self.card_area.setVisible(has)
        self.empty.setVisible(not has)
        self.strip.setVisible(len(self.items) > 1)
        self.up_next.setVisible(len(self.items) > 1)
        for action in (self.accept_action, self.reject_action, self.skip_action, self.photo_action):
            action.setEnabled(has)
        self.previous_action.setEnabled(len(self.items) > 1)
        self.progress.setText(f"{len(self.items):,} to review" if self.loaded else "Loading…")
        self.empty.setText("Loading…" if not self.loaded else
                           "Nothing to review.\nSuggestions appear here after a scan finds faces that look like "
                           "people you named.")
        self.remaining_changed.emit(len(self.items))
        self.strip_delegate.current_face = face.id if face else None
        self.strip.viewport().update()
        if face is None:
            self.face.set_face(None, "")
            self.person.set_face(None, "")
            return
        name = face.person_name or "Unnamed"
        self.question.setText(f"Is this {name}?")
        self.face.set_face(face.id, "This face")
        self.person.set_face(self.covers.get(face.person_id or -1), name)
        self.detail.setText(self._explain(face))
        row = self.queue.row_of(face.id)
        if row is not None:
            self.strip.scrollTo(self.queue.index(row), QListView.ScrollHint.PositionAtCenter)
        # Load the next few faces ahead of time, so the next decision shows at once.
        upcoming = [f.id for f in self.items[self.pos + 1:self.pos + 4]]
        upcoming += [self.covers[f.person_id] for f in self.items[self.pos + 1:self.pos + 4]
                     if f.person_id in self.covers]
        self.ctx.large_thumbs.request(list(reversed(upcoming)))

    def _explain(self, face: FaceSummary) -> str:
        if face.source == "suggested":
            text = "Suggested because this face looks like them"
            if face.distance is not None:
                text += f" (distance {face.distance:.2f}"
                if face.runner_up_name and face.runner_up_distance is not None:
                    text += f"; next closest: {face.runner_up_name}, {face.runner_up_distance:.2f}"
                text += ")"
            return text + "."
        strength = f" (confidence {face.strength:.0%})" if face.strength is not None else ""
        return f"Grouped with them automatically{strength}."

    def _remove(self, face_id: int) -> None:
        ids = [f.id for f in self.items]
        if face_id not in ids:
            return
        i = ids.index(face_id)
        del self.items[i]
        if i < self.pos:
            self.pos -= 1
        self.queue.remove_ids([face_id])

    # -- decisions ----------------------------------------------------------------------------------
    def accept_current(self) -> None:
        self._decide(ops.accept_suggestions)

    def reject_current(self) -> None:
        self._decide(ops.reject_suggestions)

    def _decide(self, op: Callable[..., ChangeSet]) -> None:
        """Take the current face off the queue at once, then ``op`` on it (reloading if it fails)."""
        face = self.current()
        if face is not None:
            self._remove(face.id)
            self._show_current()
            self.ctx.run_op(op, [face.id], on_error=lambda _e: self.load())

    def skip(self) -> None:
        if self.items:
            self.pos = (self.pos + 1) % len(self.items)
            self._show_current()

    def previous(self) -> None:
        if self.items:
            self.pos = (self.pos - 1) % len(self.items)
            self._show_current()

    def open_current_photo(self) -> None:
        face = self.current()
        if face is not None:
            self.open_photo.emit(face.photo_id, face.id)

    def _strip_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.pos = index.row()
            self._show_current()
            self.setFocus()
