"""A grid of face chips with multi-selection, and the base of the Person and Faces views built on it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from faceorg.gui.actions import make_action
from faceorg.gui.context import AppContext
from faceorg.gui.delegates import CHIP_SIZE, ChipDelegate
from faceorg.gui.grid import GridView
from faceorg.gui.models import FacesModel
from faceorg.gui.view_parts import popup_menu
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import FaceCard
from faceorg.people.nearest import order_by_likeness


class FaceGrid(GridView):
    """Chips of faces; Enter or a double click asks to open the face's photo."""

    open_face = Signal(int)  # face id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, spacing=2)
        self.ctx = ctx
        self.faces = FacesModel(self)
        self._selected_gone_at: int | None = None  # the first row of selected faces that left (see below)
        # Connected before the model is set, so that it runs before the selection forgets the rows.
        self.faces.rowsAboutToBeRemoved.connect(self._rows_leaving)
        self.faces.modelReset.connect(self._forget_rows_left)
        self.setModel(self.faces)
        self.chips = ChipDelegate(ctx.thumbs, self)
        self.setItemDelegate(self.chips)
        self.set_cell(CHIP_SIZE + QSize(4, 4))
        self.watch(ctx.thumbs)
        self.open_requested.connect(self._open)

    def _rows_leaving(self, _parent: QModelIndex, first: int, last: int) -> None:
        if self.selectionModel() is not None and any(first <= r <= last for r in self.selected_rows()):
            at = first if self._selected_gone_at is None else min(first, self._selected_gone_at)
            self._selected_gone_at = at

    def _forget_rows_left(self) -> None:
        self._selected_gone_at = None

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_face.emit(self.faces.card_at(index.row()).id)

    def selected_cards(self) -> list[FaceCard]:
        return [self.faces.card_at(r) for r in self.selected_rows()]

    def selected_ids(self) -> list[int]:
        return [c.id for c in self.selected_cards()]

    def current_card(self) -> FaceCard | None:
        index = self.currentIndex()
        return self.faces.card_at(index.row()) if index.isValid() else None

    def select_ids(self, face_ids: list[int]) -> None:
        rows = [r for r in (self.faces.row_of(f) for f in face_ids) if r is not None]
        self.select_rows(rows)

    def focus_after_removal(self) -> None:
        """Keep a current cell after rows went away, so the keyboard can go on: when the selected faces left
        (an action on them), the face that took the first one's place is selected, as in a list of files."""
        gone_at, self._selected_gone_at = self._selected_gone_at, None
        n = self.faces.rowCount()
        if gone_at is not None and n and not self.selected_rows():
            self.select_rows([min(gone_at, n - 1)])
        elif not self.currentIndex().isValid() and n:
            self.setCurrentIndex(self.faces.index(0))


