"""Learning as the user works: after enough new corrections the quick depth runs by itself on the job thread,
the window stays responsive meanwhile, and the status bar says when it ran and what it changed."""

from __future__ import annotations

import dataclasses
import time

import pytest
from PySide6.QtCore import QTimer
from sqlalchemy import select

from faceorg.gui.learning import CHECK_DELAY_MS, LEARNING_TITLE
from faceorg.jobs.learning import learning_due
from faceorg.people import ops
from faceorg.settings import load_settings, save_settings
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.scenario import Scenario

pytestmark = pytest.mark.threaded_workers
CORRECTIONS = 4


def not_placed_by_the_user(library) -> list[int]:  # type: ignore[no-untyped-def]
    """Faces the user has not placed (automatic, suggested or nobody's), one per photo."""
    with library.session() as s:
        placed = set(s.scalars(select(Assignment.face_id).where(Assignment.source == AssignmentSource.USER)))
        rows = s.execute(select(Face.id, Face.photo_id).where(Face.status == FaceStatus.NORMAL)).all()
    out: dict[int, int] = {}
    for face, photo in rows:
        if face not in placed:
            out.setdefault(photo, face)
    return sorted(out.values())


def test_learning_starts_by_itself_after_enough_corrections(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    if scenario.kind != "real":
        pytest.skip("learning needs faces analysed by the real models")
    save_settings(library, dataclasses.replace(load_settings(library), learn_after_corrections=CORRECTIONS))
    faces = not_placed_by_the_user(library)
    assert len(faces) >= CORRECTIONS
    started: list[str] = []
    window.ctx.jobs.started.connect(started.append)
    person = next(iter(ops.create_person(library, "Learning Test").people_added))
    for face in faces[:CORRECTIONS - 1]:  # one short: nothing starts
        window.ctx.publish(ops.move_faces(library, [face], person))
    qtbot.wait(CHECK_DELAY_MS + 500)
    assert LEARNING_TITLE not in started and window.learning.runs == 0
    assert learning_due(library).new_corrections == CORRECTIONS - 1

    gaps: list[float] = []
    last = [time.perf_counter()]

    stages: list[tuple[float, str]] = []
    window.ctx.jobs.progressed.connect(lambda state: stages.append((time.perf_counter(), state.stage)))
    labels: list[str] = []  # the job bar's words (its own slot ran first)
    window.ctx.jobs.progressed.connect(lambda _state: labels.append(window.job_bar.label.text()))

    def tick() -> None:  # the GUI thread's heartbeat while learning runs
        now = time.perf_counter()
        gaps.append(now - last[0])
        if now - last[0] > 1.0:
            stages.append((now, f"STALL {now - last[0]:.2f}"))
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(tick)
    heartbeat.start()
    window.ctx.publish(ops.move_faces(library, [faces[CORRECTIONS - 1]], person))
    qtbot.waitUntil(lambda: LEARNING_TITLE in started, timeout=WAIT_MS)
    assert window.ctx.jobs.running and window.ctx.jobs.title == LEARNING_TITLE  # a job: progress and Cancel
    last[0] = time.perf_counter()
    gaps.clear()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running, timeout=120_000)
    heartbeat.stop()
    assert len(gaps) >= 10 and max(gaps) < 1.0, f"the window stalled {max(gaps):.2f} s while learning ran: {stages}"
    assert LEARNING_TITLE in labels and f"{LEARNING_TITLE}: {LEARNING_TITLE}" not in labels, labels  # said once
    status = window.learning.status
    assert status.isVisible() or status.text()
    assert status.toolTip().startswith(("Learned from your corrections at", "Checked what your corrections teach at",
                                        "Learning at")), status.toolTip()
    assert "BCubed" not in status.toolTip() and not learning_due(library).due
    assert window.learning.runs == 1


def test_after_a_new_model_group_faces_with_it_is_offered(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """A model learning installed never moves the faces already seen: while faces are left unsorted, the status
    bar offers to group them with it (one click runs Group Faces); nothing is offered when the model was kept."""
    from PySide6.QtCore import Qt

    button = window.learning.regroup_button
    started: list[str] = []
    window.ctx.jobs.started.connect(started.append)
    window.learning._done({"accepted": False})
    wait_idle(qtbot, window)
    assert button.isHidden()
    window.learning._done({"accepted": True})  # as when the gate installed the new model
    qtbot.waitUntil(lambda: not button.isHidden(), timeout=WAIT_MS)  # the scenario has unsorted faces
    assert button.text() == "Group Faces with It"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert button.isHidden()
    wait_idle(qtbot, window)
    assert started[-1] == "Grouping faces"


def test_go_back_to_the_previous_model_from_the_file_menu(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    from PySide6.QtWidgets import QMessageBox

    from faceorg.progress import Progress
    from faceorg.retrain.retrain import RetrainReport, install_model
    from faceorg.versions.records import active_version, head_weight

    if scenario.kind != "real":
        pytest.skip("model versions need faces analysed by the real models")
    window.go_back_action.trigger()  # the first model: nothing to go back to, said in the status bar
    assert "no previous one to go back to" in window.statusBar().currentMessage()
    base = active_version(library)
    weight = head_weight(library, base) * np.float32(1.01)
    report = RetrainReport("quick", False, True, None, base.name, {}, {}, {}, [], 0.0)
    install_model(library, base, "head", report, Progress(), weight=weight)
    with library.session() as s:
        decided = sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                   .where(Assignment.source == AssignmentSource.USER)).all())
    window.go_back_action.trigger()
    box = window.go_back_box
    assert isinstance(box, QMessageBox) and box.isVisible() and base.name in box.text()
    go = next(b for b in box.buttons() if b.text() == "Go Back")
    go.click()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running and active_version(library).name == base.name,
                    timeout=60_000)
    qtbot.waitUntil(lambda: "everything you decided is kept" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    with library.session() as s:
        assert sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                .where(Assignment.source == AssignmentSource.USER)).all()) == decided
