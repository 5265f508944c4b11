"""The main window: sidebar, the views in a stack with Back, menus with undo/redo, the job in the status bar."""

from __future__ import annotations

import gc
import html
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from faceorg import __version__
from faceorg.errors import ModelsMissingError
from faceorg.filenames import display_path
from faceorg.gui.actions import make_action, set_tip
from faceorg.gui.context import AppContext
from faceorg.gui.dialogs import confirm, show_error
from faceorg.gui.faces_view import FacesView
from faceorg.gui.folder_dialog import choose_folder
from faceorg.gui.icons import app_icon
from faceorg.gui.job_bar import JobBar, ScanSummaryLabel
from faceorg.gui.learning import (
    GO_BACK_TITLE,
    MIRROR_TITLE,
    BackgroundLearning,
    confirm_go_back,
    confirm_mirror,
    go_back_job,
    mirror_job,
)
from faceorg.gui.people_view import PeopleView
from faceorg.gui.person_view import PersonView
from faceorg.gui.photo_view import PhotoView
from faceorg.gui.photos_view import PhotosView
from faceorg.gui.retrain_dialog import RetrainDialog, show_report
from faceorg.gui.review_view import ReviewView
from faceorg.gui.settings_dialog import SettingsDialog, describe_providers, saved_message
from faceorg.gui.sidebar import VIEWS, FoldersPanel, Sidebar
from faceorg.gui.window_geometry import (
    SavedGeometry,
    best_screen_area,
    default_rect,
    fit_rect,
    read_saved_geometry,
)
from faceorg.gui.xmp_dialogs import XmpExportDialog, XmpImportDialog, export_summary, import_summary, show_summary
from faceorg.jobs import FolderRemovalReport, RayOptions, ScanReport, scan_and_group
from faceorg.jobs import remove_folder as remove_folder_job
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.settings import Settings, load_settings, save_settings
from faceorg.store.db import Library
from faceorg.store.folders import FolderInfo, add_folder, list_folders

if TYPE_CHECKING:  # the retraining code loads only when it runs
    from faceorg.jobs.retrain_job import RetrainJobReport
    from faceorg.jobs.xmp_job import XmpExportReport, XmpImportReport

log = logging.getLogger(__name__)

SCAN_TITLE = "Scanning"
GROUP_TITLE = "Grouping faces"


SIDEBAR_KINDS = tuple(key for key, _text, _icon in VIEWS)  # the views the sidebar lists


@dataclass(frozen=True)
class Page:
    """A place the window can show (and go back to)."""

    kind: str  # people | review | suggested | check | unknown | ignored | person | photo | photos
    arg: int | None = None
    face: int | None = None
    people: tuple[int, ...] = ()  # photos: the people every photo holds


def settle_memory() -> None:
    """Move what exists after start-up (modules, the ORM, the first data) out of the garbage collector's
    sight: a full collection over it would block the GUI thread for 50-130 ms now and then."""
    gc.freeze()


def scan_job(library: Library, with_faces: bool, progress: Progress) -> ScanReport:
    """Scan every folder, then group what needs it (worker thread); ModelsMissingError until the models
    are installed when faces are wanted. With a Ray address in the settings, faces are analysed on its workers."""
    address = load_settings(library).ray_address
    return scan_and_group(library, progress, with_faces=with_faces,
                          ray=RayOptions(address) if address else None)


def group_job(library: Library, progress: Progress) -> ChangeSet:
    from faceorg.people.clustering import recluster

    return recluster(library, progress)


def retrain_job(library: Library, depth: str, dry_run: bool, progress: Progress) -> RetrainJobReport:
    from faceorg.jobs.retrain_job import retrain_library

    return retrain_library(library, progress, depth=depth, dry_run=dry_run)


