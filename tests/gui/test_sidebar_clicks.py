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


def test_the_highlighted_entrys_icon_stands_out_on_the_highlight(window) -> None:  # type: ignore[no-untyped-def]
    """The icons are dark grey lines; on the highlighted entry Qt drew them tinted with the highlight colour:
    grey on blue, barely visible. The highlighted entry's icon is drawn in the highlighted text's colour."""
    from PySide6.QtGui import QIcon, QPalette

    views = window.sidebar.views
    text = views.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    for row in range(views.count()):
        image = views.item(row).icon().pixmap(views.iconSize(), QIcon.Mode.Selected).toImage()
        inked = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
                 if image.pixelColor(x, y).alpha() > 200]
        assert inked, views.item(row).text()
        mean = sum(abs(c.red() - text.red()) + abs(c.green() - text.green()) + abs(c.blue() - text.blue())
                   for c in inked) / (3 * len(inked))
        assert mean < 40, (views.item(row).text(), mean)
