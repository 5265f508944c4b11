"""The Photos view: photos of one person or of several together, thumbnails off the GUI thread, open,
system viewer, copy to a folder (real faces scanned with the real models, a real window)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QSettings, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest

from faceorg.store import open_library
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.photoslib import PhotosLibrary, build


@pytest.fixture(scope="module")
def built(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PhotosLibrary:
    os.environ.setdefault("FACEORG_MODELS_DIR", str(models_dir))
    return build(shared_data, tmp_path_factory.mktemp("photos-gui"))


@pytest.fixture()
def photos_window(qtbot, built: PhotosLibrary, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def]
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow

    db = tmp_path / "lib.sqlite"
    shutil.copy(built.db, db)
    make_application()
    library = open_library(db)
    win = MainWindow(library, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(lambda: win.people_view.loaded and win.ctx.idle, timeout=WAIT_MS)
    yield win
    win.close()
    library.close()


def shown_names(win) -> list[str]:  # type: ignore[no-untyped-def]
    model = win.photos_view.grid.photos
    return [Path(model.item_at(r).path).name for r in range(model.rowCount())]


def test_photos_of_two_people_together_from_the_people_view(qtbot, photos_window, built: PhotosLibrary) -> None:  # type: ignore[no-untyped-def]
    win = photos_window
    people = win.people_view
    people.select_ids([built.person_ids["Ann"], built.person_ids["Ben"]])
    assert people.photos_action.isEnabled() and people.photos_action.text() == "Show &Photos with Them"
    people.photos_action.trigger()
    wait_idle(qtbot, win)
    assert win.stack.currentWidget() is win.photos_view
    assert shown_names(win) == built.photos_with("Ann", "Ben")
    assert win.photos_view.title.text() == "Photos with Ann and Ben"
    assert win.photos_view.subtitle.text().startswith("3 photos together")
    # Thumbnails were decoded off the GUI thread from the photo files, into the cache.
    grid = win.photos_view.grid
    thumbs = [win.ctx.photo_thumbs.get(pid) for pid in grid.photos.ids]
    wait_idle(qtbot, win)
    thumbs = [win.ctx.photo_thumbs.get(pid) for pid in grid.photos.ids]
    assert all(t is not None and t.width() >= 150 for t in thumbs)
    # Whole photos, not cropped: the three-people photo (900x400) lies in its square with empty bands.
    wide = thumbs[0]
    assert shown_names(win)[0] == "group_3.jpg" and wide is not None
    assert wide.pixelColor(wide.width() // 2, 2).alpha() == 0
    assert wide.pixelColor(2, wide.height() // 2).alpha() == 255
    # Enter opens the current photo; Back returns to the same list.
    grid.setCurrentIndex(grid.photos.index(1))
    QTest.keyClick(grid, Qt.Key.Key_Return)
    wait_idle(qtbot, win)
    assert win.stack.currentWidget() is win.photo_view
    assert win.photo_view.photo_id == built.photo_ids[built.photos_with("Ann", "Ben")[1]]
    win.go_back()
    assert win.stack.currentWidget() is win.photos_view and grid.currentIndex().row() == 1


def test_photos_of_one_person_from_the_person_view(qtbot, photos_window, built: PhotosLibrary) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.main_window import Page

    win = photos_window
    win.navigate(Page("person", built.person_ids["Cleo"]))
    wait_idle(qtbot, win)
    win.person_view.photos_action.trigger()
    wait_idle(qtbot, win)
    assert shown_names(win) == built.photos_with("Cleo")
    assert win.photos_view.title.text() == "Photos of Cleo"
    win.photos_view.oldest_action.trigger()
    wait_idle(qtbot, win)
    assert shown_names(win) == list(reversed(built.photos_with("Cleo")))


class UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_in_system_viewer_and_copy_selected(qtbot, photos_window, built: PhotosLibrary,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    win = photos_window
    win.people_view.select_ids([built.person_ids["Ben"]])
    win.people_view.photos_action.trigger()
    wait_idle(qtbot, win)
    view = win.photos_view
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        view.grid.setCurrentIndex(view.grid.photos.index(0))
        view.viewer_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(built.folder / built.photos_with("Ben")[0])]

    view.grid.selectAll()
    assert view.copy_action.isEnabled() and view.copy_action.text() == "&Copy 5 photos to Folder…"
    dest = tmp_path / "copies"
    assert view.copy_to(view.grid.selected_ids(), str(dest))
    wait_idle(qtbot, win)
    qtbot.waitUntil(lambda: view.last_copy is not None, timeout=WAIT_MS)
    assert sorted(p.name for p in dest.iterdir()) == sorted(built.photos_with("Ben"))
    assert view.last_copy.one_line().startswith("Copied 5 photos to ")
