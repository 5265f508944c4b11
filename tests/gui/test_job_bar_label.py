"""The status bar's job label: the job's title, then its stage only when the stage says something more."""

from __future__ import annotations

import threading

import pytest

from tests.gui.conftest import WAIT_MS


@pytest.mark.threaded_workers
def test_a_stage_named_like_its_job_is_not_said_twice(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Learning as you work read "Learning from your corrections: Learning from your corrections"."""
    gate = threading.Event()

    def job(progress):  # type: ignore[no-untyped-def]
        progress.start("Learning from your corrections")
        gate.wait(WAIT_MS / 1000)

    window.ctx.jobs.start("Learning from your corrections", job)
    try:
        qtbot.waitUntil(lambda: window.job_bar.label.text() != "Learning from your corrections…", timeout=WAIT_MS)
        assert window.job_bar.label.text() == "Learning from your corrections"
    finally:
        gate.set()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running, timeout=WAIT_MS)
