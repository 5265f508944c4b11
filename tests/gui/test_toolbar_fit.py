"""The views' toolbars in a narrow window (1024 px and up): nothing is cut or pushed into the » menu. The
count shortens first (its full text in the tooltip), then the least needed buttons show their icon only."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel, QToolBar, QToolButton

from tests.gui.conftest import wait_for, wait_idle
from tests.gui.synthetic import generate_library


@pytest.fixture()
def many_people(tmp_path: Path) -> Path:
    """1,200 people (150 named) and some unknown faces: a count as long as a real library's."""
    db = tmp_path / "many.sqlite"
    generate_library(db, n_faces=2600, n_people=1200, named=150, unassigned=40, seed=5)
    return db


@pytest.fixture()
def big_window(qtbot, many_people: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow
    from faceorg.store import open_library

    make_application()
    library = open_library(many_people)
    win = MainWindow(library, QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1600, 800)
    win.show()
    wait_for(qtbot, win, lambda: win.people_view.complete and win.review_view.loaded and win.ctx.idle)
    yield win
    win.close()
    library.close()


def resize(qtbot, win, width: int) -> None:  # type: ignore[no-untyped-def]
    win.resize(width, 800)
    qtbot.waitUntil(lambda: win.width() == width, timeout=3000)
    for _ in range(3):  # the layout settles (a button's new style asks for one more pass)
        QApplication.processEvents()


def buttons(bar: QToolBar) -> list[QToolButton]:
    return [b for a in bar.actions() if isinstance(b := bar.widgetForAction(a), QToolButton)]


def assert_fits(bar: QToolBar) -> None:
    """Every item of ``bar`` is on it (none in the » menu), inside it, and none overlaps another; a label
    shows its text uncut."""
    inside = QRect(0, 0, bar.width(), bar.height())
    placed: list[tuple[str, QRect]] = []
    for action in bar.actions():
        widget = bar.widgetForAction(action)
        if widget is None or not action.isVisible():
            continue
        name = action.text() or widget.objectName() or type(widget).__name__
        assert widget.isVisible(), f"{name!r} went into the » menu of {bar.objectName()} ({bar.width()} px)"
        geometry = widget.geometry()
        assert inside.contains(geometry), (name, geometry, inside)
        assert not any(geometry.intersects(g) for _n, g in placed), (name, geometry, placed)
        placed.append((name, geometry))
        if isinstance(widget, QLabel):
            assert widget.fontMetrics().horizontalAdvance(widget.text()) <= widget.contentsRect().width()


def test_people_toolbar_fits_from_1024_px_and_the_count_keeps_its_full_text(  # type: ignore[no-untyped-def]
        big_window, qtbot) -> None:
    view = big_window.people_view
    label, bar = view.count_label, view.toolbar
    full = "1,200 people, 150 named"
    assert label.text() == full and label.toolTip() == ""  # a wide window: all of it, every button's text
    assert all(b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon for b in buttons(bar))
    assert_fits(bar)
    for width in (1200, 1024):
        resize(qtbot, big_window, width)
        assert_fits(bar)
        assert label.text() in (full, "1,200 people")  # a whole wording, never a cut number
        assert label.text() == full or label.toolTip() == full
    resize(qtbot, big_window, 1024)
    assert label.text() == "1,200 people" and label.toolTip() == full
    resize(qtbot, big_window, 1600)
    assert label.text() == full and label.toolTip() == ""
    assert all(b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon for b in buttons(bar))


def test_person_and_unknown_faces_toolbars_fit_at_1024_px(big_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.main_window import Page

    resize(qtbot, big_window, 1024)
    person = big_window.people_view.model.card_at(0).id
    big_window.navigate(Page("person", arg=person))
    wait_idle(qtbot, big_window)
    QApplication.processEvents()
    assert_fits(big_window.person_view.toolbar)
    assert big_window.person_view.confirm_action.isVisible()
    big_window.navigate(Page("unknown"))
    wait_idle(qtbot, big_window)
    QApplication.processEvents()
    faces = big_window.faces_view
    assert_fits(faces.toolbar)
    assert faces.count_label.text() == "40 faces"
    # Look-Alikes First brings the Usual Order button: the bar makes room for it at once.
    faces.grid.select_ids(faces.grid.faces.ids[:1])
    faces.like_action.trigger()
    wait_idle(qtbot, big_window)
    QApplication.processEvents()
    assert faces.usual_order_action.isVisible()
    assert_fits(faces.toolbar)
    resize(qtbot, big_window, 1280)
    assert_fits(faces.toolbar)
