"""The Person view: every face of one person, least sure first, with the actions that fix the grouping.

Faces the user has not confirmed come first, the most doubtful (farthest from the person's confirmed faces)
first, each marked with a dot; confirmed faces follow, marked with a tick. Confirm (C) makes the selected
faces the user's decision. While the view shows one person, rows keep their places as faces change, so a
confirmed face does not jump away under the keyboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from faceorg.gui.actions import make_action, tool_button, view_toolbar
from faceorg.gui.context import AppContext
from faceorg.gui.dialogs import GroupChoice, ask_move_target, ask_name
from faceorg.gui.face_grid import FaceGridView
from faceorg.gui.models import display_name, faces_text
from faceorg.gui.toolbar_fit import ButtonTextFitter
from faceorg.gui.view_parts import stack_vertically, title_header
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import FaceCard, PersonCard, best_faces, face_cards_of_person, person_cards
from faceorg.people.nearest import likeness_to
from faceorg.store.db import Library


def load_person(library: Library, person_id: int) -> tuple[PersonCard | None, list[FaceCard]]:
    """The person's card and faces (worker thread); None when the person is gone."""
    cards = person_cards(library, [person_id])
    if not cards:
        return None, []
    return cards[0], face_cards_of_person(library, person_id)


MAX_GROUPS_OFFERED = 200  # the largest unnamed groups are listed in Move To; smaller ones are reached by name


def unnamed_groups(library: Library, exclude: int | None, faces: Sequence[int] = ()) -> list[GroupChoice]:
    """Unnamed groups to offer in Move To, each with its cover face (worker thread): the largest, those that
    ``faces`` look most like first."""
    cards = [c for c in person_cards(library) if c.name is None and c.id != exclude and not c.hidden]
    cards = cards[:MAX_GROUPS_OFFERED]
    likeness = likeness_to(library, faces, [c.id for c in cards])
    cards.sort(key=lambda c: -likeness.get(c.id, -2.0))  # stable: the largest first among equals
    best = best_faces(library, [c.id for c in cards if c.cover_face_id is None])
    return [GroupChoice(c.id, c.face_count, c.cover_face_id if c.cover_face_id is not None else best.get(c.id))
            for c in cards]


def keep_places(shown: list[int], cards: list[FaceCard]) -> list[FaceCard]:
    """``cards`` (fresh, least sure first) with the faces already shown kept in their shown order; faces new
    to the view take their fresh places."""
    where = {f: k for k, f in enumerate(shown)}
    kept = iter(sorted((c for c in cards if c.id in where), key=lambda c: where[c.id]))
    return [next(kept) if c.id in where else c for c in cards]


def sources_text(cards: list[FaceCard], look_alikes: bool = False) -> str:
    """The subtitle's legend: how many faces are confirmed (tick), automatic (grey dot), suggested (orange dot),
    and the order (least sure first, or ``look_alikes`` first)."""
    count = {src: sum(1 for c in cards if c.source == src) for src in ("user", "auto", "suggested")}
    parts = [f"{count['user']:,} confirmed (tick)"] if count["user"] else []
    if count["auto"]:
        parts.append(f"{count['auto']:,} automatic (grey dot)")
    if count["suggested"]:
        parts.append(f"{count['suggested']:,} suggested (orange dot)")
    unsure = count["auto"] + count["suggested"]
    order = "look-alikes first" if look_alikes else "least sure first"
    tail = f" · {order}, C confirms" if unsure else (" · look-alikes first" if look_alikes else "")
    return (": " + ", ".join(parts) if parts else "") + tail


