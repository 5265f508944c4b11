"""GUI test fixtures: offscreen Qt, the scenario library (real faces when available), a main window on a copy."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from faceorg.store import Library, open_library  # noqa: E402
from tests.conftest import INSTALLED_MODELS, SHARED_DATA  # noqa: E402
from tests.gui.scenario import Scenario, build_drawn, build_real  # noqa: E402

WAIT_MS = 15_000


def _real_available() -> str | None:
    """Why the real-face scenario cannot be built, or None when it can."""
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, DETECTOR_FILE

    if not (SHARED_DATA / "lfw" / "images").is_dir():
        return f"no real face data at {SHARED_DATA}"
    if not all((INSTALLED_MODELS / f).is_file() for f in (DETECTOR_FILE, BASE_EMBEDDER_FILE)):
        return f"face models not installed in {INSTALLED_MODELS}"
    return None


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Real faces from ../shared/data when they and the models are there, else drawn faces.

    With FACEORG_REQUIRE_MODELS=1 (CI), missing models are a failure rather than a fallback; missing
    shared data always falls back to drawn faces.
    """
    root = tmp_path_factory.mktemp("scenario")
    why_not = _real_available()
    if why_not is None:
        env = {"FACEORG_DATA_DIR": str(tmp_path_factory.mktemp("scenario-data")),
               "FACEORG_MODELS_DIR": str(INSTALLED_MODELS)}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return build_real(SHARED_DATA, root)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    if os.environ.get("FACEORG_REQUIRE_MODELS") == "1" and "models" in why_not:
        pytest.fail(f"the GUI tests need the face models: {why_not}")
    return build_drawn(root)  # without ../shared/data: drawn faces, so the GUI is still tested


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "threaded_workers: run the window's queries, operations and jobs on "
                                       "real worker threads (the default for GUI tests is inline)")


@pytest.fixture(autouse=True)
def inline_workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Windows made in a GUI test run their queries, operations and jobs at once on the test's thread
    (no worker thread to poll), unless the test is marked ``threaded_workers``."""
    from faceorg.gui.context import AppContext
    from faceorg.gui.workers import InlineTaskRunner

    if request.node.get_closest_marker("threaded_workers") is not None:
        return False
    monkeypatch.setattr(AppContext, "task_runner", InlineTaskRunner)
    return True


@pytest.fixture(autouse=True)
def event_loops_still_run() -> Iterator[None]:
    """Fail the test after which Qt's event loops no longer run, and revive them for the tests that follow.

    ``QCoreApplication.exit()`` called with no ``app.exec()`` running (a stray timer, a Quit event left queued)
    leaves Qt quitting: every later ``QEventLoop.exec()``, so every qtbot wait, returns at once without handling
    an event, and each later test times out waiting for results that never arrive."""
    yield
    app = QApplication.instance()
    if app is None:
        return
    QApplication.processEvents()  # delivers a queued Quit event, as the next test's first wait would
    if _event_loops_run():
        return
    QTimer.singleShot(0, lambda: app.exit(0))
    app.exec()  # a full run of the application loop clears Qt's "quitting" state
    pytest.fail("Qt's event loops stopped running during this test: QCoreApplication.exit() was called with no "
                "app.exec() running (a stray timer or a queued Quit event)")


def _event_loops_run() -> bool:
    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    return loop.exec() == 0


def pytest_report_header(config: pytest.Config) -> str:
    why_not = _real_available()
    return "GUI tests: real faces from ../shared/data" if why_not is None else \
        f"GUI tests: drawn faces ({why_not})"


@pytest.fixture()
def library(scenario: Scenario, tmp_path: Path) -> Iterator[Library]:
    lib = open_library(scenario.copy_to(tmp_path))
    yield lib
    lib.close()


@pytest.fixture()
def qsettings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "faceorg-test.ini"), QSettings.Format.IniFormat)


@pytest.fixture()
def window(qtbot, library: Library, qsettings: QSettings):  # type: ignore[no-untyped-def]
    """The main window on a private copy of the scenario library, loaded and idle."""
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow

    make_application()
    win = MainWindow(library, qsettings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    wait_for(qtbot, win, lambda: win.people_view.loaded and win.review_view.loaded and win.ctx.idle)
    yield win
    win.close()


def wait_for(qtbot, win, condition: Callable[[], bool]) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition``; on a timeout, say which part of the window was still busy and where threads stood."""
    try:
        qtbot.waitUntil(condition, timeout=WAIT_MS)
    except Exception:
        import faulthandler
        import sys

        c = win.ctx
        busy = {"people view loaded": win.people_view.loaded, "review view loaded": win.review_view.loaded,
                "queries": c.queries.idle, "operations": c.ops.idle, "jobs": c.jobs.idle, "thumbs": c.thumbs.idle,
                "card thumbs": c.card_thumbs.idle, "large thumbs": c.large_thumbs.idle,
                "photo thumbs": c.photo_thumbs.idle}
        print("still busy:", [name for name, done in busy.items() if not done], flush=True)
        faulthandler.dump_traceback(sys.stdout, all_threads=True)
        raise


def wait_idle(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    """Wait until every task, operation, job and thumbnail load has finished and been handed back."""
    wait_for(qtbot, win, lambda: win.ctx.idle)
    QApplication.processEvents()
    wait_for(qtbot, win, lambda: win.ctx.idle)


def when_modal(qtbot, handle: Callable[[QWidget], None], timeout_ms: int = 5000) -> None:  # type: ignore[no-untyped-def]
    """Run ``handle(dialog)`` as soon as a modal dialog opens (call before the action that opens it)."""
    state = {"left": timeout_ms // 20}

    def poll() -> None:
        widget = QApplication.activeModalWidget()
        if widget is not None and widget.isVisible():
            handle(widget)
            return
        state["left"] -= 1
        if state["left"] > 0:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)

