"""The Photos view: the photos holding one person, or several people together, newest first.

A small first page comes first (the first screen), then the rest after it in one more keyset page, all
on a worker; the grid is usable all along. Thumbnails are decoded off the GUI thread.
Open a photo (Enter), open it in the system viewer, show it in its folder, or copy the selected
photos to a folder (a job with progress and Cancel, never overwriting a file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from faceorg.gui.actions import make_action, spacer, view_toolbar
from faceorg.gui.context import AppContext
from faceorg.gui.folder_dialog import choose_folder
from faceorg.gui.models import display_name
from faceorg.gui.photo_grid import PhotoGrid, as_rows
from faceorg.gui.system_open import open_in_viewer, show_in_folder
from faceorg.gui.view_parts import popup_menu, stack_vertically, title_header
from faceorg.jobs.copy_photos import CopyReport, copy_photos
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import PersonCard, person_cards
from faceorg.people.photos import Cursor, photos_with_people
from faceorg.store.db import Library

FIRST_PAGE = 300  # photos in the first page (a screenful or two, shown at once)
PAGE: int | None = None  # photos in each following page (None: the rest at once, one sort of them all)
COPY_TITLE = "Copying photos"


def with_names(names: list[str]) -> str:
    """ "Ann", "Ann and Ben", "Ann, Ben and Cleo"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def photos_text(n: int) -> str:
    return f"{n:,} photo" if n == 1 else f"{n:,} photos"


@dataclass(frozen=True)
class GridPage:
    """A page of photos made ready for the grid's model on the worker."""

    rows: list[tuple[Any, ...]]  # as_rows()
    next_after: Cursor | None


def load_page(library: Library, person_ids: tuple[int, ...], after: Cursor | None, limit: int | None,
              oldest_first: bool) -> GridPage:
    """One page of the photos holding all of these people (worker thread)."""
    page = photos_with_people(library, person_ids, after=after, limit=limit, oldest_first=oldest_first)
    return GridPage(as_rows(page.photos), page.next_after)


def load_people(library: Library, person_ids: tuple[int, ...]) -> list[PersonCard]:
    return person_cards(library, person_ids)


