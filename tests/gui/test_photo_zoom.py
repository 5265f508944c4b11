"""Zoom and pan in the Photo view on a real 12 MP photo (scanned with the real models): wheel around the
pointer, keys, drag, 100% from a full-size decode, face boxes that follow."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from faceorg.store import open_library
from tests.gui.conftest import WAIT_MS, wait_idle

BIG = (4000, 3000)  # 12 MP


@pytest.fixture(scope="module")
def big_photo_db(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding one 12 MP photo with a real face (an LFW photo enlarged into a corner)."""
    from PIL import Image

    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.store.folders import add_folder

    os.environ.setdefault("FACEORG_MODELS_DIR", str(models_dir))
    root = tmp_path_factory.mktemp("zoom")
    folder = root / "photos"
    folder.mkdir()
    src = sorted((shared_data / "lfw" / "images" / "Tony_Blair").glob("*.jpg"))[0]
    img = Image.new("RGB", BIG, (90, 120, 150))
    for x in range(0, BIG[0], 200):  # detail to look at when zoomed in
        img.paste((200, 200, 200), (x, 0, x + 4, BIG[1]))
    with Image.open(src) as face:
        img.paste(face.convert("RGB").resize((1000, 1000)), (2600, 300))
    img.save(folder / "big.jpg", "JPEG", quality=90)
    db = root / "zoom.sqlite"
    with open_library(db) as lib:
        add_folder(lib, folder)
        scan_library(lib, analyzer=analyzer_for_library(lib))
    return db


@pytest.fixture()
def photo_window(qtbot, big_photo_db: Path, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def]
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow, Page
    from faceorg.gui.zoom import clear_full_cache

    clear_full_cache()
    db = tmp_path / "lib.sqlite"
    shutil.copy(big_photo_db, db)
    make_application()
    library = open_library(db)
    win = MainWindow(library, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(lambda: win.people_view.loaded and win.ctx.idle, timeout=WAIT_MS)
    win.navigate(Page("photo", 1))
    wait_idle(qtbot, win)
    yield win
    win.close()
    library.close()


def wheel(widget, pos: QPointF, notches: int, *, pixels: QPoint | None = None) -> None:  # type: ignore[no-untyped-def]
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), pixels or QPoint(),
                        QPoint(0, 120 * notches) if pixels is None else QPoint(), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_fitted_then_100_percent_from_a_full_size_decode(qtbot, photo_window) -> None:  # type: ignore[no-untyped-def]
    view = photo_window.photo_view
    canvas = view.canvas
    assert canvas.image is not None and canvas.image.width() <= 2560  # the on-screen copy is reduced
    fitted = canvas.image_rect()
    assert fitted.width() < canvas.width() and view.zoom_control.percent() < 100
    assert view.zoom_bar.label.text() == f"{view.zoom_control.percent()}%"
    assert not view.zoom_bar.buttons["zoomFit"].isEnabled()
    QTest.keyClick(canvas, Qt.Key.Key_1)
    wait_idle(qtbot, photo_window)
    assert view.zoom_control.percent() == 100 and view.zoom_bar.label.text() == "100%"
    assert canvas.image_rect().width() == pytest.approx(BIG[0])
    assert canvas.image.width() == BIG[0] and canvas.image.height() == BIG[1]  # decoded once at full size
    assert view.zoom_bar.buttons["zoomFit"].isEnabled()
    QTest.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.image_rect() == fitted and canvas.zoom.fit


def test_wheel_zooms_around_the_pointer_and_boxes_follow(qtbot, photo_window) -> None:  # type: ignore[no-untyped-def]
    view = photo_window.photo_view
    canvas = view.canvas
    face = view.photo.faces[0]
    box = canvas.box_rect(face)
    at = box.center()
    under = canvas.zoom.to_photo(at)
    wheel(canvas, at, 3)
    wait_idle(qtbot, photo_window)
    assert not canvas.zoom.fit and view.zoom_control.percent() > 25
    after = canvas.zoom.to_photo(at)
    assert after.x() == pytest.approx(under.x(), abs=1) and after.y() == pytest.approx(under.y(), abs=1)
    grown = canvas.box_rect(face)
    assert grown.width() == pytest.approx(box.width() * 1.25 ** 3, rel=0.01)
    assert grown.contains(at)
    # Clicking the box at this zoom still picks the face (and opens the name editor under it).
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=grown.center().toPoint())
    assert canvas.selected == face.id and view.name_edit.isVisible()
    # Zooming hides the editor, which would float away from its box.
    wheel(canvas, at, -1)
    assert not view.name_edit.isVisible()


def test_drag_keys_and_touchpad_pan_within_the_photo(qtbot, photo_window) -> None:  # type: ignore[no-untyped-def]
    view = photo_window.photo_view
    canvas = view.canvas
    view.zoom_control.actual_pixels()
    start = canvas.image_rect()
    middle = QPoint(canvas.width() // 2, canvas.height() // 2)
    QTest.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=middle)
    QTest.mouseMove(canvas, middle + QPoint(120, 80))
    QTest.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=middle + QPoint(120, 80))
    moved = canvas.image_rect()
    assert moved.left() - start.left() == pytest.approx(120) and moved.top() - start.top() == pytest.approx(80)
    QTest.keyClick(canvas, Qt.Key.Key_Down)
    assert canvas.image_rect().top() < moved.top()
    wheel(canvas, QPointF(middle), 0, pixels=QPoint(-30, 0))  # a touchpad scroll pans, it does not zoom
    assert view.zoom_control.percent() == 100 and canvas.image_rect().left() < moved.left()
    # The photo never leaves the view: panning far stops at its edge.
    for _ in range(60):
        QTest.keyClick(canvas, Qt.Key.Key_Up)
    assert canvas.image_rect().top() == pytest.approx(0)
    # Left/Right still go from face to face.
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    assert canvas.selected == view.photo.faces[0].id


def test_a_left_drag_draws_a_face_even_zoomed_in(qtbot, photo_window) -> None:  # type: ignore[no-untyped-def]
    """Zoomed in, a left drag on the photo draws a box (in the full-size photo's pixels), and the photo stays
    where it is, then and afterwards; the middle button is the one that pans."""
    from PySide6.QtCore import QRectF

    view = photo_window.photo_view
    canvas = view.canvas
    view.zoom_control.actual_pixels()
    wait_idle(qtbot, photo_window)
    before = canvas.image_rect()
    a, b = QPoint(100, 100), QPoint(300, 260)  # the middle of the photo: no face there
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    for k in range(1, 6):
        QTest.mouseMove(canvas, a + (b - a) * k / 5)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    assert view.drawing.name_edit.isVisible() and canvas.image_rect() == before
    x, y, w, h = canvas.widget_to_photo(QRectF(QPointF(a), QPointF(b)))
    assert (w, h) == (pytest.approx(200), pytest.approx(160))  # 100%: a screen pixel is a photo pixel
    assert x == pytest.approx(before.width() / 2 - (before.center().x() - 100), abs=1)
    QTest.keyClick(view.drawing.name_edit, Qt.Key.Key_Escape)
    QTest.mouseMove(canvas, QPoint(500, 400))  # no button down: nothing pans
    assert canvas.image_rect() == before
