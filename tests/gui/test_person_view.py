"""Person view: chips least sure first, confirm, multi-selection, split, move (to a name or an unnamed group),
not this person, not a face, ignore, cover, photo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from sqlalchemy import select

from faceorg.people import ops
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceNotPerson, FaceStatus, Person
from tests.gui.conftest import wait_idle, when_modal
from tests.gui.scenario import Scenario


def open_person(win, qtbot, person_id: int):  # type: ignore[no-untyped-def]
    m = win.people_view.model
    if m.row_of(person_id) is None:
        win.show_hidden_action.setChecked(True)
    grid = win.people_view.grid
    pos = grid.visualRect(m.index(m.row_of(person_id))).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)  # a double click is press, release, ...
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert win.stack.currentWidget() is win.person_view
    wait_idle(qtbot, win)
    return win.person_view


def chip_ids(view) -> list[int]:  # type: ignore[no-untyped-def]
    return view.grid.faces.ids


def owner(library, face_id: int) -> int | None:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return s.scalar(select(Assignment.person_id).where(Assignment.face_id == face_id))


def select_chips(view, qtbot, face_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    grid = view.grid
    for n, fid in enumerate(face_ids):
        rect = grid.visualRect(grid.faces.index(grid.faces.row_of(fid)))
        mods = Qt.KeyboardModifier.ControlModifier if n else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())
    assert sorted(grid.selected_ids()) == sorted(face_ids)



def require_vectors(scenario: Scenario) -> None:
    """How sure a face is comes from its vector under the library's model: the drawn library has neither."""
    if scenario.kind != "real":
        pytest.skip("ordering faces by doubt needs face vectors from the real models (the drawn library has none)")

