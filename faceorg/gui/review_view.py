"""The Review view: questions that sort the library quickly ("same person?", whole-group suggestions, splits),
then single faces (suggestions and uncertain matches, most uncertain first), all decided with single keys:
A yes, R no, S or → skip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceorg.gui.actions import make_action, tool_button
from faceorg.gui.context import AppContext
from faceorg.gui.delegates import CHIP_SIZE, ChipDelegate
from faceorg.gui.grid import GridView
from faceorg.gui.models import FacesModel
from faceorg.gui.review_cards import QUESTION_FACES, BigFace, QuestionCard
from faceorg.gui.view_parts import enlarge_font
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import FaceCard, best_faces, person_cards
from faceorg.people.prompts import Question, list_questions
from faceorg.people.queries import FaceSummary, faces_by_ids, review_order, review_queue
from faceorg.people.review_answers import answer
from faceorg.store.db import Library

RELOAD_ABOVE = 500  # a change touching more faces than this reloads the queue
BRING_BACK_AT_MOST = 20  # more new reviewable faces than this reload (and re-rank) the queue
DECIDED_KEPT = 100  # faces decided here remembered, so that an undo shows the face again


@dataclass(frozen=True)
class ReviewData:
    items: list[FaceSummary]
    covers: dict[int, int]  # person id -> face shown for them
    questions: list[Question] | None = None  # None: not loaded with these faces




def _covers(library: Library, person_ids: set[int]) -> dict[int, int]:
    cards = person_cards(library, person_ids)
    covers = {c.id: c.cover_face_id for c in cards if c.cover_face_id is not None}
    covers.update(best_faces(library, [c.id for c in cards if c.cover_face_id is None]))
    return covers


def load_review(library: Library) -> ReviewData:
    items = review_queue(library)
    questions = list_questions(library)
    people = {f.person_id for f in items if f.person_id is not None} | {p for q in questions for p in q.person_ids}
    return ReviewData(items, _covers(library, people), questions)


def load_questions(library: Library) -> ReviewData:
    questions = list_questions(library)
    return ReviewData([], _covers(library, {p for q in questions for p in q.person_ids}), questions)


def load_faces(library: Library, face_ids: list[int], people: list[int] | None = None) -> ReviewData:
    """These faces as they are now, after the faces of ``people`` that wait for review (named, renamed or
    merged people: their automatic faces wait for review without having changed themselves)."""
    waiting = [f.id for f in review_queue(library, people=people)] if people else []
    seen = set(waiting)
    ids = waiting + [i for i in face_ids if i not in seen]
    items = faces_by_ids(library, ids)
    return ReviewData(items, _covers(library, {f.person_id for f in items if f.person_id is not None}))


def reviewable(face: FaceSummary) -> bool:
    return face.source in ("suggested", "auto") and bool(face.person_name) and face.status == "normal"


def _card(face: FaceSummary) -> FaceCard:
    return FaceCard(face.id, face.photo_id, face.person_id, face.source, face.status)


class ReviewView(QWidget):
    """Questions first, then faces: yes (A), no (R) or skip (S or →); the next one comes at once."""

    open_photo = Signal(int, int)  # photo id, face id
    remaining_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.items: list[FaceSummary] = []
        self.questions: list[Question] = []
        self.covers: dict[int, int] = {}
        self.current_row = 0
        self.qpos = 0
        self.mode = "questions"
        self.loaded = False
        self.answered: set[str] = set()  # answered here, waiting for the library to say so
        self._first_face: int | None = None  # after the next load, show this face (a batch taken one by one)
        self._questions_loading = self._questions_again = False
        self._touched: set[str] = set()  # questions changes touched, for the next round of questions
        self._decided: list[int] = []  # faces decided here, latest last (one back in the queue was undone)
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
        self.empty = QLabel()
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
        self.one_by_one_action = make_action(self, "One by One", self.one_by_one, icon_name="skip",
                                             tip="Decide these faces one at a time", context=ctx_)

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
        self.card = QFrame()
        self.card.setObjectName("reviewCard")
        card_layout = QVBoxLayout(self.card)
        card_layout.addStretch(1)
        card_layout.addWidget(self.question)
        card_layout.addSpacing(8)
        card_layout.addLayout(pair)
        card_layout.addWidget(self.detail)
        card_layout.addSpacing(8)
        card_layout.addLayout(self._buttons([(self.accept_action, "A"), (self.reject_action, "R"),
                                             (self.skip_action, "S"), (self.photo_action, "P")]))
        card_layout.addStretch(1)
        self.question_card = QuestionCard(ctx.large_thumbs)
        self.question_card.buttons.addLayout(self._buttons([(self.accept_action, "A"), (self.reject_action, "R"),
                                                            (self.skip_action, "S"), (self.one_by_one_action, "")]))
        self.pages = QStackedWidget()
        self.pages.addWidget(self.question_card)
        self.pages.addWidget(self.card)

        self.questions_button = self._tab("Questions", "questions")
        self.faces_button = self._tab("Faces", "faces")
        tabs = QButtonGroup(self)
        tabs.setExclusive(True)
        tabs.addButton(self.questions_button)
        tabs.addButton(self.faces_button)
        top = QHBoxLayout()
        top.setContentsMargins(12, 8, 12, 0)
        title = QLabel("Review")
        title.setObjectName("viewTitle")
        enlarge_font(title, 1.2, bold=True)
        top.addWidget(title)
        top.addSpacing(16)
        top.addWidget(self.questions_button)
        top.addWidget(self.faces_button)
        top.addStretch(1)
        top.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        scroll = QScrollArea()  # a short window scrolls the card rather than growing the window
        scroll.setWidget(self.pages)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.card_area = scroll
        scroll.viewport().installEventFilter(self)
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

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """The card fits its faces to the scroll area's width when that changes: this page is resized before
        the scroll area in it is, so this page's own resize saw the width it had before."""
        if obj is self.card_area.viewport() and event.type() == QEvent.Type.Resize \
                and self.current_question() is not None:
            self.question_card.fit_width(self.card_area.viewport().width())
        return super().eventFilter(obj, event)

    def _buttons(self, actions: list[tuple[QAction, str]]) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        for action, _key in actions:
            b = tool_button(action)
            b.setAutoRaise(False)
            b.setMinimumWidth(110)
            b.setMinimumHeight(34)
            if action is self.one_by_one_action:
                self.one_by_one_button = b
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _tab(self, text: str, mode: str) -> QToolButton:
        b = QToolButton()
        b.setObjectName(f"review{text}Tab")
        b.setText(text)
        b.setCheckable(True)
        b.setAutoRaise(True)
        b.setMinimumHeight(28)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda: self.set_mode(mode))
        return b

    # -- loading ------------------------------------------------------------------------------------
    def load(self) -> None:
        def done(data: ReviewData) -> None:
            first_questions = not self.loaded or not self.questions  # none were on offer: start with them
            self.loaded = True
            self.items = list(data.items)
            self.covers = dict(data.covers)
            self.current_row = 0
            self._set_questions(data.questions or [])
            if self._first_face is not None:  # "one by one" on a batch: its first face
                ids = [f.id for f in self.items]
                if self._first_face in ids:
                    self.mode, self.current_row = "faces", ids.index(self._first_face)
                self._first_face = None
            elif first_questions or not self.questions:
                self.mode = "questions" if self.questions else "faces"
            self.queue.person_names = {f.person_id: f.person_name for f in self.items if f.person_id is not None}
            self.queue.set_cards(_card(f) for f in self.items)
            self._show_current()

        self.ctx.query(load_review, on_done=done, owner=self)

    def _set_questions(self, questions: list[Question], back: set[str] | None = None) -> bool:
        """New questions, keeping the one on screen where it still is (answered ones left out). ``back``:
        questions a change touched (listed after it): one open again (an undone answer) goes on screen.
        Returns whether one did."""
        current = self.current_question()
        self.answered -= back or set()
        self.answered &= {q.id for q in questions}
        self.questions = [q for q in questions if q.id not in self.answered]
        ids = [q.id for q in self.questions]
        returned = next((i for i, q in enumerate(ids) if q in (back or ())), None)
        if returned is not None:
            self.mode, self.qpos = "questions", returned
            return True
        self.qpos = ids.index(current.id) if current is not None and current.id in ids else \
            (self.qpos if self.qpos < len(ids) else 0)  # gone: the one after it, as after an answer
        return False

    def reload_questions(self) -> None:
        """Ask the questions again; changes that arrive meanwhile make one more round, not one each."""
        if self._questions_loading:
            self._questions_again = True
            return
        self._questions_loading = True
        back, self._touched = self._touched, set()  # listed after those changes: this round tells

        def done(data: ReviewData) -> None:
            self._questions_loading = False
            self.covers.update(data.covers)
            returned = self._set_questions(data.questions or [], back)
            self._show_current()
            if returned and self.isVisible():  # the undone question is on screen: A, R, S answer it at once
                self.setFocus()
            if self._questions_again:
                self._questions_again = False
                self.reload_questions()

        def failed(_e: BaseException) -> None:
            self._questions_loading = False

        self.ctx.query(load_questions, on_done=done, owner=self, on_error=failed)

    def on_changed(self, changes: ChangeSet) -> None:
        """Faces decided elsewhere leave the queue; faces that became reviewable again (undo) come back first.
        Any change to people or faces asks the questions again (groups may have joined or parted); a question
        whose answer was undone comes back on screen."""
        if not self.loaded or changes.empty:
            return
        self._touched |= changes.questions_changed
        self.reload_questions()
        # A person named, renamed, merged or unnamed (an undo) changes which of their faces wait for review,
        # though the faces themselves did not change: look at those people's faces too.
        people = changes.people_added | changes.people_changed | changes.people_removed
        if not changes.faces_changed and not people:
            return
        if len(changes.faces_changed) > RELOAD_ABOVE or len(people) > RELOAD_ABOVE:
            self.load()
            return
        queued_of_people = [f.id for f in self.items if f.person_id in people]

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
            back = [f for f in fresh if f.id in self._decided]
            if back:  # decisions undone: those faces come back first
                self.items[self.current_row:self.current_row] = back
            for face in (f for f in fresh if f.id not in self._decided):  # newly waiting: in their place
                at = next((i for i, f in enumerate(self.items) if review_order(f) > review_order(face)),
                          len(self.items))
                self.items.insert(at, face)
                if at <= self.current_row and len(self.items) > 1:
                    self.current_row += 1  # the face on screen stays
            if fresh:
                self.queue.person_names.update({f.person_id: f.person_name for f in fresh if f.person_id})
                self.queue.set_cards(_card(f) for f in self.items)
            undone = [f.id for f in fresh if f.id in self._decided]
            if undone:  # a decision made here was undone: its face goes back on screen, the keys at work
                self._decided = [f for f in self._decided if f not in undone]
                self.mode = "faces"
            self._show_current()
            if undone and self.isVisible():
                self.setFocus()

        self.ctx.query(load_faces, sorted(changes.faces_changed | set(queued_of_people)), sorted(people),
                       on_done=apply, owner=self)

    # -- what is on screen --------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Show the questions or the faces."""
        self.mode = mode
        self._show_current()
        self.setFocus()

    def current(self) -> FaceSummary | None:
        """The face on screen (None while a question is)."""
        if self.mode != "faces":
            return None
        return self.items[self.current_row] if 0 <= self.current_row < len(self.items) else None

    def current_question(self) -> Question | None:
        if self.mode != "questions":
            return None
        return self.questions[self.qpos] if 0 <= self.qpos < len(self.questions) else None

    def remaining(self) -> int:
        return len(self.items) + len(self.questions)

    def _show_current(self) -> None:
        if self.mode == "questions" and not self.questions and self.items:
            self.mode = "faces"
        if self.mode == "faces" and not self.items and self.questions:
            self.mode = "questions"
        if self.items and self.current_row >= len(self.items):
            self.current_row = 0
        if self.questions and self.qpos >= len(self.questions):
            self.qpos = 0
        face, question = self.current(), self.current_question()
        has = face is not None or question is not None
        self.card_area.setVisible(has)
        self.empty.setVisible(not has)
        self.pages.setCurrentWidget(self.question_card if self.mode == "questions" else self.card)
        self.questions_button.setText(f"Questions ({len(self.questions):,})")
        self.faces_button.setText(f"Faces ({len(self.items):,})")
        self.questions_button.setChecked(self.mode == "questions")
        self.faces_button.setChecked(self.mode == "faces")
        self.questions_button.setEnabled(bool(self.questions))
        self.faces_button.setEnabled(bool(self.items))
        show_strip = self.mode == "faces" and len(self.items) > 1
        self.strip.setVisible(show_strip)
        self.up_next.setVisible(show_strip)
        for action in (self.accept_action, self.reject_action, self.skip_action):
            action.setEnabled(has)
        self.photo_action.setEnabled(has)
        asking = question is not None
        self.accept_action.setIconText("Yes  (A)" if asking else "Accept  (A)")
        self.reject_action.setIconText("No  (R)" if asking else "Reject  (R)")
        self.skip_action.setIconText("Skip  (S)")
        one_by_one = question is not None and question.kind in ("group_suggestion", "unsorted_batch")
        self.one_by_one_action.setVisible(one_by_one)
        self.one_by_one_action.setEnabled(one_by_one)
        self.one_by_one_button.setVisible(one_by_one)
        self.previous_action.setEnabled(len(self.items) > 1 or len(self.questions) > 1)
        self.progress.setText(f"{self.remaining():,} to review" if self.loaded else "Loading…")
        self.empty.setText("Loading…" if not self.loaded else
                           "Nothing to review.\nQuestions and suggestions appear here after a scan finds faces "
                           "that may belong together or look like people you named.")
        self.remaining_changed.emit(self.remaining())
        self.strip_delegate.current_face = face.id if face else None
        self.strip.viewport().update()
        if question is not None:
            self.question_card.show_question(question, self.covers)
            self.question_card.fit_width(self.card_area.viewport().width())
            upcoming = [f for q in self.questions[self.qpos + 1:self.qpos + 3] for f in q.face_ids[:QUESTION_FACES]]
            self.ctx.large_thumbs.request(list(reversed(upcoming)))
            return
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
        upcoming = [f.id for f in self.items[self.current_row + 1:self.current_row + 4]]
        upcoming += [self.covers[f.person_id] for f in self.items[self.current_row + 1:self.current_row + 4]
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
        if i < self.current_row:
            self.current_row -= 1
        self.queue.remove_ids([face_id])

    # -- decisions ----------------------------------------------------------------------------------
    def accept_current(self) -> None:
        if self.current_question() is not None:
            self._answer("yes")
        else:
            self._decide(ops.accept_suggestions)

    def reject_current(self) -> None:
        if self.current_question() is not None:
            self._answer("no")
        else:
            self._decide(ops.reject_suggestions)

    def _answer(self, reply: str) -> None:
        """Take the question off at once, then answer it (reloading if that fails)."""
        q = self.current_question()
        if q is None:
            return
        self.answered.add(q.id)
        del self.questions[self.qpos]
        self._show_current()

        def failed(_error: BaseException) -> None:
            self.answered.discard(q.id)
            self.load()

        self.ctx.run_op(answer, q.id, reply, on_error=failed)

    def _decide(self, op: Callable[..., ChangeSet]) -> None:
        """Take the current face off the queue at once, then ``op`` on it (reloading if it fails)."""
        face = self.current()
        if face is not None:
            self._decided = [*self._decided[-(DECIDED_KEPT - 1):], face.id]
            self._remove(face.id)
            self._show_current()
            self.ctx.run_op(op, [face.id], on_error=lambda _e: self.load())

    def skip(self) -> None:
        """The next question or face (skipped questions are asked again later, not answered)."""
        if self.mode == "questions" and self.questions:
            self.qpos = (self.qpos + 1) % len(self.questions)
        elif self.items:
            self.current_row = (self.current_row + 1) % len(self.items)
        self._show_current()

    def previous(self) -> None:
        if self.mode == "questions" and self.questions:
            self.qpos = (self.qpos - 1) % len(self.questions)
        elif self.items:
            self.current_row = (self.current_row - 1) % len(self.items)
        self._show_current()

    def one_by_one(self) -> None:
        """A group suggestion decided face by face: the Faces list, at that person's first face. A batch of
        unsorted faces becomes that person's suggestions first (one undoable answer)."""
        q = self.current_question()
        if q is None:
            return
        if q.kind == "unsorted_batch":
            self.answered.add(q.id)
            del self.questions[self.qpos]
            self._show_current()

            def then(_changes: ChangeSet) -> None:
                self.mode, self._first_face = "faces", q.face_ids[0]
                self.load()

            def failed(_error: BaseException) -> None:
                self.answered.discard(q.id)
                self.load()

            self.ctx.run_op(answer, q.id, "one-by-one", on_done=then, on_error=failed)
            return
        ids = [f.id for f in self.items]
        first = next((ids.index(f) for f in q.face_ids if f in ids), None)
        if first is not None:
            self.current_row = first
        self.set_mode("faces")

    def open_current_photo(self) -> None:
        face = self.current()
        q = self.current_question()
        if face is not None:
            self.open_photo.emit(face.photo_id, face.id)
        elif q is not None and q.face_ids:
            from faceorg.people.queries import faces_by_ids as _faces

            found = _faces(self.ctx.library, [q.face_ids[0]])
            if found:
                self.open_photo.emit(found[0].photo_id, found[0].id)

    def _strip_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.current_row = index.row()
            self.mode = "faces"
            self._show_current()
            self.setFocus()
