"""The sidebar: a click on its highlighted entry from a person's or a photo's page goes to that list."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import wait_idle
from tests.gui.main_helpers import open_photo
from tests.gui.scenario import Scenario


def click_entry(win, qtbot, key: str) -> None:  # type: ignore[no-untyped-def]
    views = win.sidebar.views
    row = next(i for i in range(views.count()) if views.item(i).data(Qt.ItemDataRole.UserRole) == key)
    pos = views.visualItemRect(views.item(row)).center()
    qtbot.mouseClick(views.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    wait_idle(qtbot, win)


def test_clicking_the_highlighted_entry_goes_back_to_its_list(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    """On a person's or a photo's page the sidebar keeps "People" highlighted; clicking it did nothing (the
    entry was already the current one), so the way back looked broken."""
    from faceorg.gui.main_window import Page

    window.navigate(Page("people"))
    window.navigate(Page("person", scenario.people["bush"]))
    wait_idle(qtbot, window)
    assert window.stack.currentWidget() is window.person_view
    click_entry(window, qtbot, "people")
    assert window.stack.currentWidget() is window.people_view
    click_entry(window, qtbot, "review")
    open_photo(window, qtbot, scenario.group_photo)  # from Review: "Review" stays highlighted
    click_entry(window, qtbot, "review")
    assert window.stack.currentWidget() is window.review_view
    click_entry(window, qtbot, "review")  # once more on the page shown: nothing changes
    assert window.stack.currentWidget() is window.review_view
