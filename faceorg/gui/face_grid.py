"""A grid of face chips with multi-selection, shared by the Person and Faces views."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Signal
from PySide6.QtWidgets import QWidget

from faceorg.gui.context import AppContext
from faceorg.gui.delegates import CHIP_SIZE, ChipDelegate
from faceorg.gui.grid import GridView
from faceorg.gui.models import FacesModel
from faceorg.people.gui_support import FaceCard


class FaceGrid(GridView):
    """Chips of faces; Enter or a double click asks to open the face's photo."""

    open_face = Signal(int)  # face id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, spacing=2)
        self.ctx = ctx
        self.faces = FacesModel(self)
        self.setModel(self.faces)
        self.chips = ChipDelegate(ctx.thumbs, self)
        self.setItemDelegate(self.chips)
        self.set_cell(CHIP_SIZE + QSize(4, 4))
        self.watch(ctx.thumbs)
        self.open_requested.connect(self._open)

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
        """Keep a current cell after rows went away, so the keyboard can go on."""
        if not self.currentIndex().isValid() and self.faces.rowCount():
            self.setCurrentIndex(self.faces.index(0))
