"""The machinery under the views: workers, the thumbnail cache, refreshing from change records, the CLI entry."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer

from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.gui.workers import JobRunner, TaskRunner
from faceorg.people import ops
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.scenario import Scenario


def test_results_and_errors_come_back_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner(2)
    seen: list[tuple[str, object]] = []

    def work(x: int) -> tuple[str, int]:
        return threading.current_thread().name, x * 2

    def fail() -> None:
        raise ValueError("boom")

    runner.submit(work, 21, on_done=lambda r: seen.append((threading.current_thread().name, r)))
    runner.submit(fail, on_error=lambda e: seen.append((threading.current_thread().name, e)))
    qtbot.waitUntil(lambda: runner.idle and len(seen) == 2, timeout=WAIT_MS)
    main = threading.main_thread().name
    by_kind = {type(v).__name__: (thread, v) for thread, v in seen}
    worker_name, doubled = by_kind["tuple"][1]  # type: ignore[misc]
    assert doubled == 42 and worker_name.startswith("faceorg-task") and by_kind["tuple"][0] == main
    assert isinstance(by_kind["ValueError"][1], ValueError) and by_kind["ValueError"][0] == main
    unhandled: list[BaseException] = []
    runner.failed.connect(unhandled.append)
    runner.submit(fail)
    qtbot.waitUntil(lambda: runner.idle and bool(unhandled), timeout=WAIT_MS)
    assert str(unhandled[0]) == "boom"
    runner.shutdown()


def test_job_progress_is_throttled(qtbot) -> None:  # type: ignore[no-untyped-def]
    jobs = JobRunner()
    states: list[object] = []
    jobs.progressed.connect(states.append)

    def busy(progress):  # type: ignore[no-untyped-def]
        progress.start("Working", total=20_000)
        for _ in range(20_000):
            progress.advance()
        return "ok"

    results: list[object] = []
    jobs.start("Busy", busy, on_done=results.append)
    assert not jobs.start("Another", busy)  # one job at a time
    qtbot.waitUntil(lambda: results == ["ok"], timeout=WAIT_MS)
    assert 1 <= len(states) < 2000  # 20,000 updates reached the GUI thread as a few
    assert states[-1].done == 20_000  # type: ignore[attr-defined]
    jobs.shutdown()


def test_thumbnail_cache_is_bounded_and_loads_off_the_gui_thread(qtbot, library, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    faces = [f for fs in scenario.faces.values() for f in fs]
    loader_threads: list[str] = []
    cache = ThumbnailCache(library, 64, max_bytes=64 * 64 * 4 * 5)  # room for five thumbnails
    real_load = cache._load

    def spy(ids):  # type: ignore[no-untyped-def]
        loader_threads.append(threading.current_thread().name)
        return real_load(ids)

    cache._load = spy  # type: ignore[method-assign]
    assert cache.get(faces[0]) is None  # a miss never blocks: it queues
    qtbot.waitUntil(lambda: cache.get(faces[0]) is not None, timeout=WAIT_MS)
    image = cache.get(faces[0])
    assert image is not None and image.width() == 64 and image.height() == 64
    cache.request(faces)
    qtbot.waitUntil(lambda: cache.idle, timeout=WAIT_MS)
    assert len(cache) <= 5
    assert loader_threads and all(t == "faceorg-thumbnails" for t in loader_threads)
    # The newest request is the last one evicted.
    assert cache.get(faces[-1]) is not None
    cache.stop()


def test_views_refresh_from_change_records_without_reloading(window, qtbot, scenario: Scenario,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import faceorg.gui.people_view as pv

    queried: list[list[int]] = []
    real = pv.load_cards
    monkeypatch.setattr(pv, "load_cards", lambda lib, ids: (queried.append(list(ids)), real(lib, ids))[1])
    full_loads: list[int] = []
    monkeypatch.setattr(pv, "load_first", lambda lib: full_loads.append(1))
    monkeypatch.setattr(pv, "load_all", lambda lib: full_loads.append(1))
    resets: list[int] = []
    window.people_view.model.modelReset.connect(lambda: resets.append(1))
    window.ctx.run_op(ops.name_person, scenario.people["blair"], "Tony Blair")
    wait_idle(qtbot, window)
    assert queried == [[scenario.people["blair"]]]  # only the named person's card was read again
    assert full_loads == [] and resets == []  # no reload, no model reset


def test_gui_command_opens_the_given_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import faceorg.gui.app as app_module
    from faceorg.cli.main import main
    from faceorg.store.location import LibraryLocation

    opened: list[LibraryLocation] = []
    monkeypatch.setattr(app_module, "run_app", lambda where, exit_after_ms=None: opened.append(where) or 0)
    assert main(["gui", "--db", str(tmp_path / "a.sqlite")]) == 0
    assert main(["--db", str(tmp_path / "b.sqlite"), "gui"]) == 0
    assert main(["--db", str(tmp_path / "c.sqlite")]) == 0  # no command: the app
    assert main([]) == 0
    assert main(["gui", "--db", "postgresql://ann:secret@dbhost/photos"]) == 0  # a library on PostgreSQL
    from faceorg.paths import default_db_path

    assert [o.path for o in opened[:4]] == [tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "c.sqlite",
                                            default_db_path()]
    assert not any(o.is_server for o in opened[:4])
    assert opened[4].is_server and opened[4].display == "postgresql://ann:***@dbhost/photos"


def test_the_app_starts_and_quits(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.app import run_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    start = time.perf_counter()
    assert run_app(tmp_path / "fresh.sqlite", exit_after_ms=300) == 0
    assert (tmp_path / "fresh.sqlite").is_file()
    assert time.perf_counter() - start < 30


def test_the_app_quits_when_its_window_closes_though_another_window_is_open(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the main window ends the app even while another top-level window is visible (before: the event
    loop ran on with no window of the library's; a full test run once hung here)."""
    from PySide6.QtWidgets import QApplication, QWidget

    from faceorg.gui.app import run_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    stray = QWidget()
    qtbot.addWidget(stray)
    stray.show()
    safety_net = QTimer()  # so a failure cannot hang
    safety_net.setSingleShot(True)
    safety_net.timeout.connect(lambda: QApplication.instance().exit(7))
    safety_net.start(15_000)
    try:
        assert run_app(tmp_path / "fresh.sqlite", exit_after_ms=300) == 0
    finally:
        # Left running, it fired 15 s later in another test with no loop running: Qt was left quitting and every
        # later wait of the run handled no event (the in-process Ray scan test, the next 15 s long one, stalled).
        safety_net.stop()
    assert stray.isVisible()


