"""Dialogs on small screens (the offscreen platform's screen is 800x600): nothing cut off, nothing
needlessly cramped."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from tests.gui.conftest import WAIT_MS


def _right_edge_in(widget: QWidget, ancestor: QWidget) -> int:
    return widget.mapTo(ancestor, QPoint(widget.width(), 0)).x()


def test_the_settings_form_is_never_cut_off_on_the_right(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Before: the dialog was 600 pixels wide whatever its form needed, its sideways scroll bar off, so the
    form (as wide as its longest check box) was clipped: the end of "…when scanning new or changed photos",
    the folders' Rescan button and the spin boxes' arrows lay beyond the dialog's edge."""
    window.open_settings()
    qtbot.waitUntil(lambda: window.settings_dialog is not None and window.settings_dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = window.settings_dialog
    viewport = dialog.form_scroll.viewport()
    content = dialog.form_scroll.widget()
    screen = dialog.screen().availableGeometry()
    assert dialog.frameGeometry().width() <= screen.width()
    assert content.width() <= viewport.width(), (content.width(), viewport.width())
    for w in [dialog.xmp_on_scan, dialog.learn, dialog.use_gpu, dialog.min_face, dialog.learn_after,
              *dialog.folders.findChildren(QAbstractButton)]:
        if w.isVisible():
            assert _right_edge_in(w, viewport) <= viewport.width(), (w.objectName() or w.text(), viewport.width())
    dialog.reject()


def test_the_folder_dialog_uses_the_room_the_screen_has(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Before: Qt's default of about 630x410 whatever the screen, which crammed the folders' names and dates;
    now a roomy 900x600 where the screen has it, nine tenths of a smaller screen, never beyond it."""
    from PySide6.QtWidgets import QFileDialog

    from tests.gui.conftest import when_modal

    seen: dict[str, Any] = {}

    def handle(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        seen["size"] = dialog.frameGeometry().size()
        seen["screen"] = dialog.screen().availableGeometry()
        dialog.reject()

    when_modal(qtbot, handle)
    window.add_folder_dialog()  # returns once the dialog is cancelled
    size, screen = seen["size"], seen["screen"]
    assert size.width() <= screen.width() and size.height() <= screen.height(), (size, screen)
    assert size.width() >= min(900, 0.8 * screen.width()), (size, screen)
    assert size.height() >= min(600, 0.8 * screen.height()), (size, screen)


def test_the_settings_help_lines_leave_no_empty_band_around_them(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Before: the form gave each wrapped help line the height of its text wrapped at a guessed narrower
    width (six lines for three), so an empty band of two or three lines sat around "Faces narrower than…"."""
    from PySide6.QtWidgets import QLabel

    window.open_settings()
    qtbot.waitUntil(lambda: window.settings_dialog is not None and window.settings_dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = window.settings_dialog
    qtbot.waitUntil(lambda: not dialog.provider.text().startswith("Checking"), timeout=WAIT_MS)
    QApplication.processEvents()
    wrapped = [label for label in dialog.findChildren(QLabel) if label.wordWrap() and label.isVisible()]
    assert len(wrapped) >= 4
    line = dialog.fontMetrics().lineSpacing()
    for label in wrapped:
        needed = label.heightForWidth(label.width())
        assert needed <= label.height() < needed + line, (label.text()[:40], label.height(), needed)
    dialog.reject()
