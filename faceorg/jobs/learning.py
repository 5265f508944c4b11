"""Learning as the user works: the quick depth runs by itself after enough new corrections.

A correction is a decision the user made that retraining learns from, counted per face: a face placed or
confirmed, a "not this person", or a face said to be someone else than another. When the library holds
``learn_after_corrections`` more of them (a setting) than when learning last ran, and ``learn_as_you_go`` is
on (the default), the app starts :func:`learn_now` in the background: the quick depth
(:mod:`faceorg.retrain.quick`), judged by the same gate as "Improve Recognition", installed only when it does
better; then only faces no grouping has seen are placed, and no other face moves. What it did is kept as one
line the app shows (:func:`last_learning`).

The app runs it in a child process (:func:`learn_in_child`, which runs ``faceorg train --when-due``):
importing the model libraries and regrouping run C code that holds Python's interpreter lock for seconds at
a time (measured: 3.5 s importing PyTorch, which the quick depth no longer needs), which would freeze the
window if it ran on one of its threads. Without PyTorch (the packaged app) it runs all the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, union

from faceorg.capabilities import training_unavailable
from faceorg.errors import FaceorgError
from faceorg.jobs.retrain_job import RetrainJobReport, retrain_library
from faceorg.progress import Progress
from faceorg.retrain.training_data import too_few_to_learn
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
    """The user's decisions that retraining learns from (see the module docstring), counted per face: a
    face placed or confirmed, a face's "not this person", and each face the user said is someone else than
    another face. One "no" to "same person?" keeps two groups apart with up to every pair of their faces:
    counting those pairs would make one answer look like hundreds of corrections."""
    with library.session() as s:
        placed = s.scalar(select(func.count()).select_from(Assignment)
                          .where(Assignment.source == AssignmentSource.USER)) or 0
        rejected = s.scalar(select(func.count()).select_from(FaceNotPerson)) or 0
        faces_apart = union(select(CannotLink.face_a.label("face")), select(CannotLink.face_b)).subquery()
        apart = s.scalar(select(func.count()).select_from(faces_apart)) or 0
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
    missing = training_unavailable("quick")  # None: the quick depth needs no PyTorch (kept for other needs)
    if missing is not None:
        return LearningDue(False, new, threshold, missing)
    if new < threshold:
        return LearningDue(False, new, threshold, f"{new} new corrections of the {threshold} that start it")
    # A run that can only refuse (too few confirmed faces) would start a process for nothing and put the
    # refusal in the status bar unasked: wait until the user has confirmed enough (the count is kept).
    short = too_few_to_learn(library)
    return LearningDue(short is None, new, threshold, short or "")


def start_counting(library: Library) -> None:
    """Count corrections from now on, unless learning has a record already (the app calls it when it opens
    a library, so that a library with years of corrections does not start learning the moment it opens)."""
    if not _state(library):
        _record(library, corrections_count(library), "")


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


def learn_now(library: Library, progress: Progress | None = None) -> RetrainJobReport | None:
    """Run the quick depth on the user's corrections now (judged, installed only when better) and record
    what it did; too few corrections to learn from is recorded (None), not raised: it runs unasked."""
    progress = progress or Progress()
    corrections = corrections_count(library)
    started = dt.datetime.now()
    try:
        job = retrain_library(library, progress, depth="quick")
    except FaceorgError as exc:
        _record(library, corrections, f"Learning at {started:%H:%M}: {exc}")
        return None
    _record(library, corrections, status_line(job, started))
    return job


def child_command(db: Path) -> list[str]:
    """The command that runs ``train --when-due --json`` on ``db`` (the packaged app is the CLI too)."""
    faceorg = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "faceorg"]
    return [*faceorg, "--db", str(db), "train", "--when-due", "--json"]


def learn_in_child(db: Path, progress: Progress | None = None, poll_s: float = 0.1) -> dict[str, Any]:
    """Run learning in a child process and wait for it (Cancel stops the child; a model is swapped in
    atomically, so an interrupted run leaves the current one working); the child's JSON report."""
    progress = progress or Progress()
    progress.start("Learning from your corrections")
    with open(os.devnull, "wb") as quiet:
        child = subprocess.Popen(child_command(db), stdout=subprocess.PIPE, stderr=quiet, stdin=subprocess.DEVNULL)
    try:
        while child.poll() is None:
            progress.check_cancelled()
            time.sleep(poll_s)
    except BaseException:
        child.terminate()
        child.wait()
        raise
    out = child.stdout.read() if child.stdout is not None else b""
    if child.returncode != 0:
        raise FaceorgError(f"learning stopped with exit status {child.returncode}")
    report: dict[str, Any] = json.loads(out or b"{}")
    return report
