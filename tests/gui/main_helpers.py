"""Steps several GUI tests share: going to a page the way the user does, waiting for it to load."""

from __future__ import annotations

from tests.gui.conftest import wait_idle


def open_photo(win, qtbot, photo_id: int, face_id: int | None = None):  # type: ignore[no-untyped-def]
    """Show a photo in the photo view (as opening it from a face does) and wait until it is loaded."""
    from faceorg.gui.main_window import Page

    win.navigate(Page("photo", photo_id, face_id))
    wait_idle(qtbot, win)
    assert win.stack.currentWidget() is win.photo_view and win.photo_view.photo is not None
    return win.photo_view
