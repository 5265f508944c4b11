"""File → Import Face Names from XMP… and Write Face Names to XMP…: the dialogs, the job, the summary."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select, text

from faceorg.store.models import Assignment, Face, Person, Photo
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.scenario import Scenario
from tests.xmpgen import mwg_arg, run_exiftool


def _own_photos(library, scenario: Scenario, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Give this test's library its own copy of the photos (sidecars are written next to them)."""
    folder = tmp_path / "photos"
    shutil.copytree(scenario.photos_dir, folder)
    with library.transaction() as s:
        for table in ("photos", "library_folders"):
            s.execute(text(f"UPDATE {table} SET path = replace(path, :a, :b)"),
                      {"a": str(scenario.photos_dir), "b": str(folder)})
    return folder


def test_import_names_from_xmp_in_the_file_menu(window, qtbot, scenario: Scenario, library,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    _own_photos(library, scenario, tmp_path)
    with library.session() as s:
        face, photo = s.execute(select(Face, Photo).join(Photo, Photo.id == Face.photo_id)
                                .where(Face.id.in_(scenario.unknown), Photo.orientation == 1)).first()
        box = (face.x / photo.width, face.y / photo.height, face.w / photo.width, face.h / photo.height)
        path, size, face_id = Path(photo.path), (photo.width, photo.height), face.id
    run_exiftool(mwg_arg(["Imported Person"], [box], size), path.with_name(path.name + ".xmp"))
    assert window.import_xmp_action in window.menuBar().actions()[0].menu().actions()
    window.import_xmp_action.trigger()
    qtbot.waitUntil(lambda: window.xmp_dialog is not None and window.xmp_dialog.isVisible(), timeout=WAIT_MS)
    window.xmp_dialog.start_button.click()
    qtbot.waitUntil(lambda: window.xmp_report is not None, timeout=60_000)
    wait_idle(qtbot, window)
    summary = window.xmp_report.text()
    assert "Imported: 1" in summary and "Conflicts (not applied): 0" in summary and "New faces: 0" in summary
    with library.session() as s:
        name, source = s.execute(select(Person.name, Assignment.source)
                                 .join(Assignment, Assignment.person_id == Person.id)
                                 .where(Assignment.face_id == face_id)).one()
    assert (name, source.value) == ("Imported Person", "user")
    assert window.undo_action.text() == "&Undo Import names from XMP"
    assert any(c.name == "Imported Person" for c in window.people_view.model.cards())


def test_write_names_to_xmp_in_the_file_menu(window, qtbot, scenario: Scenario, library,  # type: ignore[no-untyped-def]
                                             tmp_path: Path) -> None:
    folder = _own_photos(library, scenario, tmp_path)
    window.export_xmp_action.trigger()
    qtbot.waitUntil(lambda: window.xmp_dialog is not None and window.xmp_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window.xmp_dialog
    assert dialog.people.count() >= 3 and len(dialog.person_ids) == dialog.people.count()
    dialog.preview.setChecked(True)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: window.xmp_report is not None, timeout=60_000)
    assert "Preview: nothing was written." in window.xmp_report.text() and not list(folder.rglob("*.xmp"))
    window.xmp_report.close()
    window.xmp_report = None
    window.export_xmp_action.trigger()
    qtbot.waitUntil(lambda: window.xmp_dialog is not None and window.xmp_dialog.isVisible(), timeout=WAIT_MS)
    window.xmp_dialog.plain_xmp.setChecked(True)
    window.xmp_dialog.start_button.click()
    qtbot.waitUntil(lambda: window.xmp_report is not None, timeout=60_000)
    wait_idle(qtbot, window)
    written = list(folder.rglob("*.xmp"))
    assert written and all(not p.name.endswith(".jpg.xmp") for p in written)
    assert f"Sidecars written: {len(written)} ({len(written)} new, 0 updated)" in window.xmp_report.text()
