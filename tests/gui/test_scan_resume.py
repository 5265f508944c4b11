"""A grouping that was interrupted (killed after the faces were stored) is resumed by the app's next scan."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import delete, func, select

from faceorg.store.models import Assignment, AssignmentSource
from faceorg.store.state import grouping_pending, set_grouping_pending
from tests.gui.conftest import wait_idle
from tests.gui.scenario import Scenario


def automatic(library) -> int:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(Assignment)
                        .where(Assignment.source == AssignmentSource.AUTO)) or 0


def test_rescan_resumes_an_interrupted_grouping(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    if scenario.kind != "real":
        pytest.skip("scanning with faces needs the face models and real faces")
    import faceorg.gui.main_window as mw

    grouped = automatic(library)
    assert grouped > 0
    # What a kill between storing the faces and the end of their grouping leaves behind.
    with library.transaction() as s:
        s.execute(delete(Assignment).where(Assignment.source == AssignmentSource.AUTO))
    set_grouping_pending(library, True)
    ended: list[str] = []
    messages: list[str] = []
    window.ctx.jobs.ended.connect(lambda title, _outcome: ended.append(title))
    window.statusBar().messageChanged.connect(messages.append)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: mw.SCAN_TITLE in ended, timeout=60_000)
    wait_idle(qtbot, window)
    assert any(" 0 new" in m and "Grouped the faces an interrupted grouping had left" in m for m in messages), messages
    assert automatic(library) > 0 and not grouping_pending(library)
