"""The app's Ray settings and progress: the Settings field "Analyse faces on a Ray cluster: address" is kept
for this computer, the job bar shows the workers' progress, and the app's scan uses the cluster."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit
from sqlalchemy import select

from faceorg.settings import computer_settings_path, load_settings
from faceorg.store.models import Setting
from tests.conftest import SHARED_DATA
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.main_helpers import open_photo
from tests.gui.scenario import Scenario


def test_the_ray_address_is_a_setting_of_this_computer(window, qtbot, library) -> None:  # type: ignore[no-untyped-def]
    window.open_settings()
    qtbot.waitUntil(lambda: window.settings_dialog is not None, timeout=WAIT_MS)
    dialog = window.settings_dialog
    field = dialog.findChild(QLineEdit, "rayAddress")
    assert field is not None and field.text() == "" and field.isVisibleTo(dialog)
    field.setText(" 10.0.0.5:6379 ")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert load_settings(library).ray_address == "10.0.0.5:6379"
    assert json.loads(computer_settings_path().read_text())["ray_address"] == "10.0.0.5:6379"
    with library.session() as s:
        assert s.get(Setting, "ray_address") is None  # not the library's: another computer has no such cluster
    assert "face analysis applies to photos scanned from now on" in window.statusBar().currentMessage()


@pytest.mark.threaded_workers
def test_the_job_bar_shows_the_workers_progress(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()

    def remote_scan(progress):  # type: ignore[no-untyped-def]
        progress.start("Analysing photos on Ray", total=256)
        progress.advance(96, message="3/8 batches on 2 workers")
        gate.wait(WAIT_MS / 1000)
        return None

    window.ctx.jobs.start("Scanning", remote_scan)
    try:
        qtbot.waitUntil(lambda: window.job_bar.bar.value() == 96, timeout=WAIT_MS)
        assert window.job_bar.label.text() == "Scanning: Analysing photos on Ray (3/8 batches on 2 workers)"
        assert window.job_bar.bar.format() == "96 of 256"
    finally:
        gate.set()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running, timeout=WAIT_MS)


@pytest.mark.slow
@pytest.mark.threaded_workers
def test_the_apps_scan_analyses_faces_on_ray_then_the_window_browses_on(  # type: ignore[no-untyped-def]
        window, qtbot, library, scenario: Scenario, tmp_path: Path) -> None:
    """A scan on a local Ray (started and shut down inside this process, as in the app), then People, the person
    who got the new faces and one of the photos load on the window's worker threads: a Ray scan leaves no
    frozen window behind."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (the optional extra faceorg[ray])")
    if scenario.kind != "real":
        pytest.skip("scanning with faces needs the face models and real faces")
    import faceorg.gui.main_window as mw
    from faceorg.gui.main_window import Page
    from faceorg.settings import update_settings
    from faceorg.store.folders import add_folder
    from faceorg.store.models import Assignment, Face, Photo

    new = tmp_path / "new"
    new.mkdir()
    for src in sorted((SHARED_DATA / "lfw" / "images" / "George_W_Bush").glob("*.jpg"))[:6]:
        shutil.copy(src, new / src.name)
    add_folder(library, new)
    update_settings(library, ray_address="auto")
    labels: list[str] = []
    ended: list[str] = []
    window.ctx.jobs.progressed.connect(lambda _state: labels.append(window.job_bar.label.text()))
    window.ctx.jobs.ended.connect(lambda title, _outcome: ended.append(title))
    window.rescan()
    qtbot.waitUntil(lambda: mw.SCAN_TITLE in ended, timeout=240_000)
    wait_idle(qtbot, window)
    assert any(re.fullmatch(r"Scanning: Analysing photos on Ray \(1/1 batches on \d+ workers?\)", label)
               for label in labels), labels
    with library.session() as s:
        keys = set(s.scalars(select(Photo.faces_key).where(Photo.path.startswith(str(new)))))
        placed = s.execute(select(Assignment.person_id, Face.id, Face.photo_id)
                           .join(Face, Face.id == Assignment.face_id).join(Photo, Photo.id == Face.photo_id)
                           .where(Photo.path.startswith(str(new)))).first()
    assert len(keys) == 1 and None not in keys  # all six analysed
    assert placed is not None, "no face of the scanned photos was grouped"
    person, face, photo = placed

    # Browse on: every load below goes through a worker thread and back to the GUI thread.
    window.navigate(Page("people"))
    wait_idle(qtbot, window)
    cards = window.people_view.model
    assert cards.card(person) is not None
    window.navigate(Page("person", person))
    wait_idle(qtbot, window)
    grid = window.person_view.grid
    assert face in grid.faces.ids
    window.ctx.thumbs.get(face)
    wait_idle(qtbot, window)
    assert window.ctx.thumbs.get(face) is not None  # the chip came back from the thumbnail thread
    view = open_photo(window, qtbot, photo, face)
    assert view.photo_id == photo
