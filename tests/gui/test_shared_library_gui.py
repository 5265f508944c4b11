"""The app on a library someone else changes at the same time: View → Refresh (Ctrl+Shift+R) shows their change,
and a change of the same person refused as a conflict says so and refreshes the views by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from faceorg.people import ops
from faceorg.store import Library, open_library
from faceorg.store.models import Person
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.libgen import two_groups_library


@pytest.fixture()
def shared(qtbot, db_location: Path | str, qsettings: QSettings) -> Iterator[tuple[object, Library, int]]:  # type: ignore[no-untyped-def]
    """Ann's window and Bob's client on one library (unnamed groups a and b); yields (window, bob, a)."""
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow

    ann, _ = two_groups_library(db_location)
    ann.client = "ann@laptop"
    bob = open_library(db_location)
    bob.client = "bob@desktop"
    with ann.session() as s:
        a = min(s.scalars(Person.__table__.select().with_only_columns(Person.id)))
    make_application()
    win = MainWindow(ann, qsettings)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitUntil(lambda: win.people_view.loaded and win.ctx.idle, timeout=WAIT_MS)
    yield win, bob, a
    win.close()
    bob.close()
    ann.close()


def _names(win) -> set[str | None]:  # type: ignore[no-untyped-def]
    return {c.name for c in win.people_view.model.cards()}


def test_refresh_shows_the_other_clients_change(qtbot, shared) -> None:  # type: ignore[no-untyped-def]
    win, bob, a = shared
    assert win.windowTitle().startswith(win.ctx.library.location.name)
    ops.name_person(bob, a, "Bea")
    assert "Bea" not in _names(win)  # nothing polls: the window shows what it loaded
    win.refresh_action.trigger()
    wait_idle(qtbot, win)
    assert "Bea" in _names(win)
    key = win.refresh_action.shortcut()
    assert key.toString() == "Ctrl+Shift+R"
    same = [a.text() for a in win.findChildren(QAction) if key in a.shortcuts()]
    assert same == [win.refresh_action.text()], same  # no other action claims the key


def test_a_conflict_is_explained_and_the_views_refresh(qtbot, shared) -> None:  # type: ignore[no-untyped-def]
    win, bob, a = shared
    ops.name_person(bob, a, "Bea")  # Ann has not refreshed
    win.ctx.run_op(ops.name_person, a, "Ada")
    wait_idle(qtbot, win)
    box = win.findChild(QMessageBox, "errorBox")
    assert box is not None and box.isVisible()
    assert "bob@desktop changed person" in box.text().lower() and "refresh" in box.text()
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: "Bea" in _names(win), timeout=WAIT_MS)  # refreshed by itself: Bob's name shows
    with bob.session() as s:
        assert s.get(Person, a).name == "Bea"  # Bob's decision stands
    win.ctx.run_op(ops.name_person, a, "Ada")  # now Ann decides knowing Bob's name
    wait_idle(qtbot, win)
    assert "Ada" in _names(win)