class PersonView(FaceGridView):
    """One person's faces as chips; split, move, reject, ignore, choose the cover, open the photo."""

    back_requested = Signal()
    # The person shown is gone: (their id, the person their faces joined or 0, the change's label or "").
    person_gone = Signal(int, int, str)
    show_photos = Signal(int)  # person id: their photos, by date

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "personGrid", split_tip="Make the selected faces a new person",
                         usual_order_tip="Back to the usual order (least sure first)", parent=parent)
        self.person_id: int | None = None
        self.card: PersonCard | None = None

        self.back_button, self.title, self.subtitle = title_header("person")

        g = self.grid
        # F2 renames the person shown wherever the keyboard is in the window (the sidebar, the toolbar);
        # the action is enabled only while this view shows (see showEvent), so it never clashes.
        self.rename_action = make_action(self, "&Rename…", self.rename, shortcut="F2", icon_name="rename",
                                         tip="Name or rename this person", context=Qt.ShortcutContext.WindowShortcut)
        self.rename_action.setEnabled(False)
        self.move_action = make_action(g, "&Move to…", self.move_to, shortcut="Ctrl+M", icon_name="move",
                                       tip="Give the selected faces to another person")
        self.reject_action = make_action(g, "Not &This Person", self.reject, shortcut=QKeySequence.StandardKey.Delete,
                                         icon_name="not-person",
                                         tip="The selected faces are not this person; they will not come back")
        self.name_others_action = make_action(
            g, "Name the &Others…", self.name_others, shortcut="Shift+F2", icon_name="name-others",
            tip="Name the faces not selected; the selected faces are not this person and are taken out",
            name="nameOthers")
        self.cover_action = make_action(g, "Use as &Cover", self.use_as_cover, shortcut="Ctrl+U",
                                        icon_name="cover", tip="Show this face on the person's card")
        # A single letter like Review's A / R / S: the grid is where the keyboard is while checking faces.
        self.confirm_action = make_action(g, "&Confirm", self.confirm, shortcut="C", icon_name="accept",
                                          tip="Yes, the selected faces are this person (they stop being automatic)")
        self.photos_action = make_action(self, "P&hotos", self._show_photos, icon_name="photo",
                                         tip="This person's photos, by date", name="personPhotos")
        self.accept_all_action = make_action(self, "Accept All Waiting Faces", self.accept_all, icon_name="accept",
                                             tip="Confirm every face suggested or grouped with this person",
                                             name="acceptAllWaiting")

        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.addWidget(self.back_button)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles)
        header.addWidget(tool_button(self.rename_action, text_beside=False))
        photos_button = tool_button(self.photos_action)
        photos_button.setObjectName("personPhotosButton")
        header.addWidget(photos_button)
        header.addStretch(1)
        self.accept_all_button = tool_button(self.accept_all_action)
        self.accept_all_button.setObjectName("acceptAllButton")
        self.accept_all_button.setAutoRaise(False)
        header.addWidget(self.accept_all_button)
        self.toolbar = view_toolbar("personToolbar", self)
        for action in (self.confirm_action, self.name_others_action, self.split_action, self.move_action,
                       self.reject_action, self.not_face_action, self.ignore_action, self.like_action,
                       self.usual_order_action, self.cover_action, self.photo_action):
            self.toolbar.addAction(action)
        # A narrow window: these show their icon only (least needed first), then the » menu takes the rest.
        self.toolbar_fit = ButtonTextFitter(self.toolbar, [
            self.split_action, self.cover_action, self.photo_action, self.usual_order_action, self.like_action,
            self.not_face_action, self.name_others_action, self.move_action, self.ignore_action, self.reject_action,
            self.confirm_action])
        stack_vertically(self, header, self.toolbar, self.grid)

        self.connect_grid()
        ctx.changed.connect(self.on_changed)
        self._update_actions()

    def showEvent(self, event: QShowEvent) -> None:
        self.rename_action.setEnabled(True)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.rename_action.setEnabled(False)
        super().hideEvent(event)

    # -- loading ------------------------------------------------------------------------------------
    def show_person(self, person_id: int) -> None:
        if person_id != self.person_id:
            self.grid.faces.set_cards([])
            self.title.setText("")
            self.subtitle.setText("")
        self.person_id = person_id
        self.grid.empty_text = "Loading…"
        self._reload(first=True)

    def _reload(self, first: bool = False) -> None:
        pid = self.person_id
        if pid is None:
            return

        def done(result: tuple[PersonCard | None, list[FaceCard]]) -> None:
            if pid != self.person_id:
                return
            card, faces = result
            if card is None:
                self.person_gone.emit(pid, 0, "")
                return
            self.card = card
            self.grid.faces.person_names = {card.id: card.name}
            if first:
                self.like_seeds = []
                self.grid.faces.set_cards(faces)
                if faces:
                    self.grid.setCurrentIndex(self.grid.faces.index(0))
                self.grid.scrollToTop()
            else:
                self.grid.faces.sync(keep_places(self.grid.faces.ids, faces))
                self.grid.focus_after_removal()
            self._update_header()
            self._update_actions()

        self.ctx.query(load_person, pid, on_done=done, owner=self)

    def on_changed(self, changes: ChangeSet) -> None:
        pid = self.person_id
        if pid is None:
            return
        if pid in changes.people_removed:
            # Merged (or every face moved) into one other person: that person is where they are now.
            joined = changes.people_changed - changes.people_removed - {pid}
            self.person_gone.emit(pid, next(iter(joined)) if len(joined) == 1 else 0, changes.label)
            return
        shown = set(self.grid.faces.ids)
        if pid in changes.people_changed or pid in changes.people_added or changes.faces_changed & shown:
            self._reload()

    def _update_header(self) -> None:
        card = self.card
        if card is None:
            return
        self.title.setText(display_name(card.name))
        self.subtitle.setText(faces_text(card.face_count)
                              + sources_text(self.grid.faces.cards(), look_alikes=bool(self.like_seeds))
                              + (" · hidden" if card.hidden else ""))
        waiting = sum(1 for c in self.grid.faces.cards() if c.source in ("suggested", "auto"))
        self.accept_all_action.setText(f"Accept All {waiting} Waiting Faces" if waiting != 1 else
                                       "Accept the Waiting Face")
        self.accept_all_action.setEnabled(bool(card.name) and waiting > 0)
        self.accept_all_button.setVisible(bool(card.name) and waiting > 0)
        self.grid.empty_text = "No faces left for this person."

    def _update_actions(self) -> None:
        n = len(self.grid.selected_rows())
        for action in (self.split_action, self.move_action, self.reject_action, self.not_face_action,
                       self.ignore_action):
            action.setEnabled(n > 0)
        cards = self.grid.faces
        self.confirm_action.setEnabled(any(cards.card_at(r).source in ("auto", "suggested")
                                           for r in self.grid.selected_rows()))
        self.cover_action.setEnabled(n == 1)
        self.name_others_action.setEnabled(0 < n < len(cards.ids))
        super()._update_actions()

    def list_key(self) -> object:
        return self.person_id

    def usual_order(self) -> None:
        self._reload(first=True)

    def reordered(self) -> None:
        self._update_header()
        super().reordered()

    def menu_actions(self) -> tuple[QAction | None, ...]:
        return (self.photo_action, None, self.confirm_action, self.name_others_action, self.split_action,
                self.move_action, self.reject_action, self.not_face_action, self.ignore_action, None, self.like_action,
                self.cover_action)

    # -- actions ------------------------------------------------------------------------------------
    def _show_photos(self) -> None:
        if self.person_id is not None:
            self.show_photos.emit(self.person_id)

    def accept_all(self) -> None:
        """Confirm every face waiting for this (named) person in one action."""
        from faceorg.people.review_answers import accept_person_suggestions

        if self.person_id is not None:
            self.ctx.run_op(accept_person_suggestions, self.person_id)

    def rename(self) -> None:
        if self.card is None:
            return
        name = ask_name(self, self.ctx.names, title="Name person", prompt="Who is this?", accept_text="Name",
                        initial=self.card.name or "")
        if name and name != self.card.name:
            self.ctx.run_op(ops.name_person, self.card.id, name)

    def name_others(self) -> None:
        """Name the group after the faces not selected, taking the selected ones out (not this person), in one
        step: a group cleaned and named at once."""
        ids = self.grid.selected_ids()
        card = self.card
        rest = len(self.grid.faces.ids) - len(ids)
        if card is None or not ids or rest <= 0:
            return
        verb = "is" if len(ids) == 1 else "are"
        name = ask_name(self, self.ctx.names, title="Name the others",
                        prompt=f"Who are the other {faces_text(rest)}?\n"
                               f"The {len(ids):,} selected {verb} taken out: not this person.",
                        accept_text="Name", initial=card.name or "")
        if name:
            self.ctx.run_op(partial(ops.name_person, take_out=ids), card.id, name)

    def move_to(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return
        self.ctx.query(unnamed_groups, self.person_id, ids, on_done=lambda groups: self._ask_move(ids, groups),
                       owner=self)

    def _ask_move(self, ids: list[int], groups: list[GroupChoice]) -> None:
        target = ask_move_target(self, self.ctx.names, groups, self.ctx.thumbs, title="Move faces",
                                 prompt=f"Move {faces_text(len(ids))} to a person (type a name):")
        if isinstance(target, int):
            self.ctx.run_op(ops.move_faces, ids, target)
        elif target:
            self.ctx.run_op(ops.assign_faces_to_name, ids, target)

    def confirm(self) -> None:
        ids = [self.grid.faces.card_at(r).id for r in self.grid.selected_rows()
               if self.grid.faces.card_at(r).source in ("auto", "suggested")]
        if ids:
            self.ctx.run_op(ops.confirm_faces, ids)

    def reject(self) -> None:
        if self.person_id is not None:
            self.run_on_selection(ops.reject_faces, self.person_id)

    def use_as_cover(self) -> None:
        ids = self.grid.selected_ids()
        if len(ids) == 1 and self.person_id is not None:
            self.ctx.run_op(ops.set_cover, self.person_id, ids[0])
