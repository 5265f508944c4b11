"""Photo view: drag a box on the photo to add a face the detector missed and name it; resize a box you added
with its handles; remove it with Delete; the app's Undo takes each step back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from sqlalchemy import delete, select

from faceorg.store.models import Assignment, AssignmentSource, Face, Person
from tests.gui.conftest import wait_idle
from tests.gui.main_helpers import open_photo
from tests.gui.scenario import Scenario


@pytest.fixture()
def missed(scenario: Scenario, library) -> tuple[int, tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """The rotated real photo (EXIF orientation 6) with its face removed, as if the detector had missed it:
    (photo id, the face's box in the upright photo)."""
    if scenario.kind != "real" or scenario.rotated_photo is None:
        pytest.skip("drawing a face needs the real photos of ../shared/data and the face models")
    with library.transaction() as s:
        face = max(s.scalars(select(Face).where(Face.photo_id == scenario.rotated_photo)), key=lambda f: f.w * f.h)
        box = (face.x, face.y, face.w, face.h)
        s.execute(delete(Face).where(Face.id == face.id))
    return scenario.rotated_photo, box


def drag(qtbot, widget, start: QPointF, end: QPointF) -> None:  # type: ignore[no-untyped-def]
    """Press at ``start``, move in steps, release at ``end`` (the left button), as a hand would."""
    a, b = start.toPoint(), end.toPoint()
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=a)
    for k in range(1, 6):
        qtbot.mouseMove(widget, pos=a + (b - a) * k / 5)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=b)


def face_rows(library, photo_id: int) -> list[Face]:  # type: ignore[no-untyped-def]
    """The faces the user drew on the photo."""
    with library.session() as s:
        return list(s.scalars(select(Face).where(Face.photo_id == photo_id, Face.manual.is_(True))))


def drawn_in_view(view) -> list[int]:  # type: ignore[no-untyped-def]
    return [f.id for f in view.photo.faces if f.manual]


def grown(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return x - by, y - by, w + 2 * by, h + 2 * by


def test_drag_a_box_to_add_a_named_face_and_undo(window, qtbot, library, missed) -> None:  # type: ignore[no-untyped-def]
    photo_id, box = missed
    view = open_photo(window, qtbot, photo_id)
    assert drawn_in_view(view) == [] and view.canvas.image is not None
    wanted = grown(box, 10)
    rect = view.canvas.photo_to_widget(wanted)
    drag(qtbot, view.canvas, rect.topLeft(), rect.bottomRight())
    editor = view.drawing.name_edit
    assert editor.isVisible() and editor.completer() is not None
    assert face_rows(library, photo_id) == []  # nothing stored until the name is given
    qtbot.keyClicks(editor, "Colin Powell")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    wait_idle(qtbot, window)

    (face,) = face_rows(library, photo_id)
    assert face.manual and face.score == 1.0
    scale = (view.photo.width or 1) / view.canvas.image_rect().width()  # photo pixels per screen pixel
    assert all(abs(a - b) <= 1.5 * scale for a, b in zip((face.x, face.y, face.w, face.h), wanted))
    with library.session() as s:
        a = s.get(Assignment, face.id)
        assert a is not None and a.source is AssignmentSource.USER
        assert s.get(Person, a.person_id).name == "Colin Powell"  # type: ignore[union-attr]
    assert drawn_in_view(view) == [face.id] and view.canvas.selected == face.id
    assert view.face_list.currentItem().text().endswith("Colin Powell")
    assert view.drawing.remove_action.isEnabled() and not editor.isVisible()

    assert window.undo_action.text().startswith("&Undo Add face")
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert face_rows(library, photo_id) == [] and drawn_in_view(view) == []
    window.redo_action.trigger()
    wait_idle(qtbot, window)
    assert [f.id for f in face_rows(library, photo_id)] == [face.id]


def test_escape_drops_the_drawn_box(window, qtbot, library, missed) -> None:  # type: ignore[no-untyped-def]
    photo_id, box = missed
    view = open_photo(window, qtbot, photo_id)
    rect = view.canvas.photo_to_widget(box)
    drag(qtbot, view.canvas, rect.topLeft(), rect.bottomRight())
    assert view.drawing.name_edit.isVisible()
    qtbot.keyClick(view.drawing.name_edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    assert not view.drawing.name_edit.isVisible() and face_rows(library, photo_id) == []
    assert window.stack.currentWidget() is view  # Escape dropped the box only
    # A click (no drag) on the photo draws nothing.
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert not view.drawing.name_edit.isVisible()


def test_resize_with_a_handle_then_delete_removes_it(window, qtbot, library, missed) -> None:  # type: ignore[no-untyped-def]
    photo_id, box = missed
    view = open_photo(window, qtbot, photo_id)
    rect = view.canvas.photo_to_widget(grown(box, 25))
    drag(qtbot, view.canvas, rect.topLeft(), rect.bottomRight())
    qtbot.keyClick(view.drawing.name_edit, Qt.Key.Key_Return)  # no name: the next grouping places it
    wait_idle(qtbot, window)
    (face,) = face_rows(library, photo_id)
    with library.session() as s:
        assert s.get(Assignment, face.id) is None
    assert view.canvas.selected == face.id

    # Drag the bottom-right handle up-left to the face's own corner.
    drawn = view.canvas.photo_to_widget((face.x, face.y, face.w, face.h))
    target = view.canvas.photo_to_widget(box).bottomRight()
    drag(qtbot, view.canvas, drawn.bottomRight(), target)
    wait_idle(qtbot, window)
    (resized,) = face_rows(library, photo_id)
    scale = (view.photo.width or 1) / view.canvas.image_rect().width()
    assert abs(resized.x + resized.w - (box[0] + box[2])) <= 1.5 * scale
    assert abs(resized.y + resized.h - (box[1] + box[3])) <= 1.5 * scale
    assert (resized.x, resized.y) == (face.x, face.y)  # the other corner stayed
    assert window.undo_action.text() == "&Undo Resize face"

    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Delete)
    wait_idle(qtbot, window)
    assert face_rows(library, photo_id) == [] and drawn_in_view(view) == []
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert [f.w for f in face_rows(library, photo_id)] == [resized.w]


def test_detected_faces_have_no_handles_and_delete_keeps_them(window, qtbot, scenario: Scenario,
                                                               library) -> None:  # type: ignore[no-untyped-def]
    view = open_photo(window, qtbot, scenario.group_photo)
    face = view.photo.faces[0]
    view.select_face(face.id)
    assert not face.manual and not view.drawing.remove_action.isEnabled()
    rect: QRectF = view.canvas.box_rect(face)
    assert view.drawing.overlay_box() == (None, False)
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Delete)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, face.id) is not None
    # Pressing on its corner starts no resize: the click selects the face as before.
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert view.canvas.selected == face.id and view.drawing.mode.name == "IDLE"
