"""The folder list shows an undecodable folder name readably and hands back its exact path."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from faceorg.gui.sidebar import FoldersPanel
from faceorg.store.folders import FolderInfo


def test_folder_with_undecodable_name_is_shown_and_removed_exactly(qtbot) -> None:  # type: ignore[no-untyped-def]
    path = os.fsdecode(b"/photos/dir_\xe9")
    panel = FoldersPanel()
    qtbot.addWidget(panel)
    panel.set_folders([FolderInfo(id=1, path=path, photos=2, failed=0, missing=0, exists=True)])
    item = panel.list.item(0)
    assert item.text().startswith("dir_\\xe9\n") and item.toolTip() == "/photos/dir_\\xe9"
    panel.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.remove_requested) as signal:
        qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert signal.args == [path]