def test_faces_least_sure_first_and_keyboard_selection(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    require_vectors(scenario)
    view = open_person(window, qtbot, scenario.people["bush"])
    assert view.title.text() == "George W Bush"
    bush = scenario.faces["bush"]
    # The two suggested faces first, the farther from Bush's confirmed faces first; then the confirmed ones,
    # best quality first (the scenario sorted them so).
    cards = view.grid.faces.cards()
    assert sorted(chip_ids(view)[:2]) == sorted(scenario.suggested) and chip_ids(view)[2:] == bush[:-2]
    assert cards[0].doubt is not None and cards[0].doubt >= cards[1].doubt > 0
    assert [c.source for c in cards] == ["suggested"] * 2 + ["user"] * (len(bush) - 2)
    assert "6 confirmed (tick), 2 suggested (orange dot)" in view.subtitle.text()
    assert "least sure first" in view.subtitle.text()
    grid = view.grid
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Home)
    qtbot.keyClick(grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_ids() == chip_ids(view)[:3]
    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(grid.selected_ids()) == len(scenario.faces["bush"])
    assert view.split_action.isEnabled() and not view.cover_action.isEnabled()  # cover needs exactly one


def test_new_person_from_selection(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    wrong = scenario.wrong_face
    select_chips(view, qtbot, [wrong])
    qtbot.keyClick(view.grid, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    new_owner = owner(library, wrong)
    assert new_owner not in (None, scenario.people["rumsfeld"])
    assert wrong not in chip_ids(view)
    with library.session() as s:
        assert s.get(FaceNotPerson, (wrong, scenario.people["rumsfeld"])) is not None  # remembered
    assert window.people_view.model.card(new_owner) is not None  # the new card appeared without a reload


def test_move_to_an_existing_person_by_name(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    wrong = scenario.wrong_face
    select_chips(view, qtbot, [wrong])

    def type_name(dialog) -> None:  # type: ignore[no-untyped-def]
        dialog.edit.setFocus()
        qtbot.keyClicks(dialog.edit, "Colin")
        assert dialog.edit.completer().completionCount() >= 1  # completion offers “Colin Powell”
        dialog.edit.setText("Colin Powell")
        assert "exists" in dialog.hint.text()
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, type_name)
    qtbot.keyClick(view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert owner(library, wrong) == scenario.people["powell"]
    assert wrong not in chip_ids(view)
    assert window.undo_action.text() == "&Undo Move 1 face to “Colin Powell”"


def test_name_the_others_takes_the_selected_faces_out_in_one_step(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    group = scenario.people["rumsfeld"]
    view = open_person(window, qtbot, group)
    wrong = scenario.wrong_face
    others = [f for f in chip_ids(view) if f != wrong]
    qtbot.keyClick(view.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert not view.name_others_action.isEnabled()  # every face selected: nobody would be left to name
    select_chips(view, qtbot, [wrong])
    assert view.name_others_action.isEnabled()
    seen: dict[str, str] = {}

    def type_name(dialog) -> None:  # type: ignore[no-untyped-def]
        seen["title"] = dialog.windowTitle()
        seen["text"] = " ".join(label.text() for label in dialog.findChildren(QLabel))
        dialog.edit.setText("Donald Rumsfeld")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, type_name)
    qtbot.keyClick(view.grid, Qt.Key.Key_F2, Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    assert seen["title"] == "Name the others"
    assert f"Who are the other {len(others)} faces?" in seen["text"]
    assert "The 1 selected is taken out: not this person." in seen["text"]
    assert view.title.text() == "Donald Rumsfeld" and sorted(chip_ids(view)) == sorted(others)
    assert owner(library, wrong) is None and all(owner(library, f) == group for f in others)
    with library.session() as s:
        assert s.get(FaceNotPerson, (wrong, group)) is not None  # never given to him again
        sources = set(s.scalars(select(Assignment.source).where(Assignment.face_id.in_(others))))
    assert AssignmentSource.USER not in sources  # naming confirms nothing: the others stay as they were
    assert window.undo_action.text() == "&Undo Name “Donald Rumsfeld” (1 face taken out)"
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert owner(library, wrong) == group and view.title.text() != "Donald Rumsfeld"
    assert sorted(chip_ids(view)) == sorted([*others, wrong])


def test_not_this_person_with_delete_key(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    wrong = scenario.wrong_face
    select_chips(view, qtbot, [wrong])
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    wait_idle(qtbot, window)
    assert owner(library, wrong) is None
    with library.session() as s:
        assert s.get(FaceNotPerson, (wrong, scenario.people["rumsfeld"])) is not None
    assert wrong not in chip_ids(view)
    assert view.grid.currentIndex().isValid()  # the keyboard can go on with the next face


def test_not_a_face_and_ignore(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["blair"])
    first, second = chip_ids(view)[:2]
    select_chips(view, qtbot, [first])
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    select_chips(view, qtbot, [second])
    qtbot.keyClick(view.grid, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Face, first).status is FaceStatus.NOT_FACE
        assert s.get(Face, second).status is FaceStatus.IGNORED
    assert first not in chip_ids(view) and second not in chip_ids(view)
    card = window.people_view.model.card(scenario.people["blair"])
    assert card is not None and card.face_count == len(chip_ids(view))  # the card's count followed


def test_use_as_cover(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["powell"])
    last = chip_ids(view)[-1]
    select_chips(view, qtbot, [last])
    qtbot.keyClick(view.grid, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, scenario.people["powell"]).cover_face_id == last
    m = window.people_view.model
    assert m.data(m.index(m.row_of(scenario.people["powell"])), Qt.ItemDataRole.UserRole + 2) == last


def test_rename_from_the_person_view(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["blair"])

    def name(dialog) -> None:  # type: ignore[no-untyped-def]
        dialog.edit.setText("Tony Blair")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, name)
    view.rename_action.trigger()
    wait_idle(qtbot, window)
    assert view.title.text() == "Tony Blair"
    with library.session() as s:
        assert s.get(Person, scenario.people["blair"]).name == "Tony Blair"
        # Naming names the person: the faces nobody looked at one by one stay automatic.
        sources = set(s.scalars(select(Assignment.source).where(Assignment.person_id == scenario.people["blair"])))
    assert sources == {AssignmentSource.AUTO}


def test_open_the_photo_of_a_face(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["powell"])
    face = chip_ids(view)[0]
    view.grid.setFocus()
    view.grid.setCurrentIndex(view.grid.faces.index(0))
    qtbot.keyClick(view.grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.photo_view
    wait_idle(qtbot, window)
    photo = window.photo_view.photo
    assert photo is not None and face in [f.id for f in photo.faces]
    assert window.photo_view.canvas.selected == face
    assert window.photo_view.canvas.image is not None
    window.back_action.trigger()
    assert window.stack.currentWidget() is window.person_view


def test_person_merged_away_shows_the_person_they_joined(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    window.ctx.run_op(ops.merge_people, scenario.people["blair"], [scenario.people["rumsfeld"]])
    wait_idle(qtbot, window)
    assert window.stack.currentWidget() is window.person_view
    assert view.person_id == scenario.people["blair"]
    window.back_action.trigger()
    assert window.stack.currentWidget() is window.people_view


def test_f2_in_the_person_view_renames_that_person(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    open_person(window, qtbot, scenario.people["rumsfeld"])
    folders = window.sidebar.folders.list
    qtbot.mouseClick(folders.viewport(), Qt.MouseButton.LeftButton)  # the keyboard is in the sidebar now
    assert folders.hasFocus() or window.focusWidget() is folders
    asked: list[str] = []

    def name(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.windowTitle())
        dialog.edit.setText("Donald Rumsfeld")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, name)
    qtbot.keyClick(folders, Qt.Key.Key_F2)
    wait_idle(qtbot, window)
    assert asked == ["Name person"]
    with library.session() as s:
        assert s.get(Person, scenario.people["rumsfeld"]).name == "Donald Rumsfeld"


def sources_of(library, person_id: int) -> dict[int, AssignmentSource]:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return dict(s.execute(select(Assignment.face_id, Assignment.source)
                              .where(Assignment.person_id == person_id)).all())


def test_confirm_with_c_keeps_places_and_undoes(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    require_vectors(scenario)
    blair = scenario.people["blair"]
    window.ctx.run_op(ops.name_person, blair, "Tony Blair")
    wait_idle(qtbot, window)
    view = open_person(window, qtbot, blair)
    order = chip_ids(view)
    assert {c.source for c in view.grid.faces.cards()} == {"auto"}
    # Least sure first: the distances to the group's centre (no face is confirmed yet) never increase.
    doubts = [c.doubt for c in view.grid.faces.cards()]
    assert all(d is not None for d in doubts) and doubts == sorted(doubts, reverse=True)
    picked = order[:2]
    select_chips(view, qtbot, picked)
    assert view.confirm_action.isEnabled()
    qtbot.keyClick(view.grid, Qt.Key.Key_C)
    wait_idle(qtbot, window)
    got = sources_of(library, blair)
    assert {f for f, src in got.items() if src is AssignmentSource.USER} == set(picked)
    assert chip_ids(view) == order  # the rows kept their places under the keyboard
    assert [c.source for c in view.grid.faces.cards()][:2] == ["user", "user"]
    assert "2 confirmed (tick)" in view.subtitle.text()
    assert window.undo_action.text() == "&Undo Confirm 2 faces"
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert set(sources_of(library, blair).values()) == {AssignmentSource.AUTO}
    # Opened afresh, confirmed faces come after the faces not confirmed.
    window.redo_action.trigger()
    wait_idle(qtbot, window)
    window.back_action.trigger()
    view = open_person(window, qtbot, blair)
    assert set(chip_ids(view)[-2:]) == set(picked)


def test_move_to_an_unnamed_group(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    wrong = scenario.wrong_face
    select_chips(view, qtbot, [wrong])
    listed: list[str] = []
    seen: dict[str, object] = {}

    def pick_group(dialog) -> None:  # type: ignore[no-untyped-def]
        try:  # whatever happens, the dialog closes (a failed check must not leave the test waiting on it)
            groups = dialog.group_list
            listed.extend(groups.item(r).text() for r in range(groups.count()))
            row = next(r for r in range(groups.count())
                       if groups.item(r).data(Qt.ItemDataRole.UserRole) == scenario.people["blair"])
            groups.setCurrentRow(row)
            seen["hint"] = dialog.hint.text()
            seen["ok"] = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
            qtbot.waitUntil(lambda: not groups.item(row).icon().isNull(), timeout=5000)  # the group's cover
            seen["icon"] = True
        finally:
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_modal(qtbot, pick_group)
    qtbot.keyClick(view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    n = len(scenario.faces["blair"]) - 1
    assert listed == [f"Unnamed group ({n} faces)"]  # Rumsfeld's own group is not offered
    assert seen == {"hint": "The faces join this unnamed group.", "ok": True, "icon": True}
    assert owner(library, wrong) == scenario.people["blair"]
    assert sources_of(library, scenario.people["blair"])[wrong] is AssignmentSource.USER
    assert wrong not in chip_ids(view)
    assert window.undo_action.text() == "&Undo Move 1 face"
    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert owner(library, wrong) == scenario.people["rumsfeld"]


def test_naming_a_person_with_a_name_in_use_shows_the_person_they_joined(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """F2 on a person's page with another person's name merges them into that person; the page then went
    back to People saying "That person is gone (merged or removed)". It shows the person they joined."""
    from faceorg.gui.main_window import Page

    rumsfeld, powell = scenario.people["rumsfeld"], scenario.people["powell"]
    view = open_person(window, qtbot, rumsfeld)

    def name_powell(dialog) -> None:  # type: ignore[no-untyped-def]
        dialog.edit.setText("Colin Powell")
        dialog.accept()

    when_modal(qtbot, name_powell)
    view.rename()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, rumsfeld) is None
    assert window.page == Page("person", powell) and view.person_id == powell
    assert "gone" not in window.statusBar().currentMessage()
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # back goes where the user came from, not to the merged-away page
    assert window.page == Page("people")


def test_a_group_left_without_faces_goes_back_saying_what_happened(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario) -> None:
    """Every face of a group ignored from its page: back to People with what was done, not "That person is
    gone (merged or removed)"."""
    from faceorg.gui.main_window import Page

    view = open_person(window, qtbot, scenario.people["blair"])
    view.grid.setFocus()
    qtbot.keyClick(view.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    view.ignore()
    wait_idle(qtbot, window)
    assert window.page == Page("people")
    message = window.statusBar().currentMessage()
    assert message.startswith("Ignore") and "no faces are left" in message and "merged or removed" not in message


def test_after_faces_leave_the_next_face_is_selected(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Not This Person on a face: the face after it takes its place, selected and current, so the keyboard
    and the toolbar go on with it (the current face went to the one before and nothing was selected)."""
    view = open_person(window, qtbot, scenario.people["bush"])
    before = chip_ids(view)
    assert len(before) >= 4
    view.grid.setFocus()
    view.grid.select_ids([before[1]])
    view.grid.setCurrentIndex(view.grid.faces.index(1))
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    wait_idle(qtbot, window)
    assert before[1] not in chip_ids(view)
    assert view.grid.selected_ids() == [before[2]] and view.grid.current_card().id == before[2]
    assert view.reject_action.isEnabled()


def test_move_to_lists_the_groups_the_faces_look_like_first(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Move To listed the unnamed groups largest first: the group a wrong face belongs with could be anywhere
    in a list of hundreds. The groups nearest the selected faces come first."""
    from tests.gui.test_review_questions import ensure_vectors

    ensure_vectors(library, scenario)
    with library.session() as s:
        photo_of = dict(s.execute(select(Face.id, Face.photo_id).where(Face.id.in_(scenario.unknown))).all())
    one_a_photo = {photo_of[f]: f for f in scenario.unknown if owner(library, f) is None}  # one face a photo
    strangers = sorted(one_a_photo.values())
    big = ops.split_faces(library, strangers)  # an unnamed group bigger than Blair's, of other people
    big_id = next(iter(big.people_added))
    blair = scenario.people["blair"]
    blairs = [f for f in scenario.faces["blair"] if owner(library, f) == blair]
    extra = len(blairs) - len(strangers) + 1  # Blair's group made the smaller one
    if extra > 0:
        ops.reject_faces(library, blairs[:extra], blair)
    assert 0 < len([f for f in scenario.faces["blair"] if owner(library, f) == blair]) < len(strangers)
    view = open_person(window, qtbot, scenario.people["rumsfeld"])
    select_chips(view, qtbot, [scenario.wrong_face])  # a face of Blair's
    listed: list[int] = []

    def look(dialog) -> None:  # type: ignore[no-untyped-def]
        groups = dialog.group_list
        listed.extend(groups.item(r).data(Qt.ItemDataRole.UserRole) for r in range(groups.count()))
        dialog.reject()

    when_modal(qtbot, look)
    qtbot.keyClick(view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert listed[0] == scenario.people["blair"] and big_id in listed


def test_look_alikes_first_in_a_person_then_the_usual_order(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+L in a person's faces: the selected face leads and the others follow, nearest first (the strangers of
    one group who are one other person gather); changes keep that order; Usual Order goes back."""
    from tests.gui.main_helpers import distances_to

    view = open_person(window, qtbot, scenario.people["bush"])
    grid = view.grid
    usual = list(grid.faces.ids)
    assert len(usual) >= 3 and view.like_action.isVisible() and not view.usual_order_action.isVisible()
    seed = usual[-1]
    select_chips(view, qtbot, [seed])
    qtbot.keyClick(grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    shown = list(grid.faces.ids)
    assert shown[0] == seed and sorted(shown) == sorted(usual) and grid.selected_ids() == [seed]
    distances = distances_to(library, seed, shown[1:])
    ranked = [f for f in shown[1:] if f in distances]
    assert [distances[f] for f in ranked] == sorted(distances[f] for f in ranked)
    if scenario.kind == "real":
        assert len(ranked) == len(shown) - 1
    assert view.usual_order_action.isVisible() and "look-alikes first" in view.subtitle.text()
    unsure = [f for f in shown if f in scenario.suggested]
    if unsure:  # confirming a face keeps every face in its place
        select_chips(view, qtbot, unsure[:1])
        qtbot.keyClick(grid, Qt.Key.Key_C)
        wait_idle(qtbot, window)
        assert grid.faces.ids == shown
    view.usual_order_action.trigger()
    wait_idle(qtbot, window)
    assert not view.usual_order_action.isVisible() and "look-alikes" not in view.subtitle.text()
    if not unsure:
        assert grid.faces.ids == usual
