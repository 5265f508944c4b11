"""Review questions in the app: "same person?", a whole-group suggestion and a split, each answered with
the keys (A yes, R no, S skip), checked in the database, and undone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from sqlalchemy import select, update

from faceorg.people.prompts import list_questions
from faceorg.store.models import Assignment, AssignmentSource, CannotLink, PromptAnswer
from tests.gui.conftest import wait_idle
from tests.gui.scenario import Scenario


def test_debug(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    for q in list_questions(library):
        print(q)
    assert 0