class PhotosView(QWidget):
    """A grid of the photos holding every one of ``person_ids``."""

    open_photo = Signal(int)  # photo id
    back_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_ids: tuple[int, ...] = ()
        self.loading = False
        self.last_copy: CopyReport | None = None
        self._generation = 0  # results of an earlier list are dropped
        self._stale = False  # changed while hidden: list again when shown
        self.grid = PhotoGrid(ctx.photo_thumbs, self)
        self.grid.setObjectName("photoGrid")
        self.grid.empty_text = "Loading…"
        self.back_button, self.title, self.subtitle = title_header("photos")

        g = self.grid
        self.open_action = make_action(g, "&Open Photo", self.open_current, icon_name="photo",
                                       tip="Open the current photo with its faces (Enter)")
        self.viewer_action = make_action(g, "Open in System &Viewer", self.open_in_viewer, shortcut="Ctrl+Shift+O",
                                         icon_name="photo",
                                         tip="Open the current photo in the system's photo viewer")
        self.folder_action = make_action(g, "Show in &Folder", self.show_in_folder, shortcut="Ctrl+Shift+F",
                                         icon_name="folder", tip="Show the current photo in its folder")
        self.copy_action = make_action(g, "&Copy Selected Photos to Folder…", self.copy_selected,
                                       shortcut="Ctrl+Shift+C", icon_name="folder-add",
                                       tip="Copy the selected photos to a folder (no file is ever overwritten)")
        self.oldest_action = make_action(self, "Oldest &First", self.reload, checkable=True,
                                         tip="Show the oldest photos first", name="oldestFirst")

        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.addWidget(self.back_button)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.toolbar = view_toolbar("photosToolbar", self)
        for action in (self.open_action, self.viewer_action, self.folder_action, self.copy_action):
            self.toolbar.addAction(action)
        self.toolbar.addWidget(spacer())
        self.toolbar.addAction(self.oldest_action)
        stack_vertically(self, header, self.toolbar, self.grid)

        self.grid.open_requested.connect(self._open_index)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._update_actions())
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        ctx.changed.connect(self.on_changed)
        self._update_actions()

    # -- loading ------------------------------------------------------------------------------------
    def show_people(self, person_ids: tuple[int, ...] | list[int]) -> None:
        """Show the photos holding all of these people (from the first page)."""
        ids = tuple(sorted(set(person_ids)))
        if ids == self.person_ids and not self._stale and (self.loading or self.grid.photos.rowCount()):
            return  # back from a photo: the list, the scroll position and the selection stay
        if ids != self.person_ids:
            self.grid.photos.set_items([])
            self.title.setText("")
            self.subtitle.setText("")
        self.person_ids = ids
        self._stale = False
        self.reload()

    def reload(self) -> None:
        ids = self.person_ids
        if not ids:
            return
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.grid.empty_text = "Loading…"
        self.ctx.query(load_people, ids, on_done=lambda cards: self._set_title(generation, cards), owner=self)
        self.ctx.query(load_page, ids, None, FIRST_PAGE, self.oldest_action.isChecked(),
                       on_done=lambda page: self._page(generation, page, first=True),
                       on_error=lambda exc: self._failed(generation, exc), owner=self)

    def _page(self, generation: int, page: GridPage, *, first: bool = False) -> None:
        if generation != self._generation:
            return
        if first:
            self.grid.photos.set_rows(page.rows)
            if page.rows:
                self.grid.setCurrentIndex(self.grid.photos.index(0))
            self.grid.scrollToTop()
        else:
            self.grid.photos.append_rows(page.rows)
        self.loading = page.next_after is not None
        if page.next_after is not None:
            self.ctx.query(load_page, self.person_ids, page.next_after, PAGE, self.oldest_action.isChecked(),
                           on_done=lambda nxt: self._page(generation, nxt),
                           on_error=lambda exc: self._failed(generation, exc), owner=self)
        self.grid.empty_text = "No photos hold all of them." if len(self.person_ids) > 1 else "No photos."
        self._update_subtitle()
        self._update_actions()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.loading = False
            self.grid.empty_text = str(exc)
            self.grid.viewport().update()

    def _set_title(self, generation: int, cards: list[PersonCard]) -> None:
        if generation != self._generation:
            return
        names = [display_name(c.name) for c in cards]
        self.title.setText(f"Photos with {with_names(names)}" if len(names) > 1 else
                           f"Photos of {names[0]}" if names else "Photos")

    def _update_subtitle(self) -> None:
        n = self.grid.photos.rowCount()
        order = "oldest first" if self.oldest_action.isChecked() else "newest first"
        together = " together" if len(self.person_ids) > 1 else ""
        more = " (loading more…)" if self.loading else ""
        self.subtitle.setText(f"{photos_text(n)}{together}{more} · {order} · date taken, else the file's date")

    def on_changed(self, changes: ChangeSet) -> None:
        """Faces given, taken away or regrouped change who is in which photo: list again (when next shown)."""
        if not self.person_ids or not (set(self.person_ids) & (changes.people_changed | changes.people_removed)
                                       or changes.photos_changed):
            return
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    # -- actions ------------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        current = self.grid.current_item() is not None
        for action in (self.open_action, self.viewer_action, self.folder_action):
            action.setEnabled(current)
        n = len(self.grid.selected_rows())
        self.copy_action.setEnabled(n > 0 and not self.ctx.jobs.running)
        self.copy_action.setText(f"&Copy {photos_text(n)} to Folder…" if n else "&Copy Selected Photos to Folder…")

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_photo.emit(self.grid.photos.item_at(index.row()).id)

    def open_current(self) -> None:
        self._open_index(self.grid.currentIndex())

    def open_in_viewer(self) -> None:
        item = self.grid.current_item()
        if item is not None and not open_in_viewer(item.path):
            self.ctx.message.emit(f"Could not open {Path(item.path).name} (is the file still there?)")

    def show_in_folder(self) -> None:
        item = self.grid.current_item()
        if item is not None and not show_in_folder(item.path):
            self.ctx.message.emit(f"Could not show {Path(item.path).name} in its folder")

    def copy_selected(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return
        folder = choose_folder(self, f"Copy {photos_text(len(ids))} to a folder", str(Path.home()))
        if folder:
            self.copy_to(ids, folder)

    def copy_to(self, photo_ids: list[int], folder: str) -> bool:
        """Copy photos to a folder as a job (progress and Cancel in the status bar); False while another runs."""
        if self.ctx.jobs.running:
            self.ctx.message.emit(f"{self.ctx.jobs.title} is still running")
            return False

        def done(report: CopyReport) -> None:
            self.last_copy = report
            self.ctx.message.emit(report.one_line())
            self._update_actions()

        library = self.ctx.library
        return self.ctx.jobs.start(COPY_TITLE, lambda progress: copy_photos(library, photo_ids, folder, progress),
                                   on_done=done)

    def _context_menu(self, pos: QPoint) -> None:
        popup_menu(self, self.grid, pos, (self.open_action, self.viewer_action, self.folder_action, None,
                                          self.copy_action))
