"""File > Update Face Matching: a library made before the mirror-averaging recipe moves to it as a job, after
asking; the window says what happened, every decision stays, and a library already on it is told so."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from faceorg.store.models import Assignment, AssignmentSource, ModelVersion
from faceorg.versions.records import active_version, averages_mirror
from tests.gui.conftest import WAIT_MS
from tests.gui.scenario import Scenario

pytestmark = pytest.mark.threaded_workers


def test_update_face_matching_from_the_file_menu(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    if scenario.kind != "real":
        pytest.skip("model versions need faces analysed by the real models")
    window.mirror_action.trigger()  # a library made today already uses the recipe
    assert "up to date" in window.statusBar().currentMessage()
    base = active_version(library)
    with library.transaction() as s:  # as a library made before the recipe records its model
        s.execute(update(ModelVersion).where(ModelVersion.id == base.id).values(report={"description": "old"}))
    with library.session() as s:
        decided = sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                   .where(Assignment.source == AssignmentSource.USER)).all())
    window.mirror_action.trigger()
    box = window.mirror_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "mirror image" in box.text()
    next(b for b in box.buttons() if b.text() == "Update").click()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running and averages_mirror(active_version(library)), timeout=60_000)
    assert active_version(library).name == f"{base.name}-mirror"
    qtbot.waitUntil(lambda: "everything you decided is kept" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    with library.session() as s:
        assert sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                .where(Assignment.source == AssignmentSource.USER)).all()) == decided
