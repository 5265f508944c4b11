"""Undo / redo of every operation from the keyboard, background jobs (progress, Cancel, errors), settings."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox, QPushButton
from sqlalchemy import func, select

from faceorg.errors import ModelsMissingError
from faceorg.people import ops
from faceorg.settings import load_settings
from faceorg.store.models import Face, Photo
from tests.gui.conftest import WAIT_MS, wait_idle, when_modal
from tests.gui.scenario import Scenario
from tests.libgen import decisions_snapshot

snapshot = decisions_snapshot


def operations(sc: Scenario) -> list[tuple[str, object, tuple[object, ...]]]:
    p, f = sc.people, sc.faces
    return [
        ("Name", ops.name_person, (p["blair"], "Tony Blair")),
        ("Merge", ops.merge_people, (p["blair"], [p["rumsfeld"]])),
        ("New person from selection", ops.split_faces, (f["blair"][:2],)),
        ("Move", ops.move_faces, ([sc.wrong_face], p["powell"])),
        ("Not this person", ops.reject_faces, (f["bush"][:1], p["bush"])),
        ("Not a face", ops.mark_not_face, (sc.unknown[:1],)),
        ("Ignore", ops.ignore_faces, (sc.unknown[1:2],)),
        ("Restore", ops.restore_faces, (sc.ignored,)),
        ("Use as cover", ops.set_cover, (p["powell"], f["powell"][1])),
        ("Hide", ops.hide_person, (p["bush"],)),
        ("Accept", ops.accept_suggestions, (sc.suggested[:1],)),
        ("Not this person", ops.reject_suggestions, (sc.suggested[1:],)),
        ("Create", ops.assign_faces_to_name, (sc.unknown[2:3], "Somebody New")),
    ]


def test_undo_and_redo_every_operation_from_the_keyboard(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    assert not window.undo_action.isEnabled()
    for label, fn, args in operations(scenario):
        before = snapshot(library)
        window.ctx.run_op(fn, *args)
        wait_idle(qtbot, window)
        after = snapshot(library)
        assert after != before, label
        undo_text = window.undo_action.text()
        assert undo_text.startswith("&Undo ") and len(undo_text) > len("&Undo "), label
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        wait_idle(qtbot, window)
        assert snapshot(library) == before, f"undo {label}"
        assert window.redo_action.isEnabled() and window.redo_action.text() == "&Redo " + undo_text[len("&Undo "):]
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        wait_idle(qtbot, window)
        assert snapshot(library) == after, f"redo {label}"
    # The views followed the records: the people grid matches a fresh listing.
    from faceorg.people.gui_support import person_cards

    fresh = [(c.id, c.name, c.face_count) for c in person_cards(library) if not c.hidden]
    m = window.people_view.model
    assert [(c.id, c.name, c.face_count) for c in (m.card_at(r) for r in range(m.rowCount()))] == fresh
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert edit_menu.actions()[0] is window.undo_action
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in window.redo_action.shortcuts()]


def test_errors_of_operations_are_shown_in_a_dialog(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(library)
    window.ctx.run_op(ops.merge_people, scenario.people["bush"], [])  # "choose at least one other person"
    wait_idle(qtbot, window)
    box = window.findChild(QMessageBox, "errorBox")
    assert box is not None and box.isVisible()
    assert "at least one other person" in box.text()
    box.button(QMessageBox.StandardButton.Ok).click()
    assert snapshot(library) == before


def add_photos(folder: Path, n: int, scenario: Scenario) -> None:
    import shutil

    folder.mkdir()
    sources = sorted(scenario.photos_dir.rglob("*.jpg"))
    for i in range(n):
        shutil.copy(sources[i % len(sources)], folder / f"copy_{i:03d}.jpg")


@pytest.mark.threaded_workers  # what is tested is the worker thread itself
def test_scan_runs_in_the_background_with_progress(window, qtbot, scenario: Scenario, library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "more"
    add_photos(folder, 6, scenario)
    seen_threads: list[str] = []
    import faceorg.gui.main_window as mw
    import faceorg.jobs.scan_group as scan_group

    real_scan = scan_group.scan_library

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen_threads.append(threading.current_thread().name)
        return real_scan(*args, **kwargs)

    scan_group.scan_library = spy
    ended: list[str] = []
    messages: list[str] = []
    window.ctx.jobs.ended.connect(lambda title, _outcome: ended.append(title))
    window.statusBar().messageChanged.connect(messages.append)
    # The sidebar's + button asks for a folder (the folder dialog, answered here), adds it and scans.
    real_dialog = mw.choose_folder
    mw.choose_folder = lambda *a, **k: str(folder)
    try:
        qtbot.mouseClick(window.sidebar.folders.add_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.job_bar.isVisible(), timeout=WAIT_MS)
        assert window.job_bar.cancel_button.isEnabled()
        assert not window.rescan_action.isEnabled()
        # After a scan that found faces, the same job groups them.
        qtbot.waitUntil(lambda: mw.SCAN_TITLE in ended, timeout=60_000)
        wait_idle(qtbot, window)
    finally:
        scan_group.scan_library = real_scan
        mw.choose_folder = real_dialog
    assert seen_threads and seen_threads[0] != threading.main_thread().name
    assert not window.job_bar.isVisible() and window.rescan_action.isEnabled()
    assert any(f.path == str(folder) for f in window.folders)
    assert any(m.startswith("Scanned:") and "6 new" in m for m in messages), messages
    if scenario.kind == "real":
        assert any("Grouped the new faces" in m for m in messages), messages
    # F5 scans again: nothing new.
    ended.clear()
    messages.clear()
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: mw.SCAN_TITLE in ended, timeout=60_000)
    wait_idle(qtbot, window)
    assert any(m.startswith("Scanned:") and " 0 new" in m for m in messages), messages
    with library.session() as s:
        n = s.scalar(select(func.count()).select_from(Photo).where(Photo.path.like(f"{folder}%")))
    assert n == 6
    if scenario.kind == "real":  # faces were found, then grouped; the views show what the database holds
        with library.session() as s:
            new = s.scalar(select(func.count()).select_from(Face).join(Photo).where(Photo.path.like(f"{folder}%")))
        assert new and new > 0
        assert_views_match_database(window, qtbot, library)


def assert_views_match_database(window, qtbot, library) -> None:  # type: ignore[no-untyped-def]
    """The People grid and the unknown-faces list equal fresh listings (they followed the change records)."""
    from faceorg.gui.main_window import Page
    from faceorg.people.gui_support import face_cards_by_status, person_cards

    m = window.people_view.model
    fresh = [(c.id, c.name, c.face_count) for c in person_cards(library) if not c.hidden]
    assert [(c.id, c.name, c.face_count) for c in (m.card_at(r) for r in range(m.rowCount()))] == fresh
    window.navigate(Page("unknown"))
    wait_idle(qtbot, window)
    assert sorted(window.faces_view.grid.faces.ids) == sorted(c.id for c in face_cards_by_status(library, None))


def test_group_faces_from_the_menu(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.main_window import Page

    window.navigate(Page("unknown"))  # load the list before, so it has to follow the grouping's record
    wait_idle(qtbot, window)
    ended: list[tuple[str, str]] = []
    window.ctx.jobs.ended.connect(lambda title, outcome: ended.append((title, outcome)))
    window.navigate(Page("people"))
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    wait_idle(qtbot, window)
    assert ended == [("Grouping faces", "done")]
    assert window.findChild(QMessageBox, "errorBox") is None
    assert_views_match_database(window, qtbot, library)


@pytest.mark.threaded_workers  # what is tested is the worker thread itself
def test_cancel_a_running_job(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    done: list[object] = []

    def slow(progress):  # type: ignore[no-untyped-def]
        progress.start("Counting", total=1000)
        for _ in range(1000):
            gate.wait(0.005)
            progress.advance()
            progress.check_cancelled()
        return "finished"

    window.ctx.jobs.start("Slow job", slow, on_done=done.append)
    qtbot.waitUntil(lambda: window.job_bar.bar.maximum() == 1000 and window.job_bar.bar.value() > 0, timeout=WAIT_MS)
    assert "Slow job: Counting" in window.job_bar.label.text()
    qtbot.mouseClick(window.job_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.ctx.jobs.running, timeout=WAIT_MS)
    assert done == []  # stopped before the end
    assert not window.job_bar.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()


def test_job_errors_show_a_dialog(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    def broken(_progress):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    window.ctx.jobs.start("Broken job", broken)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorBox") is not None, timeout=WAIT_MS)
    box = window.findChild(QMessageBox, "errorBox")
    assert "disk on fire" in box.text() and box.windowTitle() == "Broken job failed"
    assert "RuntimeError" in box.detailedText()
    box.button(QMessageBox.StandardButton.Ok).click()


def test_missing_models_offer_a_catalogue_only_scan(window, qtbot, monkeypatch: pytest.MonkeyPatch,
                                                     scenario: Scenario, library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import faceorg.pipeline.factory as factory

    def missing(_library):  # type: ignore[no-untyped-def]
        raise ModelsMissingError("retinaface_mnet025.onnx not found")

    monkeypatch.setattr(factory, "analyzer_for_library", missing)
    folder = tmp_path / "catalogue"
    add_photos(folder, 3, scenario)
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "modelsMissingBox") is not None, timeout=WAIT_MS)
    box = window.findChild(QMessageBox, "modelsMissingBox")
    assert "faceorg models fetch" in box.text()
    next(b for b in box.findChildren(QPushButton) if b.text() == "Scan Without Faces").click()
    qtbot.waitUntil(lambda: not window.ctx.jobs.running and window.ctx.jobs.idle, timeout=60_000)
    wait_idle(qtbot, window)
    with library.session() as s:
        rows = s.execute(select(Photo.status, Photo.faces_key).where(Photo.path.like(f"{folder}%"))).all()
    assert len(rows) == 3 and all(key is None for _status, key in rows)  # catalogued, faces not looked for


def test_remove_a_folder(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    panel = window.sidebar.folders
    assert panel.list.count() == 1
    panel.list.setCurrentRow(0)

    def remove(box) -> None:  # type: ignore[no-untyped-def]
        next(b for b in box.findChildren(QPushButton) if b.text() == "Remove").click()

    when_modal(qtbot, remove)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 0
    # The views reloaded: no card holds faces any more (the people themselves stay: the core keeps them).
    assert all(c.face_count == 0 for c in window.people_view.model.cards())
    assert window.review_view.items == []
    assert "No folders yet" in panel.list.item(0).text()


def test_settings_dialog(window, qtbot, library) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.settings_dialog is not None, timeout=WAIT_MS)
    dialog = window.settings_dialog
    qtbot.waitUntil(lambda: not dialog.provider.text().startswith("Checking"), timeout=WAIT_MS)
    text = dialog.provider.text()  # a plain sentence; onnxruntime's own words only in the tooltip
    assert text.startswith("Face analysis") and ("processor" in text or "graphics card" in text), text
    assert not any(w in text for w in ("ExecutionProvider", "onnxruntime", "CUDA", "cuDNN")), text
    assert "onnxruntime" in dialog.provider.toolTip()
    helps = " ".join(label.text() for label in dialog.findChildren(QLabel, "help"))
    assert "next time faces are grouped" in helps and "scanned from now on" in helps and "next scan" not in helps
    assert dialog.folders.list.count() == 1  # the library folders are listed here too
    assert [dialog.sensitivity.itemData(i) for i in range(dialog.sensitivity.count())] == ["fewer", "balanced", "more"]
    dialog.sensitivity.setCurrentIndex(2)
    dialog.min_face.setValue(32)
    dialog.use_gpu.setChecked(False)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    wait_idle(qtbot, window)
    saved = load_settings(library)
    assert (saved.cluster_sensitivity, saved.min_face_size, saved.use_gpu) == ("more", 32, False)
    assert window.settings_dialog is None
    said = window.statusBar().currentMessage()  # when each change applies, in the dialog's words
    assert "next time faces are grouped" in said and "scanned from now on" in said, said


def test_settings_dialog_shows_every_line_of_its_help(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """No wrapped label is squeezed below the height its text needs (Qt sizes a dialog without asking
    word-wrapped labels for their height at the dialog's width): on a small screen the form scrolls."""
    from faceorg.gui.settings_dialog import SettingsDialog
    from faceorg.settings import Settings

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert dialog.frameGeometry().height() <= screen.height() and dialog.width() <= screen.width()
    wrapped = [label for label in dialog.findChildren(QLabel) if label.wordWrap() and label.isVisible()]
    assert len(wrapped) >= 4
    for label in wrapped:
        assert label.height() >= label.heightForWidth(label.width()), (label.text()[:40], label.height())


def test_window_geometry_is_remembered(qtbot, library, qsettings) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow, Page

    make_application()
    first = MainWindow(library, qsettings)
    qtbot.addWidget(first)
    first.resize(760, 540)  # inside the offscreen screen (800x600): restoring clamps to the screen
    first.show()
    first.navigate(Page("unknown"))
    qtbot.waitUntil(lambda: first.ctx.idle, timeout=WAIT_MS)
    first.close()
    second = MainWindow(library, qsettings)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (760, 540)
    assert second.page is not None and second.page.kind == "unknown"
    qtbot.waitUntil(lambda: second.ctx.idle, timeout=WAIT_MS)
    second.close()
    # Another library (a new one, or one opened with --db) starts on People, not on the last one's view.
    qsettings.setValue("viewLibrary", str(library.location.path) + ".another")
    third = MainWindow(library, qsettings)
    qtbot.addWidget(third)
    third.show()
    assert third.page is not None and third.page.kind == "people"
    qtbot.waitUntil(lambda: third.ctx.idle, timeout=WAIT_MS)
    third.close()


def test_window_title_names_the_library_and_the_app_once(window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QGuiApplication

    # What the window manager shows: the platform window adds the application's display name to the title
    # (QPlatformWindow::formatWindowTitle; on X11 this is what `xdotool getwindowname` reads).
    title, app_name = window.windowTitle(), QGuiApplication.applicationDisplayName()
    shown = title if not app_name or title == app_name else f"{title} \u2014 {app_name}"
    assert app_name == "faceorg"
    assert shown.count("faceorg") == 1 and window.ctx.library.path.name in shown, shown


def status_bar_texts(win) -> str:  # type: ignore[no-untyped-def]
    """Everything the status bar shows now: its message and its visible labels."""
    from PySide6.QtWidgets import QLabel

    labels = [w.text() for w in win.statusBar().findChildren(QLabel) if w.isVisible()]
    return " | ".join([win.statusBar().currentMessage(), *labels])


def test_the_scan_summary_stays_after_the_grouping_that_follows(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from faceorg.store.models import Photo

    with library.session() as s:
        gone = s.get(Photo, scenario.group_photo).path
    new = Path(gone).with_name("added_later.jpg")
    shutil.copy(sorted(scenario.photos_dir.rglob("*.jpg"))[0], new)  # a new face: grouping follows the scan
    Path(gone).rename(gone + ".away")  # and a photo gone from disk
    ended: list[str] = []
    window.ctx.jobs.ended.connect(lambda title, _outcome: ended.append(title))
    try:
        window.rescan()  # the scan job groups the new face at its end, and the grouping's message follows
        qtbot.waitUntil(lambda: bool(ended), timeout=WAIT_MS)
        wait_idle(qtbot, window)
    finally:
        Path(gone + ".away").rename(gone)
        new.unlink()
    shown = status_bar_texts(window)
    assert "1 missing" in shown and "1 new" in shown, shown
