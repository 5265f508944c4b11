"""Learning as the user works: the quick depth runs by itself after enough new corrections.

A correction is a decision the user made that retraining learns from: a face placed or confirmed, a "not
this person", or two faces said to be different people. When the library holds ``learn_after_corrections``
more of them (a setting) than when learning last ran, and ``learn_as_you_go`` is on (the default), the app
starts :func:`learn_now` in the background: the quick depth (:mod:`faceorg.retrain.quick`), judged by the
same gate as "Improve Recognition", installed only when it does better, then the unsorted faces regrouped;
no face the user placed moves. What it did is kept as one line the app shows (:func:`last_learning`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from faceorg.capabilities import training_unavailable
from faceorg.errors import FaceorgError
from faceorg.jobs.retrain_job import RetrainJobReport, retrain_library
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, CannotLink, FaceNotPerson
from faceorg.store.state import get_state, set_state

LEARNING_STATE = "learning"  # {"corrections": n at the last run, "at": ISO time, "line": what it did}


@dataclass(frozen=True)
class LearningDue:
    """Whether learning should run now, and the counts that decided it."""

    due: bool
    new_corrections: int
    threshold: int
    reason: str = ""


def corrections_count(library: Library) -> int:
    """The user's decisions that retraining learns from (see the module docstring)."""
    with library.session() as s:
        placed = s.scalar(select(func.count()).select_from(Assignment)
                          .where(Assignment.source == AssignmentSource.USER)) or 0
        rejected = s.scalar(select(func.count()).select_from(FaceNotPerson)) or 0
        apart = s.scalar(select(func.count()).select_from(CannotLink)) or 0
    return int(placed + rejected + apart)


def _state(library: Library) -> dict[str, Any]:
    with library.session() as s:
        value = get_state(s, LEARNING_STATE, None)
    return dict(value) if isinstance(value, dict) else {}


def last_learning(library: Library) -> str:
    """The status line of the last time learning ran ("" when it never has)."""
    return str(_state(library).get("line", ""))


def learning_due(library: Library) -> LearningDue:
    """Whether enough new corrections have come since learning last ran (a cheap count: the GUI asks it
    after every change)."""
    settings = load_settings(library)
    threshold = settings.learn_after_corrections
    new = max(0, corrections_count(library) - int(_state(library).get("corrections", 0)))
    if not settings.learn_as_you_go:
        return LearningDue(False, new, threshold, "learning as you work is off")
    missing = training_unavailable()
    if missing is not None:
        return LearningDue(False, new, threshold, missing)
    return LearningDue(new >= threshold, new, threshold)


def _record(library: Library, corrections: int, line: str) -> None:
    with library.transaction() as s:
        set_state(s, LEARNING_STATE, {"corrections": corrections, "at": dt.datetime.now().isoformat(timespec="seconds"),
                                      "line": line})


def status_line(job: RetrainJobReport, when: dt.datetime) -> str:
    """One line for the status bar: when learning ran and what it changed."""
    report = job.retrain
    at = when.strftime("%H:%M")
    if report.accepted:
        regrouped = next((line for line in report.summary if line.startswith("Regrouping them")), "")
        detail = regrouped.split(": ", 1)[1] if ": " in regrouped else "the new model does better"
        return f"Learned from your corrections at {at}: {detail[:1].lower()}{detail[1:]}"
    verdict = report.summary[-1] if report.summary else "Current model kept."
    return f"Checked what your corrections teach at {at}: {verdict[:1].lower()}{verdict[1:]}"


def learn_now(library: Library, progress: Progress | None = None) -> RetrainJobReport:
    """Run the quick depth on the user's corrections now (judged, installed only when better) and record
    what it did; too few corrections to learn from is recorded too, not raised."""
    progress = progress or Progress()
    corrections = corrections_count(library)
    started = dt.datetime.now()
    try:
        job = retrain_library(library, progress, depth="quick")
    except FaceorgError as exc:
        _record(library, corrections, f"Learning at {started:%H:%M}: {exc}")
        raise
    _record(library, corrections, status_line(job, started))
    return job


def learning_changes(job: RetrainJobReport) -> ChangeSet:
    """What the app must refresh after learning ran (the regrouping's change record)."""
    return job.changes
