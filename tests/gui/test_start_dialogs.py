"""Dialogs that start a long job (Improve Recognition, XMP import and export): Enter starts it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton, QWidget


def dialogs(parent: QWidget) -> list[QDialog]:
    from faceorg.gui.retrain_dialog import RetrainDialog
    from faceorg.gui.xmp_dialogs import XmpExportDialog, XmpImportDialog

    return [RetrainDialog(parent), XmpImportDialog(parent), XmpExportDialog([(1, "Ann")], parent)]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_enter_starts_rather_than_cancels(qtbot, which: int) -> None:  # type: ignore[no-untyped-def]
    """The Start button was made the default before it was in its dialog, so the dialog did not know it and
    made the first button it found, Cancel, the default when shown: Enter cancelled."""
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    dialog = dialogs(parent)[which]
    dialog.open()
    qtbot.waitExposed(dialog)
    default = [b.text() for b in dialog.findChildren(QPushButton) if b.isDefault()]
    assert default == [dialog.start_button.text()]  # type: ignore[attr-defined]
    with qtbot.waitSignal(dialog.finished, timeout=2000) as finished:
        qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return)
    assert finished.args == [QDialog.DialogCode.Accepted.value]
