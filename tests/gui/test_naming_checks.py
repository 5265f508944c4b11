"""Naming in the app goes through the same check as the CLI: a bad name is refused with a clear message."""

from __future__ import annotations

from faceorg.store.models import Person
from tests.gui.conftest import wait_idle, when_modal
from tests.gui.scenario import Scenario


def test_app_refuses_a_control_character_name(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    blair = scenario.people["blair"]
    shown: list[str] = []

    def read(box) -> None:  # type: ignore[no-untyped-def]
        shown.append(box.text())
        box.close()

    when_modal(qtbot, read)
    window.people_view.rename(blair, "\x1b]0;pwned\x07")  # what the in-place editor calls
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    wait_idle(qtbot, window)
    assert "control" in shown[0] and "\x1b" not in shown[0]
    with library.session() as s:
        assert s.get(Person, blair).name is None
