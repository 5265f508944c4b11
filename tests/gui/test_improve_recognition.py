"""Improve Recognition from My Corrections: the dialog, the job with progress, the before/after report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from faceorg.people import ops
from faceorg.store.models import ModelVersion
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.scenario import Scenario


def versions(library) -> int:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(ModelVersion)) or 0


def run_retrain(window, qtbot, *, dry_run: bool) -> None:  # type: ignore[no-untyped-def]
    window.retrain_action.trigger()
    qtbot.waitUntil(lambda: window.retrain_dialog is not None and window.retrain_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window.retrain_dialog
    assert dialog.quick.isChecked()  # quick is the default
    dialog.check_only.setChecked(dry_run)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: window.ctx.jobs.running or window.retrain_report is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.retrain_report is not None, timeout=120_000)
    wait_idle(qtbot, window)


def require_real(scenario: Scenario) -> None:
    if scenario.kind != "real":
        pytest.skip("retraining needs faces analysed by the real models (the drawn library has no model version)")


def confirmed_per_person(library) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Confirmed (user) faces per person, as retraining counts them (good-quality faces of normal photos)."""
    from faceorg.retrain.training_data import collect_training_data

    data = collect_training_data(library, seed=0)
    labels = data.labels[data.labels >= 0]
    return {int(p): int((labels == p).sum()) for p in set(labels.tolist())}


def test_check_then_improve_recognition(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """A library whose outcome is known: enough confirmed faces to train on, too few to judge a new model
    by, so the check runs, the report says why, and the current model is kept (nothing installed)."""
    from faceorg.retrain.gate import MIN_GATE_FACES
    from faceorg.retrain.training_data import MIN_FACES_PER_PERSON, MIN_PEOPLE

    require_real(scenario)
    counts = confirmed_per_person(library)
    trainable = [n for n in counts.values() if n >= MIN_FACES_PER_PERSON]
    assert len(trainable) >= MIN_PEOPLE and sum(trainable) < MIN_GATE_FACES, counts  # the known setup
    assert window.retrain_action.isEnabled()
    run_retrain(window, qtbot, dry_run=True)
    report = window.retrain_report
    text = report.text()
    assert "too few to judge" in text and "Dry run: nothing was changed." in text
    assert versions(library) == 1
    report.close()
    window.retrain_report = None
    run_retrain(window, qtbot, dry_run=False)
    report = window.retrain_report
    assert report.windowTitle() == "Current model kept", report.text()
    assert "too few to judge" in report.text() and versions(library) == 1
    assert "confirmed faces" in report.detailedText()


def test_not_enough_corrections_is_explained(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    require_real(scenario)
    for pid in list(scenario.people.values()):
        ops.delete_person(library, pid)
    window.retrain_action.trigger()
    qtbot.waitUntil(lambda: window.retrain_dialog is not None and window.retrain_dialog.isVisible(), timeout=WAIT_MS)
    window.retrain_dialog.start_button.click()
    qtbot.waitUntil(lambda: window.findChild(object, "errorBox") is not None or not window.ctx.jobs.running,
                    timeout=WAIT_MS)
    wait_idle(qtbot, window)
    from PySide6.QtWidgets import QApplication, QMessageBox

    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert any("Not enough confirmed faces" in b.text() for b in boxes), [b.text() for b in boxes]
    assert versions(library) == 1


@pytest.fixture()
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch looks absent to the capability probe (as in the packaged app), before the window is made.
    (tests/test_training_unavailable.py hides it from the import system itself, in a fresh process.)"""
    from faceorg import capabilities

    present = capabilities.module_present
    monkeypatch.setattr(capabilities, "module_present", lambda name: name != "torch" and present(name))


def test_without_pytorch_the_quick_depth_runs_and_thorough_says_why(  # type: ignore[no-untyped-def]
        no_torch, window, qtbot, scenario: Scenario, library) -> None:
    from faceorg.capabilities import TRAINING_UNAVAILABLE

    require_real(scenario)
    assert window.retrain_action.isEnabled() and "PyTorch" not in window.retrain_action.text()
    window.retrain_action.trigger()
    qtbot.waitUntil(lambda: window.retrain_dialog is not None and window.retrain_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window.retrain_dialog
    assert dialog.quick.isEnabled() and dialog.quick.isChecked()
    assert not dialog.thorough.isEnabled() and dialog.thorough.toolTip() == TRAINING_UNAVAILABLE
    assert dialog.thorough_reason.isVisible() and "PyTorch" in dialog.thorough_reason.text()
    dialog.reject()
    run_retrain(window, qtbot, dry_run=True)  # the quick check runs and reports
    assert window.retrain_report.windowTitle() == "Check finished", window.retrain_report.text()
    assert versions(library) == 1


def test_with_pytorch_both_depths_are_offered(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.retrain_action.trigger()
    qtbot.waitUntil(lambda: window.retrain_dialog is not None and window.retrain_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window.retrain_dialog
    assert dialog.quick.isEnabled() and dialog.thorough.isEnabled() and not dialog.thorough_reason.isVisible()
    dialog.reject()
