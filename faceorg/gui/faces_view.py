"""Faces by state: unknown (nobody's yet), suggested to a named person (waiting for a yes), every face of the
named people not confirmed yet (to check, the least sure first), ignored, and "not a face"."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QPushButton, QSizePolicy, QWidget

from faceorg.gui.actions import make_action, spacer, view_toolbar
from faceorg.gui.context import AppContext
from faceorg.gui.dialogs import ask_name
from faceorg.gui.face_grid import FaceGridView
from faceorg.gui.models import faces_text
from faceorg.gui.toolbar_fit import ButtonTextFitter, FittingLabel
from faceorg.gui.view_parts import stack_vertically
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import (
    FaceCard,
    face_cards_by_ids,
    face_cards_by_status,
    face_cards_of_changes,
    face_cards_suggested,
    face_cards_to_check,
)
from faceorg.people.review_answers import accept_all_suggestions, confirm_all_unconfirmed
from faceorg.store.models import FaceStatus

MODES: dict[str, tuple[str, FaceStatus | None, str]] = {
    "unknown": ("Unknown", None, "No unknown faces: every face belongs to someone or is ignored."),
    "suggested": ("Suggested", None, "No suggested faces. Faces that look like one of your named people wait "
                                     "here for a yes (A) or a no (R)."),
    "check": ("Check", None, "Nothing to check: every face of your named people is confirmed."),
    "ignored": ("Ignored", FaceStatus.IGNORED, "No ignored faces. Faces you ignore (strangers) appear here."),
    "not_face": ("Not a face", FaceStatus.NOT_FACE, "Nothing here. Boxes you mark “not a face” appear here."),
}


def _belongs(card: FaceCard, mode: str) -> bool:
    if mode == "unknown":
        return card.status == "normal" and card.person_id is None
    if mode == "suggested":
        return card.status == "normal" and card.source == "suggested" and card.person_name is not None
    if mode == "check":
        return card.status == "normal" and card.source in ("suggested", "auto") and card.person_name is not None
    return card.status == mode


RELOAD_PEOPLE_ABOVE = 200  # more people changed at once (a grouping): the named people's lists load again
NAMED_MODES = ("suggested", "check")  # lists of faces with (not confirmed) named people: captioned, A / R


def _people_text(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


class FacesView(FaceGridView):
    """Browse unknown, suggested, to-check, ignored or not-a-face faces; name, accept or confirm, reject, ignore
    or restore them."""

    mode_chosen = Signal(str)  # the user clicked one of the mode buttons

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "facesGrid", split_tip="Make the selected faces a new unnamed person",
                         usual_order_tip="Back to this list's usual order (best faces first)", parent=parent)
        self.mode = "unknown"
        self.loaded_mode: str | None = None
        self.count_label = FittingLabel()  # elided (the full count in its tooltip) only when nothing else fits
        self.count_label.setObjectName("facesCount")
        self.mode_buttons = QButtonGroup(self)
        modes = QHBoxLayout()
        modes.setSpacing(0)
        for key, (label, _status, _empty) in MODES.items():
            button = QPushButton(label)
            button.setObjectName(f"mode_{key}")
            button.setCheckable(True)
            button.clicked.connect(lambda _c=False, k=key: self._mode_clicked(k))
            self.mode_buttons.addButton(button)
            modes.addWidget(button)

        g = self.grid
        self.name_action = make_action(g, "&Name…", self.name_selected, shortcut="F2", icon_name="rename",
                                       tip="Give the selected faces to a person (new or existing)")
        self.restore_action = make_action(g, "&Restore", self.restore, shortcut="Ctrl+R", icon_name="restore",
                                          tip="Bring the selected faces back into grouping")
        self.delete_alias = make_action(g, "Ignore", self.ignore, shortcut=QKeySequence.StandardKey.Delete)
        self.accept_action = make_action(g, "&Accept", self.accept, shortcut=["A", "C"], icon_name="accept",
                                         tip="Yes: the selected faces are the person named on them")
        self.reject_action = make_action(g, "Not &This Person", self.reject, shortcut="R", icon_name="reject",
                                         tip="No: the selected faces are not the person named on them (never "
                                             "suggested to them again)")
        self.accept_all_action = make_action(g, "Accept A&ll", self.accept_all, shortcut="Ctrl+Shift+A",
                                             icon_name="accept-all", name="acceptAllSuggested",
                                             tip="Yes to every face in this list, in one step you can undo "
                                                 "(move or turn down the wrong ones first)")

        mode_box = QWidget()
        mode_box.setLayout(modes)
        # The toolbar never squeezes its mode buttons: the text fitter must count them whole.
        mode_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        modes.setContentsMargins(0, 0, 0, 0)
        self.toolbar = view_toolbar("facesToolbar", self)
        self.toolbar.addWidget(mode_box)
        self.toolbar.addSeparator()
        for action in (self.accept_action, self.reject_action, self.accept_all_action, self.name_action,
                       self.like_action, self.usual_order_action, self.split_action, self.ignore_action,
                       self.not_face_action, self.restore_action, self.photo_action):
            self.toolbar.addAction(action)
        self.toolbar.addWidget(spacer())
        self.toolbar.addWidget(self.count_label)
        # A narrow window: these show their icon only (least needed first), then the » menu takes the rest.
        self.toolbar_fit = ButtonTextFitter(self.toolbar, [self.split_action, self.photo_action, self.not_face_action,
                                                           self.usual_order_action, self.like_action,
                                                           self.restore_action, self.ignore_action, self.name_action,
                                                           self.reject_action, self.accept_action,
                                                           self.accept_all_action])
        stack_vertically(self, self.toolbar, self.grid)

        self.connect_grid()
        self.grid.faces.rowsRemoved.connect(lambda *_: self._update_count())
        self.grid.faces.rowsInserted.connect(lambda *_: self._update_count())
        self.grid.faces.modelReset.connect(self._update_count)
        ctx.changed.connect(self.on_changed)
        ctx.scanned.connect(self.on_scanned)
        self._sync_mode_buttons()
        self._update_actions()

    # -- loading ------------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Show the faces of ``mode`` (a key of :data:`MODES`), loading them if needed."""
        self.mode = mode
        self.grid.chips.show_names = mode in NAMED_MODES
        self.accept_action.setText("&Accept" if mode == "suggested" else "&Confirm")
        self.grid.viewport().update()
        self._sync_mode_buttons()
        self._update_actions()
        if self.loaded_mode != mode:
            self.load()

    def _mode_clicked(self, mode: str) -> None:
        self.set_mode(mode)
        self.mode_chosen.emit(mode)
        self.grid.setFocus()  # the keyboard goes on in the list

    def load(self) -> None:
        mode = self.mode
        self.loaded_mode = mode
        self.like_seeds = []
        self.grid.faces.set_cards([])
        self.grid.empty_text = "Loading…"

        def done(cards: list[FaceCard]) -> None:
            if mode != self.mode:
                return
            self.grid.faces.set_cards(cards)
            self.grid.empty_text = MODES[mode][2]
            if cards:
                self.grid.setCurrentIndex(self.grid.faces.index(0))
            self._update_count()

        load = {"suggested": face_cards_suggested, "check": face_cards_to_check}.get(
            mode, partial(face_cards_by_status, status=MODES[mode][1]))
        self.ctx.query(load, on_done=done, owner=self)

    def on_changed(self, changes: ChangeSet) -> None:
        """Faces that left this list go, faces that joined it come (at the end; in the lists of named people's
        faces, in their place). Those lists also look at the faces of the people who changed: naming a group
        puts its faces in the Check list, though the faces themselves did not change."""
        if self.loaded_mode is None:
            return
        mode = self.loaded_mode
        people = (changes.people_added | changes.people_changed | changes.people_removed
                  if mode in NAMED_MODES else set())
        if not changes.faces_changed and not people:
            return
        if len(people) > RELOAD_PEOPLE_ABOVE:
            self.load()
            return

        def apply(cards: list[FaceCard]) -> None:
            if mode != self.loaded_mode:
                return
            staying = [c for c in cards if _belongs(c, mode)]
            if mode in NAMED_MODES and any(self.grid.faces.row_of(c.id) is None for c in staying):
                self.load()  # new faces: in their place in the order, not at the end
                return
            self.grid.faces.remove_ids(c.id for c in cards if not _belongs(c, mode))
            self.grid.faces.update_cards(staying)
            self.grid.faces.append(staying)
            self.grid.focus_after_removal()
            self._update_actions()

        self.ctx.query(face_cards_of_changes, sorted(changes.faces_changed), people, on_done=apply, owner=self)

    def on_scanned(self, summary: object) -> None:
        new = list(getattr(summary, "new_face_ids", []) or [])
        if self.loaded_mode == "unknown" and new:
            self.ctx.query(face_cards_by_ids, new, owner=self,
                           on_done=lambda cards: self.grid.faces.append(c for c in cards if _belongs(c, "unknown")))

    def _sync_mode_buttons(self) -> None:
        for button in self.mode_buttons.buttons():
            button.setChecked(button.objectName() == f"mode_{self.mode}")

    def _update_count(self, *_args: object) -> None:
        n = self.grid.faces.rowCount()
        if self.mode in NAMED_MODES and n:
            people = _people_text(len({c.person_id for c in self.grid.faces.cards()}))
            self.count_label.set_texts([f"{faces_text(n)} of {people}", faces_text(n)])
        else:
            self.count_label.set_texts([faces_text(n)])
        verb = "Accept" if self.mode == "suggested" else "Confirm"
        self.accept_all_action.setText(f"{verb} All {n}" if self.mode in NAMED_MODES and n > 1 else f"{verb} All")
        self.accept_all_action.setEnabled(self.mode in NAMED_MODES and n > 0)

    def _update_actions(self) -> None:
        n = len(self.grid.selected_rows())
        unknown = self.mode == "unknown"
        self.name_action.setEnabled(n > 0)
        self.split_action.setEnabled(n > 0)
        self.ignore_action.setEnabled(n > 0 and self.mode != "ignored")
        self.not_face_action.setEnabled(n > 0 and self.mode != "not_face")
        restorable = self.mode in ("ignored", "not_face")
        self.restore_action.setEnabled(n > 0 and restorable)
        self.restore_action.setVisible(restorable)
        self.delete_alias.setEnabled(n > 0 and unknown)
        named = self.mode in NAMED_MODES
        for action in (self.accept_action, self.reject_action):
            action.setEnabled(n > 0 and named)
            action.setVisible(named)
        self.accept_all_action.setVisible(named)
        self.accept_all_action.setEnabled(named and self.grid.faces.rowCount() > 0)
        super()._update_actions()

    def menu_actions(self) -> tuple[QAction | None, ...]:
        if self.mode in NAMED_MODES:
            return (self.photo_action, None, self.accept_action, self.reject_action, self.name_action,
                    self.split_action, self.ignore_action, self.not_face_action)
        return (self.photo_action, None, self.name_action, self.like_action, self.split_action, self.ignore_action,
                self.not_face_action, self.restore_action)

    # -- actions ------------------------------------------------------------------------------------
    def name_selected(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return
        name = ask_name(self, self.ctx.names, title="Name faces", prompt=f"Who is in these {faces_text(len(ids))}?"
                        if len(ids) > 1 else "Who is this?", accept_text="Name")
        if name:
            self.ctx.run_op(ops.assign_faces_to_name, ids, name)

    def list_key(self) -> object:
        return self.loaded_mode

    def usual_order(self) -> None:
        self.load()

    def look_alikes_allowed(self) -> bool:
        return self.mode not in NAMED_MODES

    def reordered(self) -> None:
        self._update_count()
        super().reordered()

    def restore(self) -> None:
        self.run_on_selection(ops.restore_faces)

    def accept(self) -> None:
        self.run_on_selection(ops.accept_suggestions if self.mode == "suggested" else ops.confirm_faces)

    def reject(self) -> None:
        self.run_on_selection(ops.reject_suggestions)

    def accept_all(self) -> None:
        """Yes to every face shown (a face that joined since the list was loaded is left as it is)."""
        ids = self.grid.faces.ids
        if self.mode in NAMED_MODES and ids:
            op = accept_all_suggestions if self.mode == "suggested" else confirm_all_unconfirmed
            self.ctx.run_op(partial(op, only=ids))
