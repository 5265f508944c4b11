"""Work off the GUI thread: each task runs on a worker thread and its result, or its exception, is
handed back to a callback on the GUI thread (the shape of Picard's ``run_task``).

Tasks receive and return plain data; they open their own database sessions from the shared
``Library`` (a session never crosses threads). ``TaskRunner`` is for short tasks (queries, people
operations); ``JobRunner`` runs one long, cancellable job at a time (scan, grouping) and reports its
progress, throttled, as :class:`~faceorg.progress.ProgressState` snapshots.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from faceorg.errors import CancelledError
from faceorg.progress import Progress, ProgressState

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


BACKGROUND_NICENESS = 10


def lower_thread_priority() -> None:
    """Make the calling thread yield the CPU to the GUI thread (Linux; a no-op elsewhere).

    On Linux niceness is per thread and inherited by threads it starts (a scan's reader pool).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), BACKGROUND_NICENESS))
    except OSError:
        pass


@dataclass
class _Delivery:
    future: Future[Any]
    on_done: Callback | None
    on_error: ErrorCallback | None
    owner: QObject | None


class TaskRunner(QObject):
    """A pool of worker threads whose results come back as calls on the GUI thread.

    ``failed`` is emitted for exceptions that no ``on_error`` callback takes.
    """

    failed = Signal(object)  # BaseException
    idle_changed = Signal(bool)
    _deliver = Signal(object)  # _Delivery, emitted from worker threads

    #: Tasks run on worker threads (False for :class:`InlineTaskRunner`).
    threaded = True

    def __init__(self, threads: int = 2, name: str = "faceorg-task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._pending = 0
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callback | None = None,
               on_error: ErrorCallback | None = None, owner: QObject | None = None) -> Future[Any]:
        """Run ``fn(*args)`` on a worker; then ``on_done(result)`` or ``on_error(exc)`` on the GUI thread.

        Callbacks are skipped when ``owner`` (a widget) has been deleted meanwhile.
        """
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        self._pending += 1
        if self._pending == 1:
            self.idle_changed.emit(False)
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda f: self._deliver.emit(_Delivery(f, on_done, on_error, owner)))
        return future

    def _on_deliver(self, delivery: _Delivery) -> None:
        try:
            if delivery.owner is not None and not shiboken6.isValid(delivery.owner):
                return
            exc = delivery.future.exception() if not delivery.future.cancelled() else CancelledError()
            if exc is None:
                if delivery.on_done is not None:
                    delivery.on_done(delivery.future.result())
            elif delivery.on_error is not None:
                delivery.on_error(exc)
            else:
                self._report(exc)
        except Exception as exc:  # a bug in a callback: report it rather than lose it in the event loop
            log.exception("error in a task callback")
            self.failed.emit(exc)
        finally:
            self._pending -= 1
            if self._pending == 0:
                self.idle_changed.emit(True)

    def _report(self, exc: BaseException) -> None:
        if not isinstance(exc, CancelledError):
            log.error("task failed", exc_info=exc)
        self.failed.emit(exc)

    @property
    def idle(self) -> bool:
        """True when no task is running or waiting to hand back its result."""
        return self._pending == 0

    def shutdown(self, wait: bool = True, *, drop_queued: bool = True) -> None:
        """Stop accepting tasks, drop queued ones (unless told not to) and optionally wait for the rest."""
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=drop_queued)


class InlineTaskRunner(TaskRunner):
    """A :class:`TaskRunner` that runs each task at once on the calling thread (Picard's tests replace
    ``run_task`` the same way); the callbacks still come back through the event loop, as from a worker,
    so no caller sees its callback run inside its own call.

    For tests: no worker thread to wait for, and a fixed order of events; processing the pending
    events delivers every result.
    """

    threaded = False

    def __init__(self, threads: int = 1, name: str = "faceorg-inline", parent: QObject | None = None) -> None:
        super().__init__(1, name, parent)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callback | None = None,
               on_error: ErrorCallback | None = None, owner: QObject | None = None) -> Future[Any]:
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        self._pending += 1
        if self._pending == 1:
            self.idle_changed.emit(False)
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to on_error, as a worker's exception would be
            future.set_exception(exc)
        self._deliver.emit(_Delivery(future, on_done, on_error, owner))
        return future


def _in_background(fn: Callable[[Progress], Any], progress: Progress) -> Any:
    lower_thread_priority()
    return fn(progress)


class JobRunner(QObject):
    """Runs one long job at a time on its own thread, with throttled progress and cooperative Cancel.

    A job is ``fn(progress) -> result``; it must call ``progress.check_cancelled()`` now and then.
    Signals arrive on the GUI thread: ``started(title)``, ``progressed(ProgressState)``, then
    ``failed(title, exception)`` if it raised, and always ``ended(title, outcome)`` with outcome
    "done", "cancelled" or "failed". A job that stops early on Cancel and returns a partial result
    still has its ``on_done`` called.
    """

    started = Signal(str)
    progressed = Signal(object)
    failed = Signal(str, object)
    ended = Signal(str, str)
    _progress = Signal(object)

    #: At most one progress update every this many seconds reaches the GUI thread.
    THROTTLE_S = 0.05

    def __init__(self, parent: QObject | None = None, runner: type[TaskRunner] = TaskRunner) -> None:
        super().__init__(parent)
        self._runner = runner(1, "faceorg-job", self)
        self._progress.connect(self.progressed, Qt.ConnectionType.QueuedConnection)
        self._current: Progress | None = None
        self._title = ""
        self._last_emit = 0.0
        self._last_stage: tuple[str, str] = ("", "")
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._current is not None

    @property
    def title(self) -> str:
        return self._title

    @property
    def idle(self) -> bool:
        return self._runner.idle

    def start(self, title: str, fn: Callable[[Progress], Any], on_done: Callback | None = None) -> bool:
        """Start a job; returns False (and does nothing) while another job runs."""
        if self._current is not None:
            return False
        progress = Progress(self._listen)
        self._current, self._title = progress, title
        self._last_emit, self._last_stage = 0.0, ("", "")
        self.started.emit(title)

        def done(result: Any) -> None:
            self._current = None
            try:
                if on_done is not None:
                    on_done(result)
            finally:
                self.ended.emit(title, "cancelled" if progress.cancelled else "done")

        def error(exc: BaseException) -> None:
            self._current = None
            if isinstance(exc, CancelledError):
                self.ended.emit(title, "cancelled")
                return
            log.error("%s failed", title, exc_info=exc)
            self.failed.emit(title, exc)
            self.ended.emit(title, "failed")

        if self._runner.threaded:
            self._runner.submit(_in_background, fn, progress, on_done=done, on_error=error)
        else:
            self._runner.submit(fn, progress, on_done=done, on_error=error)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check."""
        if self._current is not None:
            self._current.cancel()

    def _listen(self, state: ProgressState) -> None:
        """Progress listener (worker thread): forward stage and message changes at once ("3/8 batches on 2
        workers"), counts at most every 50 ms."""
        now = time.monotonic()
        with self._lock:
            if (state.stage, state.message) == self._last_stage and now - self._last_emit < self.THROTTLE_S and \
                    state.done != state.total:
                return
            self._last_emit, self._last_stage = now, (state.stage, state.message)
        self._progress.emit(state)

    def shutdown(self) -> None:
        """Cancel the running job and wait for it to stop."""
        self.cancel()
        self._runner.shutdown(wait=True)
