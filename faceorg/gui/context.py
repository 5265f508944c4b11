"""What every view shares: the open library, the worker pools, the thumbnail caches, and the change
records of the operations (Anki's shape: an operation returns what it changed, and each view
refreshes from that record).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QStringListModel, Signal
from PySide6.QtGui import QGuiApplication

from faceorg.errors import ConflictError
from faceorg.gui.photo_thumbnails import make_photo_cache
from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.gui.workers import JobRunner, TaskRunner
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.gui_support import person_names
from faceorg.store.db import Library

log = logging.getLogger(__name__)

GRID_CHIP = 104  # face chip side in the grids (device-independent pixels)
CARD_CHIP = 128  # cover face side on a person card
LARGE_CHIP = 168  # faces in the review view


class AppContext(QObject):
    """The library plus the machinery to work on it without blocking the GUI thread."""

    changed = Signal(object)  # ChangeSet, after every operation (and undo/redo)
    scanned = Signal(object)  # ScanSummary, after every scan
    undo_labels_changed = Signal(object, object)  # undo label | None, redo label | None
    error = Signal(str, object)  # title, exception: shown in a dialog by the main window
    message = Signal(str)  # a short status bar message
    stale = Signal()  # an operation was refused: another client changed the same thing first

    #: What runs queries, operations and jobs; tests put :class:`InlineTaskRunner` here.
    task_runner: type[TaskRunner] = TaskRunner

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        app = QGuiApplication.instance()
        dpr = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
        self.queries = self.task_runner(2, "faceorg-query", self)
        self.ops = self.task_runner(1, "faceorg-op", self)  # one at a time, in order (undo depends on it)
        # The People view's cover faces: their own thread, so the cards on screen get theirs without waiting
        # behind the other views' queries (a cover is a face id; its picture comes from card_thumbs).
        self.covers = self.task_runner(1, "faceorg-covers", self)
        self.jobs = JobRunner(self, self.task_runner)
        self.thumbs = ThumbnailCache(library, GRID_CHIP, radius=6, device_pixel_ratio=dpr, parent=self)
        self.card_thumbs = ThumbnailCache(library, CARD_CHIP, radius=10, device_pixel_ratio=dpr, parent=self)
        self.large_thumbs = ThumbnailCache(library, LARGE_CHIP, radius=14, device_pixel_ratio=dpr,
                                           max_bytes=16 << 20, parent=self)
        self.photo_thumbs = make_photo_cache(library, dpr, parent=self)  # whole photos, by photo id
        self.names = QStringListModel(self)  # every person's name, for completers
        self.undo_label: str | None = None
        self.redo_label: str | None = None
        for runner in (self.queries, self.ops, self.covers):
            runner.failed.connect(lambda exc: self.error.emit("Something went wrong", exc))

    def start(self) -> None:
        """Load what the menus and completers need (after the first screen, which goes first)."""
        self.refresh_names()
        self.refresh_undo_labels()

    # -- running work -------------------------------------------------------------------------------
    def query(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None],
              owner: QObject | None = None, on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run a read-only ``fn(library, *args)`` on a worker; ``on_done(result)`` on the GUI thread."""
        self.queries.submit(fn, self.library, *args, on_done=on_done, owner=owner, on_error=on_error)

    def run_op(self, fn: Callable[..., ChangeSet], *args: Any, on_done: Callable[[ChangeSet], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run a people operation ``fn(library, *args)`` on the operations thread, then broadcast its record."""
        def done(changes: ChangeSet) -> None:
            self.publish(changes)
            if on_done is not None:
                on_done(changes)

        def failed(exc: BaseException) -> None:
            self.error.emit("Could not do that", exc)
            if isinstance(exc, ConflictError):
                self.stale.emit()
            if on_error is not None:
                on_error(exc)

        self.ops.submit(fn, self.library, *args, on_done=done, on_error=failed)

    def publish(self, changes: ChangeSet) -> None:
        """Tell every view what changed, and refresh the Edit menu and the name list."""
        if changes.label:
            self.message.emit(changes.label)
        if not changes.empty:
            self.changed.emit(changes)
        if changes.people_added or changes.people_changed or changes.people_removed:
            self.refresh_names()
        self.refresh_undo_labels()

    def undo(self) -> None:
        self.run_op(ops.undo)

    def redo(self) -> None:
        self.run_op(ops.redo)

    def mark_seen(self, on_done: Callable[[], None]) -> None:
        """Note that the user now sees the library as it is (on the operations thread, in order with the
        operations), refresh the Edit menu, then ``on_done()`` reloads the views."""
        self.ops.submit(Library.mark_seen, self.library, on_done=lambda _seen: on_done())
        self.refresh_undo_labels()

    def refresh_undo_labels(self) -> None:
        def done(labels: tuple[str | None, str | None]) -> None:
            self.undo_label, self.redo_label = labels
            self.undo_labels_changed.emit(*labels)

        # On the operations thread, so the labels always describe the state after the last operation.
        self.ops.submit(ops.undo_redo_labels, self.library, on_done=done)

    def refresh_names(self) -> None:
        self.query(person_names, on_done=self.names.setStringList)

    # -- lifetime -----------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        """No task, operation, job or thumbnail load is pending (tests and screenshots wait for this)."""
        return (self.queries.idle and self.ops.idle and self.covers.idle and self.jobs.idle and self.thumbs.idle
                and self.card_thumbs.idle and self.large_thumbs.idle and self.photo_thumbs.idle)

    def shutdown(self) -> None:
        """Cancel the running job, finish pending operations, stop the loaders."""
        self.jobs.shutdown()
        self.ops.shutdown(wait=True, drop_queued=False)  # the user's last edits still land
        self.queries.shutdown(wait=True)
        self.covers.shutdown(wait=True)
        for cache in (self.thumbs, self.card_thumbs, self.large_thumbs, self.photo_thumbs):
            cache.stop()