class FaceGridView(QWidget):
    """A view around a :class:`FaceGrid` named ``grid_name``: opens the photo of a face (Enter, a
    double click or ``photo_action``), offers :meth:`menu_actions` in a context menu, and has the
    actions every such view has on the selected faces (split off, ignore, not a face; the split's
    tooltip is ``split_tip``), and Look-Alikes First with its way back (``usual_order_tip``: what the
    usual order is). Subclasses add their own actions, then call :meth:`connect_grid`; they say what
    list is shown (:meth:`list_key`) and how to show it in its usual order again (:meth:`usual_order`).
    """

    open_photo = Signal(int, int)  # photo id, face id

    def __init__(self, ctx: AppContext, grid_name: str, *, split_tip: str, usual_order_tip: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.grid = FaceGrid(ctx, self)
        self.grid.setObjectName(grid_name)
        self.grid.empty_text = "Loading…"
        g = self.grid
        self.split_action = make_action(g, "&New Person from Selection", self.split, shortcut="Ctrl+N",
                                        icon_name="split", tip=split_tip)
        self.ignore_action = make_action(g, "&Ignore", self.ignore, shortcut="Ctrl+I", icon_name="ignore",
                                         tip="Ignore the selected faces (strangers)")
        self.not_face_action = make_action(g, "Not a &Face", self.not_face, shortcut="Shift+Del",
                                           icon_name="not-face", tip="The selected boxes are not faces at all")
        self.photo_action = make_action(g, "Open &Photo", self.open_current_photo, icon_name="photo",
                                        tip="Open the photo of the current face (Enter)")
        self.like_seeds: list[int] = []  # shown look-alikes first (of these faces); [] in the usual order
        self.like_action = make_action(g, "&Look-Alikes First", self.look_alikes_first, shortcut="Ctrl+L",
                                       icon_name="look-alikes", name="lookAlikesFirst",
                                       tip="The selected faces first, then the faces that look most like them")
        self.usual_order_action = make_action(g, "&Usual Order", self.usual_order, icon_name="back",
                                              name="usualOrder", tip=usual_order_tip)

    def connect_grid(self) -> None:
        """Wire the grid to the view once its actions exist: opening, selection, context menu."""
        self.grid.open_face.connect(self._open_face)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)

    def menu_actions(self) -> tuple[QAction | None, ...]:
        """The context menu's actions; None is a separator."""
        return (self.photo_action,)

    def list_key(self) -> object:
        """What list the grid shows (a reordering meant for another list is dropped)."""
        return None

    def usual_order(self) -> None:
        """Show the list in its usual order again (subclasses reload it)."""

    def look_alikes_allowed(self) -> bool:
        """Whether Look-Alikes First applies to the list shown."""
        return True

    def _update_actions(self) -> None:
        """Enable the actions that apply (subclasses extend this)."""
        self.photo_action.setEnabled(self.grid.currentIndex().isValid())
        allowed = self.look_alikes_allowed()
        n = len(self.grid.selected_rows())
        self.like_action.setVisible(allowed)
        self.like_action.setEnabled(allowed and n > 0 and self.grid.faces.rowCount() > n)
        self.usual_order_action.setVisible(bool(self.like_seeds))

    def look_alikes_first(self) -> None:
        """Reorder the list: the selected faces, then the others by how much they look like the nearest of them
        (the faces of one person seen in few photos, or the strangers of one group who are one other person,
        end up side by side, ready to pick)."""
        seeds = self.grid.selected_ids()
        if not seeds or not self.look_alikes_allowed():
            return
        key, ids = self.list_key(), self.grid.faces.ids

        def done(ranked: list[tuple[int, float | None]]) -> None:
            if key != self.list_key():
                return
            cards = {c.id: c for c in self.grid.faces.cards()}
            chosen = set(seeds)
            lead = [cards[f] for f in ids if f in cards and f in chosen]
            rest = [cards[f] for f, _ in ranked if f in cards]
            placed = {c.id for c in lead} | {c.id for c in rest}
            self.like_seeds = seeds
            self.grid.faces.set_cards(lead + rest + [c for c in cards.values() if c.id not in placed])
            self.grid.select_rows(list(range(len(lead))))
            self.grid.scrollToTop()
            self.grid.setFocus()
            self.reordered()

        self.ctx.query(order_by_likeness, seeds, ids, on_done=done, owner=self)

    def reordered(self) -> None:
        """The list was shown in another order (subclasses update what depends on it)."""
        self._update_actions()

    def run_on_selection(self, op: Callable[..., ChangeSet], *args: object) -> None:
        """Run ``op(library, face ids, *args)`` on the selected faces, if any."""
        ids = self.grid.selected_ids()
        if ids:
            self.ctx.run_op(op, ids, *args)

    def split(self) -> None:
        self.run_on_selection(ops.split_faces)

    def ignore(self) -> None:
        self.run_on_selection(ops.ignore_faces)

    def not_face(self) -> None:
        self.run_on_selection(ops.mark_not_face)

    def open_current_photo(self) -> None:
        card = self.grid.current_card()
        if card is not None:
            self.open_photo.emit(card.photo_id, card.id)

    def _open_face(self, face_id: int) -> None:
        row = self.grid.faces.row_of(face_id)
        if row is not None:
            card = self.grid.faces.card_at(row)
            self.open_photo.emit(card.photo_id, card.id)

    def _context_menu(self, pos: QPoint) -> None:
        popup_menu(self, self.grid, pos, self.menu_actions())
