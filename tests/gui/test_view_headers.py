"""The headers of the Person, Photos and Photo pages: the back button and the title do not touch."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from tests.gui.conftest import wait_idle
from tests.gui.main_helpers import open_photo
from tests.gui.scenario import Scenario


def gap(left: QWidget, right: QWidget) -> int:
    """Pixels between ``left``'s right edge and ``right``'s left edge, in their shared parent."""
    a, b = QRect(left.mapTo(left.window(), left.rect().topLeft()), left.size()), \
        QRect(right.mapTo(right.window(), right.rect().topLeft()), right.size())
    return b.left() - a.right() - 1


def test_the_back_button_and_the_title_have_room_between_them(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    """The header row sat in a column laid out without spacing and took its zero spacing: the title's
    first letter touched the back button."""
    from faceorg.gui.main_window import Page

    window.navigate(Page("person", scenario.people["bush"]))
    wait_idle(qtbot, window)
    QApplication.processEvents()
    person = window.person_view
    assert person.title.text() and gap(person.back_button, person.title) >= 4
    window.navigate(Page("photos", people=(scenario.people["bush"],)))
    wait_idle(qtbot, window)
    QApplication.processEvents()
    photos = window.photos_view
    assert gap(photos.back_button, photos.title) >= 4
    photo = open_photo(window, qtbot, scenario.group_photo)
    QApplication.processEvents()
    assert photo.title.text() and gap(photo.back_button, photo.title) >= 4
