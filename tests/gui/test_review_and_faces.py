"""Review view (A / R / S, next face at once) and the unknown, ignored and not-a-face lists."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import select

from faceorg.people.queries import review_queue
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceNotPerson, FaceStatus
from tests.gui.conftest import wait_idle, when_modal
from tests.gui.main_helpers import distances_to
from tests.gui.scenario import Scenario


def go(win, qtbot, key: str):  # type: ignore[no-untyped-def]
    qtbot.keyClick(win, {"people": Qt.Key.Key_1, "review": Qt.Key.Key_2, "unknown": Qt.Key.Key_3,
                         "ignored": Qt.Key.Key_4, "suggested": Qt.Key.Key_5, "check": Qt.Key.Key_6}[key],
                   Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, win)


def review_faces(win, qtbot):  # type: ignore[no-untyped-def]
    """The Review view on its single faces (questions come first)."""
    go(win, qtbot, "review")
    view = win.review_view
    qtbot.mouseClick(view.faces_button, Qt.MouseButton.LeftButton)
    assert view.mode == "faces"
    return view


def source(library, face_id: int):  # type: ignore[no-untyped-def]
    with library.session() as s:
        return s.scalar(select(Assignment.source).where(Assignment.face_id == face_id))


def test_review_lists_suggestions_by_uncertainty_with_the_person(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = review_faces(window, qtbot)
    assert window.stack.currentWidget() is view
    expected = [f.id for f in review_queue(library)]
    assert [f.id for f in view.items] == expected
    assert set(expected) == {*scenario.suggested, scenario.auto_named}
    first = view.current()
    assert first is not None and view.question.text() == f"Is this {first.person_name}?"
    assert view.person.face_id is not None  # the person's face is shown beside the face
    assert view.face.face_id == first.id
    assert window.sidebar.views.item(1).text() == f"Review ({3 + len(view.questions)})"


def test_accept_reject_skip_with_single_keys(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = review_faces(window, qtbot)
    view.setFocus()
    order = [f.id for f in view.items]
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert view.current().id == order[1]  # the next face at once, before the operation finished
    wait_idle(qtbot, window)
    assert source(library, order[0]) is AssignmentSource.USER
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert view.current().id == order[2]
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current().id == order[1]  # wrapped around
    rejected = view.current()
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(FaceNotPerson, (rejected.id, rejected.person_id)) is not None
    assert source(library, rejected.id) is None
    assert [f.id for f in view.items] == [order[2]]
    # Undo brings the rejected face back to the front of the queue.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert view.current().id == rejected.id
    qtbot.keyClick(view, Qt.Key.Key_A)
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    assert view.items == []
    assert view.mode == "questions" if view.questions else view.empty.isVisible()  # then the questions


def test_review_opens_the_photo(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    face = review_faces(window, qtbot).current()
    qtbot.keyClick(window.review_view, Qt.Key.Key_P)
    wait_idle(qtbot, window)
    assert window.stack.currentWidget() is window.photo_view
    assert window.photo_view.canvas.selected == face.id


def test_unknown_faces_name_and_ignore(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    go(window, qtbot, "unknown")
    view = window.faces_view
    grid = view.grid
    assert sorted(grid.faces.ids) == sorted(scenario.unknown)
    assert view.count_label.text().startswith(f"{len(scenario.unknown)} face")
    a, b = grid.faces.ids[:2]
    grid.select_ids([a, b])

    def name(dialog) -> None:  # type: ignore[no-untyped-def]
        dialog.edit.setText("Neighbour")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, name)
    qtbot.keyClick(grid, Qt.Key.Key_F2)
    wait_idle(qtbot, window)
    assert a not in grid.faces.ids and b not in grid.faces.ids
    with library.session() as s:
        owners = set(s.scalars(select(Assignment.person_id).where(Assignment.face_id.in_([a, b]))))
    assert len(owners) == 1
    c = grid.faces.ids[0]
    grid.select_ids([c])
    qtbot.keyClick(grid, Qt.Key.Key_Delete)  # Delete ignores an unknown face
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, c).status is FaceStatus.IGNORED
    assert c not in grid.faces.ids


def test_look_alikes_first_then_the_usual_order(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    go(window, qtbot, "unknown")
    view = window.faces_view
    grid = view.grid
    usual = list(grid.faces.ids)
    assert len(usual) >= 3 and not view.usual_order_action.isVisible()
    seed = usual[-1]
    grid.select_ids([seed])
    assert view.like_action.isEnabled()
    qtbot.keyClick(grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    shown = grid.faces.ids
    assert shown[0] == seed and sorted(shown) == sorted(usual) and grid.selected_ids() == [seed]
    distances = distances_to(library, seed, shown[1:])
    ranked = [f for f in shown[1:] if f in distances]
    assert [distances[f] for f in ranked] == sorted(distances[f] for f in ranked)  # nearest first
    assert [f for f in shown[1:] if f not in distances] == [f for f in usual if f not in distances and f != seed]
    if scenario.kind == "real":
        assert len(ranked) == len(shown) - 1  # every face has a vector under the real models
    assert view.usual_order_action.isVisible()  # the way back, and the sign of the order shown
    view.usual_order_action.trigger()
    wait_idle(qtbot, window)
    assert grid.faces.ids == usual and not view.usual_order_action.isVisible()


def test_suggested_faces_of_every_person_rejected_and_accepted_all(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+5: every face suggested to a named person in one list, each captioned with that name; R turns the
    selected ones down, Accept All says yes to the rest in one step, and Ctrl+Z takes that step back."""
    go(window, qtbot, "suggested")
    view = window.faces_view
    grid = view.grid
    assert view.mode == "suggested" and window.stack.currentWidget() is view
    assert window.sidebar.views.currentItem().text().startswith("Suggested faces")
    assert grid.faces.ids == scenario.suggested  # the nearer (surer) first: the scenario gives 0.42, then 0.47
    assert {c.person_name for c in grid.faces.cards()} == {"George W Bush"}
    assert "2 faces of 1 person" in (view.count_label.text(), view.count_label.toolTip())
    assert view.accept_all_action.isVisible() and view.accept_all_action.text() == "Accept All 2"
    assert not view.restore_action.isVisible()
    grid.grab()  # painted: each chip carries the name it is suggested to
    assert any(name == "George W Bush" for name, _width in grid.chips._captions)
    wrong, right = grid.faces.ids
    grid.select_ids([wrong])
    qtbot.keyClick(grid, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    assert grid.faces.ids == [right] and grid.selected_ids() == [right]  # the next face, ready for A or R
    with library.session() as s:
        assert s.scalar(select(Assignment.face_id).where(Assignment.face_id == wrong)) is None
        assert s.get(FaceNotPerson, (wrong, scenario.people["bush"])) is not None
    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    assert source(library, right) is AssignmentSource.USER and source(library, scenario.auto_named) is \
        AssignmentSource.AUTO  # automatic faces are not suggestions: left as they were
    assert grid.faces.ids == [] and "No suggested faces" in grid.empty_text
    assert not view.accept_all_action.isEnabled()
    assert window.undo_action.text() == "&Undo Accept 1 suggested face"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert source(library, right) is AssignmentSource.SUGGESTED and grid.faces.ids == [right]
    qtbot.mouseClick(view.findChild(type(view.mode_buttons.buttons()[0]), "mode_unknown"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert view.mode == "unknown" and window.sidebar.views.currentItem().text().startswith("Unknown")
    assert not view.accept_action.isVisible() and not view.accept_all_action.isVisible()
    grid.grab()
    assert view.grid.chips.show_names is False


def test_check_named_faces_least_sure_first_confirm_and_reject(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+6: every face of a named person not confirmed yet (automatic or suggested), across people, the least
    sure first and captioned with its person; C confirms, R turns down (each from its own person), Confirm All
    the rest."""
    from faceorg.people.gui_support import face_cards_to_check
    from faceorg.people.queries import doubt_of_named_faces

    go(window, qtbot, "check")
    view = window.faces_view
    grid = view.grid
    assert view.mode == "check" and window.stack.currentWidget() is view
    assert window.sidebar.views.currentItem().text() == "Check named faces"
    expected = {*scenario.suggested, scenario.auto_named}
    assert set(grid.faces.ids) == expected
    with library.session() as s:
        doubt = doubt_of_named_faces(s)
    if scenario.kind == "real":  # (the drawn scenario's faces have no vectors: by id)
        assert [doubt[f] for f in grid.faces.ids] == sorted((doubt[f] for f in expected), reverse=True)
    assert [c.id for c in face_cards_to_check(library, limit=1)] == grid.faces.ids[:1]  # a long list: the top
    assert {c.person_name for c in grid.faces.cards()} == {"George W Bush", "Colin Powell"}
    assert view.accept_action.text() == "&Confirm" and view.accept_all_action.text() == "Confirm All 3"
    grid.grab()
    assert grid.chips.show_names and {name for name, _w in grid.chips._captions} >= {"Colin Powell"}
    grid.select_ids([scenario.auto_named])
    qtbot.keyClick(grid, Qt.Key.Key_C)
    wait_idle(qtbot, window)
    assert source(library, scenario.auto_named) is AssignmentSource.USER
    assert scenario.auto_named not in grid.faces.ids and len(grid.selected_ids()) == 1
    wrong = grid.selected_ids()[0]
    qtbot.keyClick(grid, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(FaceNotPerson, (wrong, scenario.people["bush"])) is not None
    left = [f for f in scenario.suggested if f != wrong]
    assert grid.faces.ids == left
    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)  # Confirm All: the rest, in one step
    assert [source(library, f) for f in left] == [AssignmentSource.USER] and grid.faces.ids == []
    assert window.undo_action.text() == "&Undo Confirm 1 face"


def test_a_group_named_elsewhere_joins_the_check_list_and_leaves_it_when_undone(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """Naming a group changes no face, yet its automatic faces now wait in the Check list: the list, loaded
    before (shown or not), takes them in; undoing the naming takes them out."""
    from faceorg.people import ops

    go(window, qtbot, "check")
    view = window.faces_view
    before = list(view.grid.faces.ids)
    group = scenario.people["rumsfeld"]
    with library.session() as s:
        faces = set(s.scalars(select(Assignment.face_id).where(Assignment.person_id == group)))
    go(window, qtbot, "people")  # the list stays loaded, out of sight
    window.ctx.run_op(ops.name_person, group, "Donald Rumsfeld")
    wait_idle(qtbot, window)
    go(window, qtbot, "check")
    assert set(view.grid.faces.ids) == set(before) | faces
    assert {c.person_name for c in view.grid.faces.cards() if c.id in faces} == {"Donald Rumsfeld"}
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert sorted(view.grid.faces.ids) == sorted(before)


def test_ignored_and_not_a_face_lists_restore(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    go(window, qtbot, "ignored")
    view = window.faces_view
    assert view.mode == "ignored" and view.grid.faces.ids == scenario.ignored
    face = scenario.ignored[0]
    view.grid.select_ids([face])
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)  # not a face
    wait_idle(qtbot, window)
    assert view.grid.faces.ids == []
    assert "No ignored faces" in view.grid.empty_text
    qtbot.mouseClick(view.findChild(type(view.mode_buttons.buttons()[0]), "mode_not_face"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert view.grid.faces.ids == [face]
    view.grid.select_ids([face])
    assert view.restore_action.isVisible() and view.restore_action.isEnabled()
    qtbot.keyClick(view.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, face).status is FaceStatus.NORMAL
    assert view.grid.faces.ids == []
    go(window, qtbot, "unknown")
    assert face in view.grid.faces.ids  # restored faces are unknown again


def test_undo_after_the_last_face_shows_that_face_again(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """The queue ran out (the questions, or nothing, on screen); Ctrl+Z brings the last face back on screen,
    and A decides it at once."""
    view = review_faces(window, qtbot)
    view.setFocus()
    last = None
    while view.current() is not None:
        last = view.current()
        qtbot.keyClick(view, Qt.Key.Key_A)
        wait_idle(qtbot, window)
    assert last is not None and not view.items
    view.clearFocus()  # focus went elsewhere meanwhile
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert view.mode == "faces" and view.current() is not None and view.current().id == last.id
    assert view.face.face_id == last.id
    assert window.focusWidget() is view
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(FaceNotPerson, (last.id, last.person_id)) is not None


def test_naming_a_group_puts_its_waiting_faces_in_review_and_unnaming_takes_them_out(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """Naming names the person; its automatic faces then wait for review. The queue (and the count in the
    sidebar) must say so at once, as it does after a restart, and an undo must take them out again."""
    from faceorg.people import ops

    view = review_faces(window, qtbot)
    before = [f.id for f in view.items]
    blair = scenario.people["blair"]
    window.ctx.run_op(ops.name_person, blair, "Tony Blair")
    wait_idle(qtbot, window)
    expected = [f.id for f in review_queue(library)]
    blairs = [f.id for f in review_queue(library) if f.person_id == blair]
    assert blairs and not set(blairs) & set(before)  # the named group's faces are waiting now
    assert sorted(f.id for f in view.items) == sorted(expected)
    assert window.sidebar.views.item(1).text() == f"Review ({len(expected) + len(view.questions):,})"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # unnamed again
    wait_idle(qtbot, window)
    assert sorted(f.id for f in view.items) == sorted(before)
    assert window.sidebar.views.item(1).text() == f"Review ({len(before) + len(view.questions):,})"


def test_faces_that_come_to_wait_take_their_place_by_doubt(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """A group named (or joined by a "yes") brings its faces to Review: they take their places by how
    unsure they are, as after a restart; they went to the front of the queue, before the least sure ones.
    (A decision undone still puts its face back on screen: see the test above.)"""
    from faceorg.people import ops

    view = review_faces(window, qtbot)
    window.ctx.run_op(ops.name_person, scenario.people["blair"], "Tony Blair")
    wait_idle(qtbot, window)
    assert [f.id for f in view.items] == [f.id for f in review_queue(library)]