class MainWindow(QMainWindow):
    """faceorg's window on one library."""

    closed = Signal()  # the window closed: the app ends with it (see faceorg.gui.app.run_app)

    def __init__(self, library: Library, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        settle_memory()  # the modules imported so far: no full collection over them while the window builds
        self.setObjectName("mainWindow")
        self.ctx = AppContext(library, self)
        self.qsettings = settings or QSettings()
        self.history: list[Page] = []
        self.shut_down = False  # closed: its workers are stopped
        self.page: Page | None = None
        self.folders: list[FolderInfo] = []
        self.folder_panels: list[FoldersPanel] = []
        self.settings_dialog: SettingsDialog | None = None
        self.retrain_dialog: RetrainDialog | None = None
        self.xmp_dialog: XmpImportDialog | XmpExportDialog | None = None
        self.xmp_report: QMessageBox | None = None
        self.retrain_report: QMessageBox | None = None
        self.go_back_box: QMessageBox | None = None
        self.mirror_box: QMessageBox | None = None
        self.setWindowTitle(library.location.name)  # Qt adds " — faceorg" (the application's display name)
        self.setWindowIcon(app_icon())

        self.sidebar = Sidebar()
        self.people_view = PeopleView(self.ctx)
        self.person_view = PersonView(self.ctx)
        self.photo_view = PhotoView(self.ctx)
        self.review_view = ReviewView(self.ctx)
        self.faces_view = FacesView(self.ctx)
        self.photos_view = PhotosView(self.ctx)
        self.stack = QStackedWidget()
        for w in (self.people_view, self.person_view, self.photo_view, self.review_view, self.faces_view,
                  self.photos_view):
            self.stack.addWidget(w)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 1000])
        self.splitter.setCollapsible(1, False)
        self.setCentralWidget(self.splitter)

        self.job_bar = JobBar(self.ctx.jobs)
        self.scan_summary = ScanSummaryLabel(self.ctx.jobs)
        self.ctx.scanned.connect(self.scan_summary.show_summary)
        self.status_text = QLabel()
        self.status_text.setObjectName("libraryStatus")
        self.statusBar().addPermanentWidget(self.scan_summary)
        self.statusBar().addPermanentWidget(self.job_bar)
        self.statusBar().addPermanentWidget(self.status_text)
        self.learning = BackgroundLearning(self, self.ctx, on_learned=self.reload_views, regroup=self.group_faces)
        self.statusBar().addPermanentWidget(self.learning.status)
        self.statusBar().addPermanentWidget(self.learning.regroup_button)

        self._build_actions()
        self._build_menus()
        self._connect()
        self._add_folder_panel(self.sidebar.folders)
        self._restore_geometry()
        self.people_view.load()  # first, alone: the first screen is what the user waits for
        self.navigate(self._start_page(), remember=False)

    def _start_page(self) -> Page:
        """The view last used on this library; People on a library opened here for the first time (a new or
        another library would open on a view of the last one, like an empty Check list)."""
        view = str(self.qsettings.value("view", "people"))
        same = self.qsettings.value("viewLibrary", "") == self.ctx.library.location.display
        return Page(view) if same and view in SIDEBAR_KINDS else Page("people")

    # -- construction -------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        win = Qt.ShortcutContext.WindowShortcut
        self.add_folder_action = make_action(self, "&Add Folder…", self.add_folder_dialog, shortcut="Ctrl+O",
                                             icon_name="folder-add", context=win,
                                             tip="Add a photo folder to the library")
        self.rescan_action = make_action(self, "&Rescan Library", self.rescan, shortcut="F5", icon_name="rescan",
                                         context=win, tip="Look for new and changed photos in every folder")
        self.group_action = make_action(self, "&Group Faces", self.group_faces, shortcut="Ctrl+G", icon_name="group",
                                        context=win, tip="Group unnamed faces into people again")
        self.retrain_action = make_action(self, "&Improve Recognition from My Corrections…", self.improve_recognition,
                                          context=win, tip="Retrain face recognition on the names and "
                                                           "corrections you made")
        self.import_xmp_action = make_action(self, "Import Face &Names from XMP…", self.import_xmp, context=win,
                                             tip="Read the face names other photo tools stored in XMP sidecars "
                                                 "and photos")
        self.export_xmp_action = make_action(self, "&Write Face Names to XMP…", self.export_xmp, context=win,
                                             tip="Write the names of your confirmed faces to XMP sidecars for "
                                                 "other photo tools")
        self.go_back_action = make_action(self, "Go &Back to the Previous Model…", self.go_back_to_previous_model,
                                          context=win, tip="Recognise faces with the model used before the last "
                                                           "retraining; what you decided stays")
        self.mirror_action = make_action(self, "&Update Face Matching…", self.update_face_matching, context=win,
                                         tip="Embed every face again, averaged with its mirror image, as new "
                                             "libraries do (better grouping); what you decided stays")
        self.settings_action = make_action(self, "&Settings…", self.open_settings,
                                           shortcut=QKeySequence.StandardKey.Preferences, icon_name="settings",
                                           context=win)
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
            set_tip(self.settings_action, "Settings")
        self.quit_action = make_action(self, "&Quit", self.close, shortcut=QKeySequence.StandardKey.Quit, context=win)
        self.undo_action = make_action(self, "&Undo", self.ctx.undo, shortcut=QKeySequence.StandardKey.Undo,
                                       context=win)
        self.redo_action = make_action(self, "&Redo", self.ctx.redo, shortcut=["Ctrl+Shift+Z", "Ctrl+Y"], context=win)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.back_action = make_action(self, "&Back", self.go_back, shortcut=["Alt+Left", "Back"], icon_name="back",
                                       context=win, tip="Go back")
        self.view_actions: dict[str, QAction] = {}
        for n, key, text in [(1, "people", "&People"), (2, "review", "&Review"), (5, "suggested", "&Suggested Faces"),
                             (6, "check", "&Check Named Faces"), (3, "unknown", "&Unknown Faces"),
                             (4, "ignored", "&Ignored Faces")]:
            self.view_actions[key] = make_action(self, text, partial(self.navigate, Page(key)),
                                                 shortcut=f"Ctrl+{n}", context=win)
        self.show_hidden_action = make_action(self, "Show &Hidden People", None, shortcut="Ctrl+H", context=win,
                                              checkable=True)
        self.refresh_action = make_action(self, "Re&fresh", self.refresh, shortcut="Ctrl+Shift+R", context=win,
                                          tip="Show the library as it is now, with the changes others using "
                                              "it made")
        self.about_action = make_action(self, "&About faceorg", self.about, context=win)
        self.find_action = make_action(self, "&Find Person…", self.find_person, shortcut=QKeySequence.StandardKey.Find,
                                       context=win, tip="Filter the people by name")
        self.person_view.back_button.setDefaultAction(self.back_action)
        self.photo_view.back_button.setDefaultAction(self.back_action)
        self.photos_view.back_button.setDefaultAction(self.back_action)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.setToolTipsVisible(True)  # a disabled entry says why in its tooltip
        for a in (self.add_folder_action, self.rescan_action, self.group_action, self.retrain_action,
                  self.go_back_action, self.mirror_action, None, self.import_xmp_action, self.export_xmp_action, None,
                  self.settings_action, None, self.quit_action):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        edit.addAction(self.find_action)
        view = bar.addMenu("&View")
        for a in self.view_actions.values():
            view.addAction(a)
        view.addSeparator()
        view.addAction(self.show_hidden_action)
        view.addAction(self.refresh_action)
        view.addAction(self.back_action)
        people = self.people_menu = bar.addMenu("&People")
        for a in (self.people_view.rename_action, self.people_view.merge_action, self.people_view.hide_action,
                  self.people_view.photos_action):
            people.addAction(a)
        faces = self.faces_menu = bar.addMenu("F&aces")
        pv = self.person_view
        for a in (pv.split_action, pv.move_action, pv.reject_action, pv.not_face_action, pv.ignore_action,
                  pv.cover_action, pv.photo_action):
            faces.addAction(a)
        review = self.review_menu = bar.addMenu("&Review")
        rv = self.review_view
        for a in (rv.accept_action, rv.reject_action, rv.skip_action, rv.photo_action):
            review.addAction(a)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _connect(self) -> None:
        ctx = self.ctx
        ctx.error.connect(self.show_error)
        ctx.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        ctx.undo_labels_changed.connect(self._set_undo_labels)
        ctx.changed.connect(self._on_changed)
        ctx.stale.connect(self.refresh)  # a change refused because someone else's came first: show theirs
        ctx.jobs.failed.connect(self._job_failed)
        ctx.jobs.started.connect(lambda _t: self._update_job_actions())
        ctx.jobs.ended.connect(self._job_ended)
        self.sidebar.view_selected.connect(lambda key: self.navigate(Page(key)))
        self.people_view.open_person.connect(lambda pid: self.navigate(Page("person", pid)))
        self.people_view.loaded_first.connect(self._after_first_screen)
        self.people_view.group_requested.connect(self.group_faces)
        self.person_view.open_photo.connect(lambda photo, face: self.navigate(Page("photo", photo, face)))
        self.person_view.person_gone.connect(self._person_gone)
        self.person_view.show_photos.connect(lambda pid: self.navigate(Page("photos", people=(pid,))))
        self.people_view.show_photos.connect(lambda ids: self.navigate(Page("photos", people=tuple(sorted(ids)))))
        self.photos_view.open_photo.connect(lambda photo: self.navigate(Page("photo", photo)))
        self.faces_view.open_photo.connect(lambda photo, face: self.navigate(Page("photo", photo, face)))
        self.faces_view.mode_chosen.connect(self._faces_mode_chosen)
        self.review_view.open_photo.connect(lambda photo, face: self.navigate(Page("photo", photo, face)))
        self.review_view.remaining_changed.connect(self.sidebar.set_review_count)
        self.photo_view.open_person.connect(lambda pid: self.navigate(Page("person", pid)))
        self.photo_view.back_requested.connect(self.go_back)
        self.show_hidden_action.toggled.connect(self.people_view.set_show_hidden)
        self.people_view.show_hidden.toggled.connect(self.show_hidden_action.setChecked)

    def _add_folder_panel(self, panel: FoldersPanel) -> None:
        panel.add_requested.connect(self.add_folder_dialog)
        panel.remove_requested.connect(self.remove_folder)
        panel.rescan_requested.connect(self.rescan)
        panel.set_folders(self.folders)
        self.folder_panels.append(panel)
        panel.destroyed.connect(lambda *_: self.folder_panels.remove(panel) if panel in self.folder_panels else None)

    def _after_first_screen(self, waited_ms: int = 0) -> None:
        """The rest of the start-up loads (every card beyond the People view's first page, the other
        covers, the review questions), once the People view shows its first cards with their faces (or
        after a second): nothing competes with the first screen."""
        if self.shut_down:  # closed while the first screen loaded
            return
        busy = self.people_view.first_covers_pending or not self.ctx.card_thumbs.idle
        if busy and waited_ms < 1000:
            QTimer.singleShot(20, lambda: self._after_first_screen(waited_ms + 20))
            return
        settle_memory()
        self.people_view.load_remaining_covers()
        self.ctx.start()
        self.refresh_folders()
        self.review_view.load()

    # -- navigation ---------------------------------------------------------------------------------
    def navigate(self, page: Page, *, remember: bool = True) -> None:
        """Show a page; the current one goes on the Back history."""
        if page == self.page:
            return
        if remember and self.page is not None:
            self.history.append(self.page)
            del self.history[:-50]
        self.page = page
        if page.kind == "people":
            self.stack.setCurrentWidget(self.people_view)
            self.people_view.grid.setFocus()
        elif page.kind == "person" and page.arg is not None:
            self.person_view.show_person(page.arg)
            self.stack.setCurrentWidget(self.person_view)
            self.person_view.grid.setFocus()
        elif page.kind == "photo" and page.arg is not None:
            self.photo_view.show_photo(page.arg, page.face)
            self.stack.setCurrentWidget(self.photo_view)
            self.photo_view.canvas.setFocus()
        elif page.kind == "photos" and page.people:
            self.photos_view.show_people(page.people)
            self.stack.setCurrentWidget(self.photos_view)
            self.photos_view.grid.setFocus()
        elif page.kind == "review":
            self.stack.setCurrentWidget(self.review_view)
            self.review_view.setFocus()
        elif page.kind in ("unknown", "suggested", "check", "ignored"):
            self.faces_view.set_mode(page.kind)
            self.stack.setCurrentWidget(self.faces_view)
            self.faces_view.grid.setFocus()
        self.sidebar.select(page.kind if page.kind in SIDEBAR_KINDS else None)
        # A view's menu acts on that view only: elsewhere it would act on a hidden selection.
        self.people_menu.menuAction().setEnabled(page.kind == "people")
        self.faces_menu.menuAction().setEnabled(page.kind == "person")
        self.review_menu.menuAction().setEnabled(page.kind == "review")
        self.back_action.setEnabled(bool(self.history))
        if page.kind in SIDEBAR_KINDS:
            self.qsettings.setValue("view", page.kind)
            self.qsettings.setValue("viewLibrary", self.ctx.library.location.display)

    def _faces_mode_chosen(self, mode: str) -> None:
        """A mode button of the faces view: the sidebar follows (a mode it lists is a page of its own)."""
        if mode in SIDEBAR_KINDS:
            self.navigate(Page(mode))
        else:
            self.sidebar.select(None)

    def find_person(self) -> None:
        self.navigate(Page("people"))
        self.people_view.focus_filter()

    def go_back(self) -> None:
        if self.history:
            self.navigate(self.history.pop(), remember=False)
        elif self.page is not None and self.page.kind != "people":
            self.navigate(Page("people"), remember=False)

    def _person_gone(self, person_id: int, joined: int, label: str) -> None:
        """The person on screen is gone: show the one they joined (a merge), else go back saying why."""
        if self.page != Page("person", person_id):
            return
        self.history = [p for p in self.history if p != Page("person", person_id)]
        if joined:
            self.navigate(Page("person", joined), remember=False)  # in its place: Back goes where the user came from
            return
        self.statusBar().showMessage(f"{label}: no faces are left in that group." if label else
                                     "That person is gone (merged or removed).", 6000)
        self.go_back()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and \
                self.page is not None and self.page.kind in ("person", "photo", "photos"):
            self.go_back()
            return
        super().keyPressEvent(event)

    # -- undo, redo, changes ------------------------------------------------------------------------
    def _set_undo_labels(self, undo: str | None, redo: str | None) -> None:
        self.undo_action.setEnabled(undo is not None)
        self.redo_action.setEnabled(redo is not None)
        self.undo_action.setText(f"&Undo {undo}" if undo else "&Undo")
        self.redo_action.setText(f"&Redo {redo}" if redo else "&Redo")
        set_tip(self.undo_action, f"Undo {undo}" if undo else "Nothing to undo")
        set_tip(self.redo_action, f"Redo {redo}" if redo else "Nothing to redo")

    def _on_changed(self, changes: ChangeSet) -> None:
        self.refresh_status()

    def show_error(self, title: str, exc: BaseException) -> None:
        show_error(self, title, exc)

    # -- folders and scanning -----------------------------------------------------------------------
    def refresh_folders(self) -> None:
        def done(folders: list[FolderInfo]) -> None:
            self.folders = folders
            for panel in self.folder_panels:
                panel.set_folders(folders)
            self.refresh_status()

        self.ctx.query(list_folders, on_done=done, owner=self)

    def refresh_status(self) -> None:
        from faceorg.store.stats import library_status

        def done(status: dict[str, int | str]) -> None:
            self.status_text.setText(f"{int(status['photos']):,} photos · {int(status['faces']):,} faces · "
                                     f"{int(status['people']):,} people")

        self.ctx.query(library_status, on_done=done, owner=self)

    def add_folder_dialog(self) -> None:
        path = choose_folder(self, "Add a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str, *, scan: bool = True) -> None:
        """Add a folder to the library, then scan."""
        def done(result: tuple[FolderInfo, bool]) -> None:
            info, new = result
            text = f"Added {display_path(info.path)}" if new else f"{display_path(info.path)} is already in the library"
            self.statusBar().showMessage(text, 6000)
            self.refresh_folders()
            if scan:
                self.rescan()

        self.ctx.ops.submit(add_folder, self.ctx.library, path, on_done=done,
                            on_error=lambda exc: self.show_error("Could not add the folder", exc))

    def remove_folder(self, path: str) -> None:
        text = (
            f"Remove {display_path(path)} from the library?\n\nThe photos stay on disk, but the faces found in them "
            "and the names you gave them are forgotten. This cannot be undone."
        )
        if not confirm(self, "Remove folder", text, "Remove"):
            return

        def done(_report: FolderRemovalReport) -> None:
            self.refresh_folders()
            self.reload_views()

        self.ctx.ops.submit(
            remove_folder_job,
            self.ctx.library,
            path,
            on_done=done,
            on_error=lambda exc: self.show_error("Could not remove the folder", exc),
        )

    def refresh(self) -> None:
        """Show the library as it is now (a shared library: with the changes other people made); the
        user's next changes are checked against what this shows."""
        self.ctx.mark_seen(on_done=self.reload_views)

    def reload_views(self) -> None:
        """Reload every view (after a change no change record describes, such as removing a folder)."""
        self.people_view.load()
        self.review_view.load()
        if self.faces_view.loaded_mode is not None:
            self.faces_view.load()
        if self.page is not None and self.page.kind == "person" and self.page.arg is not None:
            self.person_view.show_person(self.page.arg)
        self.ctx.refresh_names()
        self.refresh_status()

    def rescan(self, *, with_faces: bool = True) -> None:
        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return
        title = SCAN_TITLE if with_faces else "Scanning (without faces)"

        def done(report: ScanReport) -> None:
            self.statusBar().showMessage(report.one_line(), 15000)
            self.ctx.scanned.emit(report.scan)
            self.refresh_folders()
            if report.grouping is not None:
                self.ctx.publish(report.grouping)

        self.ctx.jobs.start(title, lambda progress: scan_job(self.ctx.library, with_faces, progress), on_done=done)

    def group_faces(self, *, automatic: bool = False) -> None:
        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return

        def done(changes: ChangeSet) -> None:
            self.ctx.publish(changes)

        self.learning.regroup_button.hide()  # offered after learning; this is it
        title = GROUP_TITLE + (" (after the scan)" if automatic else "")
        self.ctx.jobs.start(title, lambda progress: group_job(self.ctx.library, progress), on_done=done)

    def _job_ended(self, title: str, outcome: str) -> None:
        self._update_job_actions()
        if outcome == "cancelled":
            self.statusBar().showMessage(f"{title}: cancelled; the work done so far is kept", 8000)

    def _update_job_actions(self) -> None:
        running = self.ctx.jobs.running
        for a in (self.rescan_action, self.group_action, self.import_xmp_action, self.export_xmp_action):
            a.setEnabled(not running)
        self.retrain_action.setEnabled(not running)  # the quick depth runs everywhere (the dialog greys the rest)
        self.go_back_action.setEnabled(not running)
        self.mirror_action.setEnabled(not running)

    def improve_recognition(self) -> None:
        """Ask how deep to retrain, run it as a job (progress, Cancel), then show before and after."""
        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return
        dialog = RetrainDialog(self)
        self.retrain_dialog = dialog

        def chosen(result: int) -> None:
            self.retrain_dialog = None
            dialog.deleteLater()
            if result == RetrainDialog.DialogCode.Accepted:
                self._start_retrain(dialog.chosen_depth, dialog.dry_run)

        dialog.finished.connect(chosen)
        dialog.open()

    def _start_retrain(self, depth: str, dry_run: bool) -> None:
        def done(job: RetrainJobReport) -> None:
            report = job.retrain
            self.retrain_report = show_report(self, report)
            if report.accepted and not report.dry_run:
                self.reload_views()  # every face was re-embedded and regrouped

        title = "Checking a retrained model" if dry_run else "Improving recognition"
        self.ctx.jobs.start(
            title, lambda progress: retrain_job(self.ctx.library, depth, dry_run, progress), on_done=done
        )

    def go_back_to_previous_model(self) -> None:
        """Ask, then go back to the version the active one was trained from, as a job."""
        from faceorg.errors import FaceorgError
        from faceorg.retrain.install import previous_version
        from faceorg.versions.records import active_version

        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return
        try:
            previous = previous_version(self.ctx.library)
        except FaceorgError as exc:
            self.statusBar().showMessage(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 8000)
            return
        current = active_version(self.ctx.library)

        def done(changes: ChangeSet) -> None:
            self.statusBar().showMessage(f"{changes.label}: {len(changes.faces_changed)} faces regrouped; everything "
                                         "you decided is kept.", 15000)
            self.reload_views()

        def go() -> None:
            self.ctx.jobs.start(GO_BACK_TITLE, lambda progress: go_back_job(self.ctx.library, progress), on_done=done)

        self.go_back_box = confirm_go_back(self, previous.name, current.name if current else "", go)

    def update_face_matching(self) -> None:
        """Ask, then move a library made before the mirror-averaging recipe to it, as a job."""
        from faceorg.versions.records import active_version, averages_mirror

        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return
        current = active_version(self.ctx.library)
        if current is None or averages_mirror(current):
            self.statusBar().showMessage("Face matching is up to date." if current else
                                         "No faces have been analysed yet: add a folder first.", 8000)
            return

        def done(changes: ChangeSet) -> None:
            self.statusBar().showMessage(f"{changes.label}: {len(changes.faces_changed)} faces regrouped; everything "
                                         "you decided is kept.", 15000)
            self.reload_views()

        def go() -> None:
            self.ctx.jobs.start(MIRROR_TITLE, lambda progress: mirror_job(self.ctx.library, progress), on_done=done)

        self.mirror_box = confirm_mirror(self, go)

    # -- XMP ----------------------------------------------------------------------------------------
    def _xmp_busy(self) -> bool:
        if self.ctx.jobs.running:
            self.statusBar().showMessage(f"{self.ctx.jobs.title} is still running", 4000)
            return True
        return self.xmp_dialog is not None

    def import_xmp(self) -> None:
        """Ask, then import face names from XMP as a job (progress, Cancel) and show the summary."""
        if self._xmp_busy():
            return
        dialog = XmpImportDialog(self)
        self.xmp_dialog = dialog

        def chosen(result: int) -> None:
            self.xmp_dialog = None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted:
                self._start_xmp_import(dialog.preview.isChecked())

        dialog.finished.connect(chosen)
        dialog.open()

    def _start_xmp_import(self, dry_run: bool) -> None:
        def done(report: XmpImportReport) -> None:
            self.ctx.publish(report.changes)
            self.xmp_report = show_summary(self, "Import Face Names from XMP", *import_summary(report))

        def run(progress: Progress) -> XmpImportReport:
            from faceorg.jobs.xmp_job import import_xmp

            return import_xmp(self.ctx.library, progress, dry_run=dry_run)

        self.ctx.jobs.start("Importing face names from XMP", run, on_done=done)

    def export_xmp(self) -> None:
        """Ask which people and how, then write their names to XMP sidecars as a job and show the summary."""
        if self._xmp_busy():
            return
        from faceorg.people.queries import list_people

        def people(library: Library) -> list[tuple[int, str]]:
            return sorted(((p.id, p.name) for p in list_people(library, include_hidden=True) if p.name),
                          key=lambda p: p[1].casefold())

        self.ctx.query(people, on_done=self._show_export_dialog, owner=self)

    def _show_export_dialog(self, people: list[tuple[int, str]]) -> None:
        dialog = XmpExportDialog(people, self)
        self.xmp_dialog = dialog

        def chosen(result: int) -> None:
            self.xmp_dialog = None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted:
                self._start_xmp_export(dialog.person_ids, dialog.naming, dialog.unconfirmed.isChecked(),
                                       dialog.preview.isChecked())

        dialog.finished.connect(chosen)
        dialog.open()

    def _start_xmp_export(self, person_ids: list[int], naming: str, unconfirmed: bool, dry_run: bool) -> None:
        def done(report: XmpExportReport) -> None:
            self.xmp_report = show_summary(self, "Write Face Names to XMP", *export_summary(report))

        def run(progress: Progress) -> XmpExportReport:
            from faceorg.jobs.xmp_job import export_xmp

            return export_xmp(self.ctx.library, progress, person_ids=person_ids,
                              naming="xmp" if naming == "xmp" else "jpg.xmp", dry_run=dry_run,
                              include_automatic=unconfirmed)

        self.ctx.jobs.start("Writing face names to XMP", run, on_done=done)

    def _job_failed(self, title: str, exc: BaseException) -> None:
        if isinstance(exc, ModelsMissingError):
            self._offer_catalogue_scan(exc)
        else:
            self.show_error(f"{title} failed", exc)

    def _offer_catalogue_scan(self, exc: BaseException) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Face models missing",
            f"{str(exc)[:1].upper()}{str(exc)[1:]}.\n\nYou can still scan the photos now (faces are "
            "looked for in a later scan, once the models are installed).",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("modelsMissingBox")
        scan_button = box.addButton("Scan Without Faces", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(scan_button)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def chosen() -> None:
            if box.clickedButton() is scan_button:
                self.rescan(with_faces=False)

        box.finished.connect(lambda _r: chosen())
        box.open()

    # -- settings -----------------------------------------------------------------------------------
    def open_settings(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return
        self.ctx.query(load_settings, on_done=self._show_settings, owner=self)

    def _show_settings(self, settings: Settings) -> None:
        dialog = SettingsDialog(settings, self)
        self.settings_dialog = dialog
        self._add_folder_panel(dialog.folders)
        self.ctx.queries.submit(describe_providers, settings.use_gpu, on_done=dialog.set_provider_text, owner=dialog)

        def finished(result: int) -> None:
            self.settings_dialog = None
            if result == SettingsDialog.DialogCode.Accepted:
                edited = dialog.result_settings()
                if edited != settings:
                    self.ctx.ops.submit(
                        save_settings,
                        self.ctx.library,
                        edited,
                        on_done=lambda _s: self.statusBar().showMessage(saved_message(settings, edited), 10000),
                        on_error=lambda exc: self.show_error("Could not save the settings", exc),
                    )
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About faceorg",
            f"<b>faceorg {__version__}</b><p>Organize your photo library by the people in it, "
            + ("in a library shared on your PostgreSQL server.</p>" if self.ctx.library.is_server else
               "on your own computer. Nothing leaves your machine.</p>")
            + f"<p>Library: {html.escape(self.ctx.library.display)}</p>",
        )

    # -- window state -------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.qsettings.value("geometry", QByteArray())
        self._place_window(read_saved_geometry(geometry) if isinstance(geometry, QByteArray) else None)
        state = self.qsettings.value("windowState", QByteArray())
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        sizes = self.qsettings.value("splitter", QByteArray())
        if isinstance(sizes, QByteArray) and not sizes.isEmpty():
            self.splitter.restoreState(sizes)

    def _place_window(self, saved: SavedGeometry | None) -> None:
        """A new window at a size that suits its screen; a saved one where it was, moved onto a screen there is
        today and clamped to it, maximized again if it was."""
        screens = QGuiApplication.screens()
        areas = [s.availableGeometry() for s in screens]
        minimum = self.minimumSizeHint().expandedTo(self.minimumSize())
        if saved is None:
            self.setGeometry(default_rect(self.screen().availableGeometry(), minimum))
            return
        index = best_screen_area(saved.frame if saved.maximized else saved.normal, areas)
        area = areas[index] if index is not None else self.screen().availableGeometry()
        self.setGeometry(fit_rect(saved.normal, area, minimum, saved.frame_margins()))  # unchanged where it fits
        if saved.maximized or saved.full_screen:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def save_state(self) -> None:
        self.qsettings.setValue("geometry", self.saveGeometry())
        self.qsettings.setValue("windowState", self.saveState())
        self.qsettings.setValue("splitter", self.splitter.saveState())
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.shut_down = True
        self.ctx.shutdown()
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()
