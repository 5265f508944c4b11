"""The People view: a grid of person cards; filter, show hidden, merge (also by drag and drop), rename in place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCheckBox, QLineEdit, QPushButton, QWidget

from faceorg.gui.actions import make_action, spacer, view_toolbar
from faceorg.gui.context import AppContext
from faceorg.gui.delegates import CARD_SIZE, CardDelegate
from faceorg.gui.dialogs import confirm
from faceorg.gui.grid import GridView
from faceorg.gui.models import ID_ROLE, PEOPLE_MIME, PeopleModel, display_name
from faceorg.gui.toolbar_fit import ButtonTextFitter, FittingLabel
from faceorg.gui.view_parts import popup_menu, stack_vertically
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import PersonCard, SortKey, best_faces, first_cards, person_cards, person_cards_keyed
from faceorg.people.queries import ungrouped_face_count
from faceorg.store.db import Library

FIRST_PAGE = 200  # cards listed before every card is: more than a big screen shows
FIRST_SCREEN = 60  # of them, the people whose covers are found first
COVER_BATCH = 500  # covers found per query after the first screen (the cards on screen go between two)
FULL_RELOAD_ABOVE = 2000  # a change touching more people than this reloads the whole list


def load_first(library: Library) -> tuple[list[PersonCard], bool]:
    """The first page of cards, and whether it is every card (worker thread)."""
    return first_cards(library, FIRST_PAGE)


def load_all(library: Library) -> tuple[list[PersonCard], list[SortKey]]:
    """Every card, hidden ones included, in display order with their sort keys (worker thread)."""
    return person_cards_keyed(library)


def load_cards(library: Library, person_ids: list[int]) -> tuple[list[PersonCard], dict[int, int]]:
    """These people's cards and covers (worker thread)."""
    cards = person_cards(library, person_ids)
    return cards, best_faces(library, [c.id for c in cards if c.cover_face_id is None])