def test_results_still_arrive_after_the_app_has_ended(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_app`` leaves no Quit event queued (Qt posts one when the last window closes). Delivered by a later
    processEvents, it called ``exit()`` with no loop running; from then on every event loop of the process
    returned at once and no worker's result arrived: a GUI test run stalled after the app had run in it."""
    from PySide6.QtWidgets import QApplication

    from faceorg.gui.app import run_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    assert run_app(tmp_path / "fresh.sqlite", exit_after_ms=300) == 0
    QApplication.processEvents()  # what the next code to touch Qt does first
    runner = TaskRunner(1)
    got: list[int] = []
    runner.submit(lambda: 42, on_done=got.append)
    qtbot.waitUntil(lambda: got == [42], timeout=5000)
    runner.shutdown()


def test_qt_calls_cannot_deallocate_none_or_true() -> None:
    """Qt calls that hand back None or True (PySide6 6.12.0 drops a reference each time) leave them alive:
    on the installed bindings their reference counts do not fall, or the guard has made them immortal."""
    import sys

    from PySide6.QtCore import QObject, Signal

    import faceorg.gui  # noqa: F401  (the guard runs on import)
    from faceorg.gui.compat import RESERVE

    class Emitter(QObject):
        fired = Signal()

    e = Emitter()
    calls = 50_000  # far more than None/True have references in an unguarded process
    before = {repr(x): sys.getrefcount(x) for x in (None, True)}
    for _ in range(calls):
        e.parent()  # returns None
        e.fired.emit()  # returns True
    after = {repr(x): sys.getrefcount(x) for x in (None, True)}
    for name in before:
        guarded = before[name] > RESERVE // 2  # the guard's reserve (or immortal on Python 3.12+)
        kept = after[name] > RESERVE // 2 if guarded else after[name] > before[name] - calls // 10
        assert kept, (name, before, after)


def test_inline_runner_runs_at_once_and_answers_through_the_event_loop(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The GUI tests' runner: the task runs on the calling thread before submit returns; its callback
    (or error) arrives later, from the event loop, as a worker's would."""
    from faceorg.gui.workers import InlineTaskRunner

    runner = InlineTaskRunner()
    ran: list[str] = []
    seen: list[object] = []
    runner.submit(lambda: ran.append(threading.current_thread().name) or 7, on_done=seen.append)
    runner.submit(lambda: 1 // 0, on_error=seen.append)
    assert ran == [threading.main_thread().name] and seen == [] and not runner.idle
    qtbot.waitUntil(lambda: runner.idle, timeout=1000)
    assert seen[0] == 7 and isinstance(seen[1], ZeroDivisionError)
    jobs = JobRunner(runner=InlineTaskRunner)
    ended: list[tuple[str, str]] = []
    jobs.ended.connect(lambda title, outcome: ended.append((title, outcome)))
    jobs.start("Job", lambda progress: threading.current_thread().name, on_done=seen.append)
    assert not jobs.running or ended == []
    qtbot.waitUntil(lambda: bool(ended), timeout=1000)
    assert seen[-1] == threading.main_thread().name and ended == [("Job", "done")]


def test_face_chips_decode_without_qt_image_plugins(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Chips decode through Pillow (no Qt plugin probing on loader threads: see decode_chip); garbage gives None."""
    import io

    import numpy as np
    from PIL import Image

    from faceorg.gui.thumbnails import decode_chip

    pixels = np.zeros((150, 150, 3), np.uint8)
    pixels[:, :75] = (200, 30, 30)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    image = decode_chip(out.getvalue())
    assert image is not None and (image.width(), image.height()) == (150, 150)
    assert image.pixelColor(10, 10).red() > 180 and image.pixelColor(140, 10).red() < 30
    assert decode_chip(b"not an image") is None


def test_the_window_starts_without_loading_the_grouping_libraries() -> None:
    """hdbscan brings scikit-learn and SciPy's statistics (about a second): the window's modules leave them
    to the first grouping, and torch to training."""
    import subprocess
    import sys

    code = ("import sys, faceorg.gui.main_window, faceorg.gui.app; "
            "print(sorted(m for m in ('hdbscan', 'sklearn', 'scipy.stats', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
