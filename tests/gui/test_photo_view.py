"""Photo view: upright photo, a box and a name on every face; click a box to name or reassign it (a face of an
unnamed group offers to name the whole group); remove a face."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import func, select

from faceorg.store.models import Assignment, Face, FaceStatus, Person, Photo
from tests.gui.conftest import wait_idle
from tests.gui.main_helpers import open_photo
from tests.gui.scenario import Scenario


def label(item) -> str:  # type: ignore[no-untyped-def]
    """A face list entry without its number ("2.  Colin Powell" -> "Colin Powell")."""
    return item.text().split(".  ", 1)[1]


def box_center(view, face_id: int) -> QPoint:  # type: ignore[no-untyped-def]
    face = next(f for f in view.photo.faces if f.id == face_id)
    return view.canvas.box_rect(face).center().toPoint()


def test_every_face_has_a_box_and_a_label(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    with library.session() as s:
        faces = set(s.scalars(select(Face.id).where(Face.photo_id == scenario.group_photo,
                                                   Face.status != FaceStatus.NOT_FACE)))
    assert {f.id for f in view.photo.faces} == faces and len(faces) >= 2
    assert view.face_list.count() == len(faces)
    assert view.canvas.image is not None and not view.canvas.message
    labels = {label(view.face_list.item(i)) for i in range(view.face_list.count())}
    assert labels <= {"Unknown", "Ignored", "Unnamed", "George W Bush", "Colin Powell", "Gerhard Schroeder"}
    for f in view.photo.faces:  # every box lies inside the drawn photo
        assert view.canvas.image_rect().contains(view.canvas.box_rect(f).center())


def test_click_a_box_to_name_it(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    face = next(f for f in view.photo.faces if f.person_id is None and f.status == "normal")
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=box_center(view, face.id))
    assert view.canvas.selected == face.id
    assert view.name_edit.isVisible() and view.name_edit.completer() is not None
    qtbot.keyClicks(view.name_edit, "Stranger One")
    qtbot.keyClick(view.name_edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    with library.session() as s:
        pid = s.scalar(select(Assignment.person_id).where(Assignment.face_id == face.id))
        assert s.get(Person, pid).name == "Stranger One"
    assert "Stranger One" in [label(view.face_list.item(i)) for i in range(view.face_list.count())]
    assert not view.name_edit.isVisible()
    assert "Stranger One" in [c.name for c in window.people_view.model.cards()]  # a new card appeared


def test_reassign_a_named_face_and_escape_cancels(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    face_id = scenario.faces["powell"][0]
    with library.session() as s:
        photo_id = s.get(Face, face_id).photo_id
    view = open_photo(window, qtbot, photo_id, face_id)
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=box_center(view, face_id))
    assert view.name_edit.text() == "Colin Powell"
    qtbot.keyClick(view.name_edit, Qt.Key.Key_Escape)
    assert not view.name_edit.isVisible()
    assert window.stack.currentWidget() is view  # Escape closed the editor only
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=box_center(view, face_id))
    view.name_edit.selectAll()
    qtbot.keyClicks(view.name_edit, "George W Bush")
    qtbot.keyClick(view.name_edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.scalar(select(Assignment.person_id).where(Assignment.face_id == face_id)) == scenario.people["bush"]
    assert label(view.face_list.currentItem()) == "George W Bush"


def test_remove_a_wrong_face(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    face = view.photo.faces[0]
    view.face_list.setCurrentRow(0)
    assert view.canvas.selected == face.id
    qtbot.keyClick(view.face_list, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, face.id).status is FaceStatus.NOT_FACE
    assert face.id not in [f.id for f in view.photo.faces]  # its box is gone


def test_ignore_and_not_this_person_from_the_photo(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    face_id = scenario.faces["powell"][0]
    with library.session() as s:
        photo_id = s.get(Face, face_id).photo_id
    view = open_photo(window, qtbot, photo_id, face_id)
    assert view.selected_face().id == face_id
    view.reject_action.trigger()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.scalar(select(Assignment.person_id).where(Assignment.face_id == face_id)) is None
    assert label(view.face_list.currentItem()) == "Unknown"
    view.ignore_action.trigger()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, face_id).status is FaceStatus.IGNORED
    assert label(view.face_list.currentItem()) == "Ignored"


def test_photo_is_shown_upright(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    if scenario.rotated_photo is None:
        pytest.skip("needs the real-face scenario (a photo stored rotated)")
    view = open_photo(window, qtbot, scenario.rotated_photo)
    with library.session() as s:
        photo = s.get(Photo, scenario.rotated_photo)
        assert (photo.orientation, photo.width, photo.height) == (6, 400, 250)  # upright size
    image = view.canvas.image
    assert image is not None and image.width() > image.height()  # shown as stored upright, not as stored
    assert len(view.photo.faces) >= 1
    face = view.photo.faces[0]
    # The face is in the left part of the upright photo (where the LFW portrait was pasted).
    assert face.box[0] + face.box[2] / 2 < 250
    # And the pixels under the box are the portrait's, not the dark padding.
    cx = int((face.box[0] + face.box[2] / 2) * image.width() / 400)
    cy = int((face.box[1] + face.box[3] / 2) * image.height() / 250)
    assert image.pixelColor(cx, cy).lightness() > 60


def test_escape_goes_back(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is not view


def test_collage_or_mirror_photo_is_a_checkable_undoable_action(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    action = view.collage_action
    assert action.isCheckable() and not action.isChecked() and action.isEnabled()
    action.trigger()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Photo, scenario.group_photo).is_collage
    assert action.isChecked() and window.undo_action.text() == "&Undo Mark as collage"
    qtbot.keyClick(view.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert not s.get(Photo, scenario.group_photo).is_collage
    assert not action.isChecked()


def test_a_missing_photo_says_so_and_its_faces_count_for_no_one(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from faceorg.gui.main_window import Page
    from faceorg.store.models import PhotoStatus

    bush = scenario.people["bush"]
    face = scenario.faces["bush"][0]
    with library.session() as s:
        photo = s.get(Face, face).photo_id
        path = s.get(Photo, photo).path
        gone = len(s.scalars(select(Assignment.face_id).join(Face, Face.id == Assignment.face_id)
                             .where(Face.photo_id == photo, Assignment.person_id == bush)).all())
    Path(path).rename(path + ".away")  # deleted from disk; the next scan marks it missing
    try:
        window.rescan()
        wait_idle(qtbot, window)
        with library.session() as s:
            assert s.get(Photo, photo).status == PhotoStatus.MISSING
        window.reload_views()
        wait_idle(qtbot, window)
        card = window.people_view.model.card(bush)
        with library.session() as s:  # Bush's faces whose photo is still there, counted here in SQL
            present = s.scalar(select(func.count()).select_from(Assignment).join(Face, Face.id == Assignment.face_id)
                               .join(Photo, Photo.id == Face.photo_id)
                               .where(Assignment.person_id == bush, Photo.status != PhotoStatus.MISSING))
            total = s.scalar(select(func.count()).select_from(Assignment).where(Assignment.person_id == bush))
        assert gone >= 1 and total - present >= 1 and card is not None and card.face_count == present
        window.navigate(Page("person", bush))
        wait_idle(qtbot, window)
        assert face not in window.person_view.grid.faces.ids
        view = open_photo(window, qtbot, photo, face)
        assert view.canvas.image is None and "missing" in view.canvas.message
        assert view.photo is not None and view.photo.missing
    finally:
        Path(path + ".away").rename(path)


def test_one_enter_takes_the_highlighted_completion(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    here = {f.person_id for f in view.photo.faces}
    key, typed = next((k, t) for k, t in (("powell", "powe"), ("bush", "bush"), ("schroeder", "schro"))
                      if scenario.people[k] not in here)  # a person not in this photo already
    face = next(f for f in view.photo.faces if f.status == "normal")
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=box_center(view, face.id))
    view.name_edit.clear()
    qtbot.keyClicks(view.name_edit, typed)
    popup = view.name_edit.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # once
    wait_idle(qtbot, window)
    assert not view.name_edit.isVisible()
    with library.session() as s:
        assert s.scalar(select(Assignment.person_id).where(Assignment.face_id == face.id)) == scenario.people[key]


def name_in_photo(window, qtbot, library, face_id: int, name: str, answer: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """Click the face's box, type a name, Enter; answer the offer with the button ``answer`` (None: no offer)."""
    from tests.gui.conftest import when_modal

    with library.session() as s:
        photo_id = s.get(Face, face_id).photo_id
    view = open_photo(window, qtbot, photo_id, face_id)
    offered: list[str] = []

    def choose(box) -> None:  # type: ignore[no-untyped-def]
        offered.extend(b.text() for b in box.buttons())
        box.findChild(QPushButton, f"{answer}Button").click()

    if answer is not None:
        when_modal(qtbot, choose)
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=box_center(view, face_id))
    qtbot.keyClicks(view.name_edit, name)
    qtbot.keyClick(view.name_edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    return offered


def places(library, face_ids: list[int]) -> dict[int, tuple[int | None, str | None]]:  # type: ignore[no-untyped-def]
    with library.session() as s:
        rows = {a.face_id: (a.person_id, a.source.value) for a in s.scalars(
            select(Assignment).where(Assignment.face_id.in_(face_ids)))}
    return {f: rows.get(f, (None, None)) for f in face_ids}


def test_naming_a_face_of_an_unnamed_group_offers_the_whole_group(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    group = scenario.people["blair"]
    faces = scenario.faces["blair"][:-1]
    offered = name_in_photo(window, qtbot, library, faces[0], "Tony Blair", "wholeGroup")
    assert f"Name the whole group ({len(faces)} faces) “Tony Blair”" in offered and "Only this face" in offered
    with library.session() as s:
        assert s.get(Person, group).name == "Tony Blair"
    got = places(library, faces)
    assert got[faces[0]] == (group, "user")  # the face the user named is confirmed...
    assert {got[f] for f in faces[1:]} == {(group, "auto")}  # ...the others stay automatic
    assert window.undo_action.text() == "&Undo Name “Tony Blair”"
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, group).name is None
    assert set(places(library, faces).values()) == {(group, "auto")}


def test_naming_only_this_face_of_a_group(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    group = scenario.people["blair"]
    faces = scenario.faces["blair"][:-1]
    name_in_photo(window, qtbot, library, faces[0], "Tony Blair", "onlyThisFace")
    got = places(library, faces)
    with library.session() as s:
        assert s.get(Person, got[faces[0]][0]).name == "Tony Blair" and s.get(Person, group).name is None
    assert got[faces[0]][1] == "user" and {got[f] for f in faces[1:]} == {(group, "auto")}
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert set(places(library, faces).values()) == {(group, "auto")}


def test_naming_a_face_of_a_named_person_asks_nothing(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    face = scenario.auto_named  # Powell's, automatic
    assert name_in_photo(window, qtbot, library, face, "George W Bush", None) == []
    assert places(library, [face])[face] == (scenario.people["bush"], "user")