class PeopleGrid(GridView):
    """The card grid; dropping cards on a card asks to merge them into it."""

    merge_dropped = Signal(int, list)  # target person id, dragged person ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, spacing=4)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        triggers = QAbstractItemView.EditTrigger
        self.setEditTriggers(triggers.EditKeyPressed | triggers.SelectedClicked)

    def _delegate(self) -> CardDelegate | None:
        d = self.itemDelegate()
        return d if isinstance(d, CardDelegate) else None

    def _set_drop_row(self, row: int | None) -> None:
        d = self._delegate()
        if d is not None and d.drop_row != row:
            d.drop_row = row
            self.viewport().update()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(PEOPLE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        dragged = _ids(event.mimeData().data(PEOPLE_MIME).data())
        if index.isValid() and event.mimeData().hasFormat(PEOPLE_MIME) and \
                self.model().data(index, ID_ROLE) not in dragged:
            self._set_drop_row(index.row())
            event.acceptProposedAction()
        else:
            self._set_drop_row(None)
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_drop_row(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_drop_row(None)
        self.drop_on(event.position().toPoint(), _ids(event.mimeData().data(PEOPLE_MIME).data()))
        event.setDropAction(Qt.DropAction.CopyAction)  # the model does not move rows; the merge will
        event.accept()

    def drop_on(self, pos: QPoint, dragged: list[int]) -> None:
        """Cards ``dragged`` dropped at ``pos``: ask to merge them into the card there."""
        index = self.indexAt(pos)
        if not index.isValid():
            return
        target = self.model().data(index, ID_ROLE)
        sources = [p for p in dragged if p != target]
        if sources:
            self.merge_dropped.emit(target, sources)


def _ids(raw: bytes | bytearray | memoryview) -> list[int]:
    return [int(x) for x in bytes(raw).decode().split(",") if x.strip().isdigit()]


class PeopleView(QWidget):
    """Everyone in the library as cards: named people first, then unnamed groups by size."""

    open_person = Signal(int)
    show_photos = Signal(list)  # person ids: the photos holding all of them
    loaded_first = Signal()  # the first full list is shown
    group_requested = Signal()  # "Group Faces Now" on an empty People view

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False  # the first page of cards is shown
        self.complete = False  # every card is listed
        self._loading_all = False
        self._stale = False
        self._covers_wanted = False
        self.first_covers_pending = False  # the first screen's covers are being found
        self._covers_asked: set[int] = set()  # people whose cover a query is finding
        self.model = PeopleModel(self)
        self.grid = PeopleGrid(self)
        self.grid.setObjectName("peopleGrid")
        self.grid.setModel(self.model)
        self.delegate = CardDelegate(ctx.card_thumbs, ctx.names, self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.set_cell(CARD_SIZE + QSize(8, 8))
        self.grid.watch(ctx.card_thumbs)
        self.grid.empty_text = "Loading people…"
        ctx.jobs.started.connect(self._job_started_or_ended)  # an empty library says a scan is under way
        ctx.jobs.ended.connect(self._job_started_or_ended)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("peopleFilter")
        self.filter_edit.setPlaceholderText("Filter by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(160)
        self.filter_edit.setMaximumWidth(280)
        self.show_hidden = QCheckBox("Show hidden")
        self.show_hidden.setObjectName("showHidden")
        self.count_label = FittingLabel()  # a narrow window shortens it (the full count in its tooltip)
        self.count_label.setObjectName("peopleCount")
        self.ungrouped = 0  # faces nobody has, counted when there are no people to show
        self.group_button = QPushButton("Group Faces Now", self.grid.viewport())
        self.group_button.setObjectName("groupNow")
        self.group_button.hide()
        self.group_button.clicked.connect(self.group_requested)
        self.grid.viewport().installEventFilter(self)

        self.open_action = make_action(self.grid, "&Open", self._open_current, icon_name="person",
                                       tip="Open the selected person (Enter)")
        self.rename_action = make_action(self.grid, "&Rename…", self.rename_current, shortcut="F2",
                                         icon_name="rename", tip="Name or rename the person")
        self.merge_action = make_action(self.grid, "&Merge", self.merge_selected, shortcut="Ctrl+M",
                                        icon_name="merge", tip="Merge the selected people into one")
        self.photos_action = make_action(self.grid, "Show &Photos with Them", self.show_selected_photos,
                                         shortcut="Ctrl+Shift+P", icon_name="photo",
                                         tip="The photos holding every one of the selected people")
        self.hide_action = make_action(self.grid, "&Hide", self.toggle_hidden, shortcut="Ctrl+Shift+H",
                                       icon_name="hide", tip="Hide the selected people (or show them again)")

        self.ignore_unnamed_action = make_action(
            self, "&Ignore Unnamed Groups…", self.ignore_unnamed, icon_name="hide",
            tip="Strangers, all at once: ignore every unnamed group of two or more faces (after naming the "
                "people you care about; Undo brings them back)")

        self.toolbar = view_toolbar("peopleToolbar", self)
        self.toolbar.addWidget(self.filter_edit)
        self.toolbar.addWidget(self.show_hidden)
        self.toolbar.addSeparator()
        for action in (self.rename_action, self.merge_action, self.hide_action, self.photos_action):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.ignore_unnamed_action)
        self.toolbar.addWidget(spacer())
        self.toolbar.addWidget(self.count_label)
        # Narrower still: these show their icon only (least needed first), then the » menu takes the rest.
        self.toolbar_fit = ButtonTextFitter(self.toolbar, [self.photos_action, self.hide_action, self.merge_action,
                                                           self.rename_action])
        stack_vertically(self, self.toolbar, self.grid)

        self._scroll_timer = QTimer(self, singleShot=True, interval=80)
        self._scroll_timer.timeout.connect(self._scrolled)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _v: self._scroll_timer.start())
        self._filter_timer = QTimer(self, singleShot=True, interval=120)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._focus_grid)
        self.show_hidden.toggled.connect(lambda _on: self._apply_filter())
        self.grid.open_requested.connect(self._open_index)
        self.grid.merge_dropped.connect(self.merge_into)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.model.rename_requested.connect(self.rename)
        self.model.modelReset.connect(self._update_counts)
        self.model.rowsInserted.connect(self._update_counts)
        self.model.rowsRemoved.connect(self._update_counts)
        ctx.changed.connect(self.on_changed)
        ctx.scanned.connect(lambda _summary: self._update_counts())
        ctx.jobs.ended.connect(lambda _title, _outcome: self._update_counts())
        self._update_actions()

    # -- loading ------------------------------------------------------------------------------------
    def load(self) -> None:
        """Load the cards: on the first load the first page alone and its covers, then (once the window
        has shown them: :meth:`load_remaining_covers`) every card; a reload lists every card at once."""
        if self.loaded:
            self._load_all()
        else:
            self.ctx.query(load_first, on_done=self._first_page, owner=self)

    def _first_page(self, result: tuple[list[PersonCard], bool]) -> None:
        cards, complete = result
        with self._keeping_current():
            self.model.set_cards(cards)
        self.loaded = True
        first = self.model.without_cover(c.id for c in cards[:FIRST_SCREEN])
        if first:
            self.first_covers_pending = True
            self.ctx.covers.submit(best_faces, self.ctx.library, first, on_done=self._first_covers, owner=self,
                                   on_error=lambda _exc: self._first_covers({}))
        if complete:
            self._all_loaded()
        else:
            self._update_counts()
        self.loaded_first.emit()  # the window goes on (every card, the other covers) once the first screen shows

    def _first_covers(self, best: dict[int, int]) -> None:
        self.model.set_best_faces(best)
        self.grid.viewport().repaint()  # the visible cards ask for their faces now (the window waits for them)
        self.first_covers_pending = False

    def _load_all(self) -> None:
        self._stale = False
        self._loading_all = True
        self.ctx.query(load_all, on_done=self._loaded, owner=self)

    def _loaded(self, result: tuple[list[PersonCard], list[SortKey]]) -> None:
        cards, keys = result
        self._loading_all = False
        with self._keeping_current():
            # After the first page its covers stay (just found); a reload finds them again.
            self.model.set_cards(cards, keep_covers=not self.complete, keys=keys)
        if self._stale:  # changed while the list was read: read it again
            self._load_all()
            return
        self._find_covers(self.shown_ids())
        self._all_loaded()

    def _all_loaded(self) -> None:
        first = not self.complete
        self.complete = True
        self._update_counts()
        if not first or self._covers_wanted:
            self.load_remaining_covers()

    def shown_ids(self) -> list[int]:
        """The people of the cards on screen (from the first one shown), a screenful or more."""
        vp, cell = self.grid.viewport().rect(), self.grid.gridSize()
        top = self.grid.indexAt(vp.topLeft())
        start = top.row() if top.isValid() else 0
        fit = (vp.width() // max(1, cell.width())) * (vp.height() // max(1, cell.height()) + 2)
        return self.model.visible_ids[start:start + max(FIRST_SCREEN, fit)]

    def _find_covers(self, person_ids: list[int]) -> None:
        """Find these people's covers (those not known nor being found already)."""
        rest = [p for p in self.model.without_cover(person_ids) if p not in self._covers_asked]
        if not rest:
            return
        self._covers_asked.update(rest)

        def done(best: dict[int, int]) -> None:
            self._covers_asked.difference_update(rest)
            self.model.set_best_faces(best)

        self.ctx.covers.submit(best_faces, self.ctx.library, rest, on_done=done, owner=self,
                               on_error=lambda _exc: self._covers_asked.difference_update(rest))

    def _scrolled(self) -> None:
        """The grid came to rest somewhere else: the cards there get their covers first (the batches in
        display order may be far from them)."""
        if self.loaded:
            self._find_covers(self.shown_ids())

    def load_remaining_covers(self) -> None:
        """List every card if only the first page is, then find the covers of the people beyond the first
        screen in display order, a batch at a time (each shows when found; one query does not hold a worker
        for seconds)."""
        self._covers_wanted = True
        if not self.complete:
            if not self._loading_all:
                self._load_all()
            return
        shown = self.model.visible_ids
        order = list(dict.fromkeys(shown + [c.id for c in self.model.cards()]))
        rest = self.model.without_cover(order)

        def next_batch(found: dict[int, int] | None = None) -> None:
            if found:
                self.model.set_best_faces(found)
            batch = self.model.without_cover(rest[:COVER_BATCH])
            del rest[:COVER_BATCH]
            while not batch and rest:
                batch = self.model.without_cover(rest[:COVER_BATCH])
                del rest[:COVER_BATCH]
            if batch:
                self.ctx.covers.submit(best_faces, self.ctx.library, batch, on_done=next_batch, owner=self)

        next_batch()

    def on_changed(self, changes: ChangeSet) -> None:
        """Refresh only the cards the change record names."""
        if not self.loaded:
            return
        if self._loading_all:  # the list being read may predate the change: read it again when it comes
            self._stale = True
        touched = sorted(changes.people_added | changes.people_changed)
        if len(touched) + len(changes.people_removed) > FULL_RELOAD_ABOVE:
            self.load()
            return
        removed = set(changes.people_removed)
        if not touched:
            if removed:
                with self._keeping_current():
                    self.model.apply([], removed)
            return

        def apply(result: tuple[list[PersonCard], dict[int, int]]) -> None:
            cards, best = result
            gone = removed | (set(touched) - {c.id for c in cards})
            with self._keeping_current():
                self.model.apply(cards, gone, best)
            self._update_actions()

        self.ctx.query(load_cards, touched, on_done=apply, owner=self)

    @contextmanager
    def _keeping_current(self) -> Iterator[None]:
        """Re-sorting moves cards (a named person goes to the top): keep the current card and the
        selection on the same people, not on the same grid positions. When the current person is gone
        (merged away), the nearest remaining card becomes current."""
        current = self.grid.currentIndex()
        current_id = self.model.card_at(current.row()).id if current.isValid() else None
        row = current.row() if current.isValid() else -1
        selected = self.selected_ids()
        yield
        if current_id is None:
            return
        current_row = self.model.row_of(current_id)
        if current_row is None:
            if not self.model.rowCount():
                return
            current_row = min(row, self.model.rowCount() - 1)
        rows = [r for r in (self.model.row_of(p) for p in selected) if r is not None] or [current_row]
        self.grid.select_rows(rows)
        self.grid.selectionModel().setCurrentIndex(self.model.index(current_row),
                                                   QItemSelectionModel.SelectionFlag.NoUpdate)
        self.grid.scrollTo(self.model.index(current_row))

    # -- filter -------------------------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _focus_grid(self) -> None:
        self.grid.setFocus()
        if not self.grid.currentIndex().isValid() and self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(0))

    def _apply_filter(self) -> None:
        self.model.set_filter(self.filter_edit.text(), self.show_hidden.isChecked())
        self._update_counts()
        self._scroll_timer.start()  # other cards on screen: their covers first

    def set_show_hidden(self, on: bool) -> None:
        self.show_hidden.setChecked(on)

    def _update_counts(self, *_args: object) -> None:
        total = self.model.total
        named = sum(1 for c in self.model.cards() if c.name)
        shown = self.model.rowCount()
        if not self.complete or total == 0:
            texts = []
        elif shown == total:
            texts = [f"{total:,} people, {named:,} named", f"{total:,} people"]
        else:
            texts = [f"{shown:,} of {total:,} people shown", f"{shown:,} of {total:,} shown"]
        self.count_label.set_texts(texts)
        self.ignore_unnamed_action.setEnabled(self.complete and bool(self.unnamed_groups()))
        if self.loaded and total == 0:
            self.ctx.query(ungrouped_face_count, on_done=self._set_ungrouped, owner=self)
        else:
            self._set_ungrouped(0, update=False)
        if not self.loaded:
            self.grid.empty_text = "Loading people…"
        elif total == 0 and self.ungrouped:
            self.grid.empty_text = (f"{self.ungrouped:,} {'face is' if self.ungrouped == 1 else 'faces are'} "
                                    "not grouped into people yet.")
        elif total == 0 and self.ctx.jobs.running:
            self.grid.empty_text = (f"{self.ctx.jobs.title}… The people found show here when it is done.")
        elif total == 0:
            self.grid.empty_text = "No people yet — add a folder (Ctrl+O) and scan."
        elif self.filter_edit.text().strip():
            self.grid.empty_text = f"No one matches “{self.filter_edit.text().strip()}”."
        else:
            self.grid.empty_text = "Everyone is hidden — tick “Show hidden” to see them."
        self.grid.viewport().update()

    def _job_started_or_ended(self, *_args: object) -> None:
        if self.loaded and self.model.total == 0:
            self._update_counts()

    def unnamed_groups(self) -> list[PersonCard]:
        """Shown unnamed groups of two or more faces (what "Ignore Unnamed Groups" would ignore, less any
        holding a face the user placed, which the operation keeps)."""
        return [c for c in self.model.cards() if c.name is None and not c.hidden and c.face_count >= 2]

    def ignore_unnamed(self) -> None:
        groups = self.unnamed_groups()
        if not groups:
            return
        n, faces = len(groups), sum(c.face_count for c in groups)
        text = (f"Ignore {n:,} unnamed group{'s' if n != 1 else ''} ({faces:,} faces)?\n\n"
                "Do this once you have named the people you care about: the faces left in unnamed groups are "
                "usually strangers. They move to Ignored, where they can be restored; Undo brings them all back. "
                "Groups holding a face you placed yourself are kept.")
        if confirm(self, "Ignore Unnamed Groups", text, f"Ignore {n:,} Group{'s' if n != 1 else ''}"):
            self.ctx.run_op(ops.ignore_unnamed_groups)

    def _set_ungrouped(self, count: int, update: bool = True) -> None:
        changed = count != self.ungrouped
        self.ungrouped = count
        self.group_button.setVisible(bool(count) and self.model.total == 0 and self.loaded)
        self._place_group_button()
        if changed and update:
            self._update_counts()

    def _place_group_button(self) -> None:
        vp = self.grid.viewport()
        self.group_button.adjustSize()
        self.group_button.move((vp.width() - self.group_button.width()) // 2, vp.height() // 2 + 24)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.grid.viewport() and event.type() == QEvent.Type.Resize:
            self._place_group_button()
        return super().eventFilter(watched, event)

    # -- selection and actions ------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return [self.model.card_at(r).id for r in self.grid.selected_rows()]

    def select_ids(self, person_ids: list[int]) -> None:
        rows = [r for r in (self.model.row_of(p) for p in person_ids) if r is not None]
        self.grid.select_rows(rows)
        if rows:
            self.grid.scrollTo(self.model.index(rows[0]))

    def _update_actions(self) -> None:
        ids = self.selected_ids()
        self.merge_action.setEnabled(len(ids) >= 2)
        self.rename_action.setEnabled(len(ids) == 1)
        self.open_action.setEnabled(len(ids) == 1)
        self.hide_action.setEnabled(bool(ids))
        self.photos_action.setEnabled(bool(ids))
        self.photos_action.setText("Show &Photos with Them" if len(ids) > 1 else "Show &Photos")
        cards = [self.model.card(p) for p in ids]
        all_hidden = bool(cards) and all(c is not None and c.hidden for c in cards)
        self.hide_action.setText("&Show" if all_hidden else "&Hide")

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_person.emit(self.model.card_at(index.row()).id)

    def _open_current(self) -> None:
        self._open_index(self.grid.currentIndex())

    def show_selected_photos(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.show_photos.emit(ids)

    def rename_current(self) -> None:
        index = self.grid.currentIndex()
        if index.isValid():
            self.grid.edit(index)

    def rename(self, person_id: int, name: str) -> None:
        """Name a person; a name someone else has offers to merge the two."""
        existing = {n.casefold(): n for n in self.ctx.names.stringList()}
        card = self.model.card(person_id)
        other = existing.get(name.casefold())
        if other is not None and (card is None or card.name != other):
            question = (f"There is already a person named “{other}”. Merge "
                        f"{'“' + card.name + '”' if card and card.name else 'this unnamed person'} into them?")
            if not confirm(self, "Name already in use", question, "Merge"):
                return
            name = other
        self.ctx.run_op(ops.name_person, person_id, name)

    def merge_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) >= 2:
            self.merge_into(ids[0], ids[1:])

    def merge_into(self, target: int, sources: list[int]) -> None:
        """Merge ``sources`` into ``target``; asks first when that would drop someone's name."""
        target_card = self.model.card(target)
        named = [c for c in (self.model.card(p) for p in sources) if c is not None and c.name]
        if named and target_card is not None and target_card.name is None and len(named) == 1:
            target, sources = named[0].id, [target] + [p for p in sources if p != named[0].id]
            target_card = named[0]
        dropped = [c.name for c in named if c.id != target and c.name]
        if dropped:
            who = display_name(target_card.name if target_card else None)
            text = (f"Merge {', '.join('“' + n + '”' for n in dropped)} into “{who}”? "
                    f"{'Their name' if len(dropped) == 1 else 'Their names'} will be dropped. (You can undo this.)")
            if not confirm(self, "Merge named people", text, "Merge"):
                return

        def select_target(_changes: ChangeSet) -> None:
            QTimer.singleShot(0, lambda: self.select_ids([target]))

        self.ctx.run_op(ops.merge_people, target, sources, on_done=select_target)

    def toggle_hidden(self) -> None:
        cards = [c for c in (self.model.card(p) for p in self.selected_ids()) if c is not None]
        hide = not all(c.hidden for c in cards)
        for card in cards:
            self.ctx.run_op(ops.hide_person, card.id, hide)

    def _context_menu(self, pos: QPoint) -> None:
        popup_menu(self, self.grid, pos,
                   (self.open_action, self.photos_action, self.rename_action, self.merge_action, self.hide_action))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Escape clears the filter
        if event.key() == Qt.Key.Key_Escape and self.filter_edit.text():
            self.filter_edit.clear()
            self._apply_filter()
            self._focus_grid()
            return
        super().keyPressEvent(event)
