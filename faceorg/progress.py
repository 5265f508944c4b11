"""A progress-and-cancel object that long operations report to.

The CLI attaches a progress bar, the GUI a progress bar with a Cancel button; core code only calls
:meth:`Progress.start`, :meth:`Progress.advance` and :meth:`Progress.check_cancelled`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from faceorg.errors import CancelledError


@dataclass(frozen=True)
class ProgressState:
    """A snapshot of a running job, safe to hand to another thread."""

    stage: str
    done: int
    total: int | None
    message: str = ""


Listener = Callable[[ProgressState], None]


class Progress:
    """Thread-safe progress counter with cooperative cancellation."""

    def __init__(self, listener: Listener | None = None) -> None:
        self._listener = listener
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._state = ProgressState(stage="", done=0, total=None)

    @property
    def state(self) -> ProgressState:
        return self._state

    def start(self, stage: str, total: int | None = None, message: str = "") -> None:
        """Begin a new stage (resets the counter)."""
        self._publish(ProgressState(stage, 0, total, message))

    def advance(self, n: int = 1, message: str | None = None) -> None:
        """Count ``n`` more units of work in the current stage."""
        with self._lock:
            s = self._state
            new = ProgressState(s.stage, s.done + n, s.total, s.message if message is None else message)
        self._publish(new)

    def set_total(self, total: int | None) -> None:
        s = self._state
        self._publish(ProgressState(s.stage, s.done, total, s.message))

    def cancel(self) -> None:
        """Ask the running operation to stop at its next check."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`CancelledError` if cancellation was requested."""
        if self._cancel.is_set():
            raise CancelledError()

    def _publish(self, state: ProgressState) -> None:
        with self._lock:
            self._state = state
        if self._listener is not None:
            self._listener(state)


def null_progress() -> Progress:
    """A progress object nobody listens to."""
    return Progress()
