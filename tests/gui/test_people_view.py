"""People view: cards in order, filter, hidden people, merge (selection and drag and drop), rename in place."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox, QPushButton
from sqlalchemy import func, select

from faceorg.people.queries import list_people
from faceorg.store.models import Assignment, Person
from tests.gui.conftest import wait_for, wait_idle, when_modal
from tests.gui.scenario import Scenario


def shown(win) -> list[str]:  # type: ignore[no-untyped-def]
    m = win.people_view.model
    return [m.data(m.index(r)) for r in range(m.rowCount())]


def face_count(library, person_id: int) -> int:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(Assignment).where(Assignment.person_id == person_id)) or 0


def test_cards_named_first_then_unnamed_by_size_with_counts(window, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    names = shown(window)
    assert names == ["Colin Powell", "George W Bush", "Unnamed", "Unnamed"]  # Schroeder is hidden
    m = window.people_view.model
    unnamed = [m.card_at(r) for r in (2, 3)]
    assert unnamed[0].face_count >= unnamed[1].face_count
    assert {c.id for c in unnamed} == {scenario.people["blair"], scenario.people["rumsfeld"]}
    bush = m.card(scenario.people["bush"])
    assert bush is not None and bush.face_count == len(scenario.faces["bush"])
    # The same order and counts as the core's own listing.
    core = [(p.id, p.face_count) for p in list_people(library)]
    assert [(c.id, c.face_count) for c in (m.card_at(r) for r in range(m.rowCount()))] == core
    # Every card shows a cover face, and the thumbnails were decoded into the cache.
    assert all(m.cover_of(m.card_at(r)) is not None for r in range(m.rowCount()))
    assert window.ctx.card_thumbs.get(m.cover_of(bush)) is not None
    assert "4 people" in window.people_view.count_label.text() or "people" in window.people_view.count_label.text()


def test_first_page_of_cards_then_every_card(qtbot, library, qsettings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The window lists a first page of cards (read without counting every face), then every card: the
    same cards, counts and covers as the core's listing; the count is shown once every card is there."""
    import faceorg.gui.people_view as pv
    from faceorg.gui.main_window import MainWindow
    from faceorg.gui.models import PeopleModel
    from faceorg.people.gui_support import best_faces

    monkeypatch.setattr(pv, "FIRST_PAGE", 2)
    listed: list[tuple[list[str | None], bool]] = []
    real = PeopleModel.set_cards

    def set_cards(model, cards, best=None, **kw):  # type: ignore[no-untyped-def]
        cards = list(cards)
        listed.append(([c.name for c in cards], model.parent().complete))
        real(model, cards, best, **kw)

    monkeypatch.setattr(PeopleModel, "set_cards", set_cards)
    win = MainWindow(library, qsettings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    wait_for(qtbot, win, lambda: win.people_view.complete and win.review_view.loaded and win.ctx.idle)
    # First the two named people alone, then everyone (Schroeder hidden, so not shown).
    assert listed[0] == (["Colin Powell", "George W Bush"], False)
    assert len(listed) == 2 and len(listed[1][0]) == 5
    assert shown(win) == ["Colin Powell", "George W Bush", "Unnamed", "Unnamed"]
    m = win.people_view.model
    core = list_people(library)
    assert [(c.id, c.face_count) for c in (m.card_at(r) for r in range(m.rowCount()))] == \
        [(p.id, p.face_count) for p in core]
    covers = best_faces(library, [p.id for p in core])
    assert [m.cover_of(m.card_at(r)) for r in range(m.rowCount())] == \
        [p.cover_face_id if p.cover_face_id is not None else covers[p.id] for p in core]
    assert win.people_view.count_label.text() == "4 of 5 people shown"  # the hidden one is listed too
    win.close()


def test_filter_by_name_and_show_hidden(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    view = window.people_view
    qtbot.keyClicks(view.filter_edit, "bush")
    qtbot.waitUntil(lambda: shown(window) == ["George W Bush"], timeout=3000)
    view.filter_edit.clear()
    qtbot.waitUntil(lambda: len(shown(window)) == 4, timeout=3000)
    qtbot.mouseClick(view.show_hidden, Qt.MouseButton.LeftButton)
    assert "Gerhard Schroeder" in shown(window)
    assert window.show_hidden_action.isChecked()  # View menu and checkbox agree
    window.show_hidden_action.trigger()
    assert "Gerhard Schroeder" not in shown(window)
    qtbot.keyClicks(view.filter_edit, "nobody-has-this-name")
    qtbot.waitUntil(lambda: shown(window) == [], timeout=3000)
    assert "No one matches" in view.grid.empty_text


def select_people(win, qtbot, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Click the first card, Ctrl+click the others (real mouse events on the grid)."""
    grid, m = win.people_view.grid, win.people_view.model
    for n, pid in enumerate(ids):
        rect = grid.visualRect(m.index(m.row_of(pid)))
        mods = Qt.KeyboardModifier.ControlModifier if n else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())
    assert sorted(win.people_view.selected_ids()) == sorted(ids)


def test_merge_selected_cards_and_undo(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    blair, rumsfeld = scenario.people["blair"], scenario.people["rumsfeld"]
    total = face_count(library, blair) + face_count(library, rumsfeld)
    select_people(window, qtbot, [blair, rumsfeld])
    assert window.people_view.merge_action.isEnabled()
    qtbot.keyClick(window.people_view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        survivors = [p for p in (blair, rumsfeld) if s.get(Person, p) is not None]
    assert len(survivors) == 1
    assert face_count(library, survivors[0]) == total
    assert shown(window).count("Unnamed") == 1
    card = window.people_view.model.card(survivors[0])
    assert card is not None and card.face_count == total
    assert window.undo_action.text().startswith("&Undo Merge")
    qtbot.keyClick(window.people_view.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert shown(window).count("Unnamed") == 2
    assert face_count(library, blair) + face_count(library, rumsfeld) == total
    assert window.redo_action.isEnabled() and "Merge" in window.redo_action.text()


def test_merge_by_dragging_a_card_onto_another(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = window.people_view
    grid, m = view.grid, view.model
    rumsfeld, blair = scenario.people["rumsfeld"], scenario.people["blair"]
    before = face_count(library, blair) + face_count(library, rumsfeld)
    mime = m.mimeData([m.index(m.row_of(rumsfeld))])
    target = grid.visualRect(m.index(m.row_of(blair))).center()
    vp = grid.viewport()
    enter = QDragEnterEvent(target, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, enter)
    move = QDragMoveEvent(target, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, move)
    assert move.isAccepted()
    assert view.delegate.drop_row == m.row_of(blair)  # the target card is highlighted
    drop = QDropEvent(QPointF(target), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, drop)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, rumsfeld) is None
    assert face_count(library, blair) == before
    assert view.delegate.drop_row is None


def test_merging_named_people_asks_first(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    bush, powell = scenario.people["bush"], scenario.people["powell"]
    select_people(window, qtbot, [bush, powell])
    seen: list[str] = []

    def cancel(box) -> None:  # type: ignore[no-untyped-def]
        seen.append(box.text())
        box.button(QMessageBox.StandardButton.Cancel).click()

    when_modal(qtbot, cancel)
    window.people_view.merge_action.trigger()
    wait_idle(qtbot, window)
    assert seen and "dropped" in seen[0]
    with library.session() as s:
        assert s.get(Person, bush) is not None and s.get(Person, powell) is not None


def test_rename_in_place_with_completion(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = window.people_view
    blair = scenario.people["blair"]
    select_people(window, qtbot, [blair])
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    editor = view.grid.findChild(QLineEdit, "cardNameEditor")
    assert editor is not None and editor.isVisible()
    assert editor.completer() is not None and editor.completer().model().rowCount() >= 3  # existing names
    qtbot.keyClicks(editor, "Tony Blair")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, blair).name == "Tony Blair"
    assert "Tony Blair" in shown(window)
    assert shown(window).index("Tony Blair") < shown(window).index("Unnamed")  # moved among the named
    assert "Tony Blair" in window.ctx.names.stringList()  # offered by completion from now on
    assert window.undo_action.text() == "&Undo Name “Tony Blair”"


def test_existing_name_offers_to_merge(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = window.people_view
    rumsfeld, bush = scenario.people["rumsfeld"], scenario.people["bush"]
    bush_faces = face_count(library, bush)
    rumsfeld_faces = face_count(library, rumsfeld)
    select_people(window, qtbot, [rumsfeld])
    asked: list[str] = []

    def merge(box) -> None:  # type: ignore[no-untyped-def]
        asked.append(box.text())
        next(b for b in box.findChildren(QPushButton) if b.text() == "Merge").click()

    when_modal(qtbot, merge)
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    editor = view.grid.findChild(QLineEdit, "cardNameEditor")
    qtbot.keyClicks(editor, "george w bush")  # another spelling of an existing name
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert asked and "George W Bush" in asked[0]
    with library.session() as s:
        assert s.get(Person, rumsfeld) is None
    assert face_count(library, bush) == bush_faces + rumsfeld_faces


def test_a_refused_merge_says_why_and_changes_nothing(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from faceorg.people import ops
    from faceorg.store.models import Face, FaceStatus

    with library.session() as s:  # two unknown faces of one photo, each given its own name
        rows = s.execute(select(Face.id, Face.photo_id).where(Face.id.in_(scenario.unknown),
                                                              Face.status == FaceStatus.NORMAL)).all()
    by_photo: dict[int, list[int]] = {}
    for face, photo in rows:
        by_photo.setdefault(photo, []).append(face)
    pair = next(faces[:2] for faces in by_photo.values() if len(faces) >= 2)
    for face, name in zip(pair, ("Stranger A", "Stranger B")):
        window.ctx.run_op(ops.assign_faces_to_name, [face], name)
    wait_idle(qtbot, window)
    with library.session() as s:
        a, b = (s.scalar(select(Person.id).where(Person.name == n)) for n in ("Stranger A", "Stranger B"))
    select_people(window, qtbot, [a, b])
    asked: list[str] = []

    def merge(box) -> None:  # type: ignore[no-untyped-def]
        asked.append(box.text())
        next(b for b in box.findChildren(QPushButton) if b.text() == "Merge").click()

    when_modal(qtbot, merge)
    qtbot.keyClick(window.people_view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert asked  # the names were about to be dropped, so it asked first
    box = window.findChild(QMessageBox, "errorBox")
    assert box is not None and box.isVisible()
    assert "two faces in one photo" in box.text().lower()  # the user is told why
    box.button(QMessageBox.StandardButton.Ok).click()
    with library.session() as s:
        assert s.get(Person, a) is not None and s.get(Person, b) is not None
    assert face_count(library, a) == face_count(library, b) == 1
    assert {"Stranger A", "Stranger B"} <= set(shown(window))


def test_hide_and_show_a_person(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    powell = scenario.people["powell"]
    select_people(window, qtbot, [powell])
    qtbot.keyClick(window.people_view.grid, Qt.Key.Key_H,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(Person, powell).hidden
    assert "Colin Powell" not in shown(window)
    window.show_hidden_action.trigger()
    assert "Colin Powell" in shown(window)
    select_people(window, qtbot, [powell])
    assert window.people_view.hide_action.text() == "&Show"
    window.people_view.hide_action.trigger()
    wait_idle(qtbot, window)
    with library.session() as s:
        assert not s.get(Person, powell).hidden


def test_keyboard_moves_and_enter_opens(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    grid, m = window.people_view.grid, window.people_view.model
    grid.setFocus()
    grid.setCurrentIndex(m.index(0))
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert grid.currentIndex().row() == m.rowCount() - 1
    qtbot.keyClick(grid, Qt.Key.Key_Home)
    assert grid.currentIndex().row() == 0
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.people_view.selected_ids()) == m.rowCount()
    grid.setCurrentIndex(m.index(m.row_of(scenario.people["bush"])))
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.person_view
    assert window.person_view.person_id == scenario.people["bush"]
    wait_idle(qtbot, window)
    qtbot.keyClick(window.person_view.grid, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.people_view


def test_view_menus_act_only_on_their_view_and_find_goes_to_people(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.main_window import Page

    assert window.people_menu.menuAction().isEnabled()
    assert not window.faces_menu.menuAction().isEnabled() and not window.review_menu.menuAction().isEnabled()
    window.navigate(Page("person", scenario.people["bush"]))
    wait_idle(qtbot, window)
    assert window.faces_menu.menuAction().isEnabled() and not window.people_menu.menuAction().isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.people_view
    assert window.people_view.filter_edit.hasFocus()
    # Every menu entry with a shortcut shows it, and its tooltip names it.
    for menu in (window.people_menu, window.faces_menu, window.review_menu):
        for action in menu.actions():
            if not action.shortcut().isEmpty():
                assert action.shortcut().toString() in action.toolTip()


def rename_with_f2(win, qtbot, name: str) -> None:  # type: ignore[no-untyped-def]
    """Press F2 on the People grid, type ``name``, press Enter, wait for the change to land."""
    view = win.people_view
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    editor = view.grid.findChild(QLineEdit, "cardNameEditor")
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, name)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    wait_idle(qtbot, win)


def test_f2_after_naming_acts_on_the_person_just_named(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """Named people move to the top: the current card moves with the person, not the grid position."""
    view = window.people_view
    blair, rumsfeld, bush, powell = (scenario.people[k] for k in ("blair", "rumsfeld", "bush", "powell"))
    select_people(window, qtbot, [blair])
    rename_with_f2(window, qtbot, "Aaron Blair")  # sorts first: every card below moves down a row
    assert view.model.data(view.grid.currentIndex()) == "Aaron Blair"
    assert view.selected_ids() == [blair]
    rename_with_f2(window, qtbot, "Tony Blair")  # a second F2 corrects the same person
    select_people(window, qtbot, [rumsfeld])
    rename_with_f2(window, qtbot, "Donald Rumsfeld")
    assert view.model.data(view.grid.currentIndex()) == "Donald Rumsfeld"
    with library.session() as s:
        names = {pid: s.get(Person, pid).name for pid in (blair, rumsfeld, bush, powell)}
    assert names == {blair: "Tony Blair", rumsfeld: "Donald Rumsfeld", bush: "George W Bush",
                     powell: "Colin Powell"}


def test_ungrouped_faces_without_people_offer_grouping(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    """As after a grouping cancelled at its start: faces, but no people. Say so, and offer to group."""
    from faceorg.people import ops
    from faceorg.people.queries import ungrouped_face_count

    with library.session() as s:
        people = list(s.scalars(select(Person.id)))
    for pid in people:
        ops.delete_person(library, pid)
    window.reload_views()
    wait_idle(qtbot, window)
    view = window.people_view
    faces = ungrouped_face_count(library)
    assert view.model.total == 0 and faces > 0
    assert view.grid.empty_text.startswith(f"{faces:,} faces are not grouped")
    assert "No people yet" not in view.grid.empty_text
    assert view.group_button.isVisible()
    ended: list[str] = []
    window.ctx.jobs.ended.connect(lambda title, outcome: ended.append(outcome))
    qtbot.mouseClick(view.group_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    wait_idle(qtbot, window)
    assert ended == ["done"]
    if scenario.kind == "real":  # drawn faces have no model version to group by
        assert view.model.total > 0 and not view.group_button.isVisible()


def name_card_with_one_enter(window, qtbot, scenario: Scenario, typed: str, *, highlight: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """Rename Rumsfeld's card in place: type ``typed``, (``highlight``: move to the first completion), press
    Enter once on the completion list; the merge question it brings (cancelled), as its text."""
    view = window.people_view
    select_people(window, qtbot, [scenario.people["rumsfeld"]])
    asked: list[str] = []

    def cancel(box) -> None:  # type: ignore[no-untyped-def]
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.Cancel).click()

    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    editor = view.grid.findChild(QLineEdit, "cardNameEditor")
    qtbot.keyClicks(editor, typed)
    popup = editor.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    if highlight:
        qtbot.keyClick(popup, Qt.Key.Key_Down)
    else:
        assert not popup.currentIndex().isValid()  # nothing highlighted
    when_modal(qtbot, cancel)
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # where the key goes while the list is open
    qtbot.waitUntil(lambda: bool(asked), timeout=3000)
    return asked


def name_dialog_with_one_enter(window, qtbot, typed: str, *, highlight: bool) -> str | None:  # type: ignore[no-untyped-def]
    """The name dialog: type ``typed``, (``highlight``: move to the first completion), one Enter on the
    completion list; what the dialog gave (it is closed after 1.5 s if a second Enter was needed)."""
    from faceorg.gui.dialogs import ask_name

    def type_and_enter(dialog) -> None:  # type: ignore[no-untyped-def]
        qtbot.keyClicks(dialog.edit, typed)
        popup = dialog.edit.completer().popup()
        qtbot.waitUntil(popup.isVisible, timeout=2000)
        if highlight:
            qtbot.keyClick(popup, Qt.Key.Key_Down)
        qtbot.keyClick(popup, Qt.Key.Key_Return)
        QTimer.singleShot(1500, dialog.reject)  # a second Enter would have been needed

    when_modal(qtbot, type_and_enter)
    return ask_name(window, window.ctx.names, title="Name", prompt="Who?")


def test_one_enter_takes_the_highlighted_completion_in_place(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    asked = name_card_with_one_enter(window, qtbot, scenario, "powe", highlight=True)
    assert "Colin Powell" in asked[0]  # the name is in use: the merge question comes at once


def test_one_enter_takes_the_highlighted_completion_in_the_name_dialog(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    assert name_dialog_with_one_enter(window, qtbot, "powe", highlight=True) == "Colin Powell"


def test_ignore_unnamed_groups_asks_once_ignores_them_and_undo_brings_them_back(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    from faceorg.store.models import Face, FaceStatus

    view = window.people_view
    blair, rumsfeld = scenario.people["blair"], scenario.people["rumsfeld"]
    faces = {blair: face_count(library, blair), rumsfeld: face_count(library, rumsfeld)}
    assert shown(window).count("Unnamed") == 2 and view.ignore_unnamed_action.isEnabled()
    asked: list[str] = []

    def ignore(box) -> None:  # type: ignore[no-untyped-def]
        asked.append(box.text())
        next(b for b in box.findChildren(QPushButton) if b.text() == "Ignore 2 Groups").click()

    when_modal(qtbot, ignore)
    view.ignore_unnamed_action.trigger()
    wait_idle(qtbot, window)
    assert asked and f"Ignore 2 unnamed groups ({sum(faces.values())} faces)" in asked[0]
    qtbot.waitUntil(lambda: shown(window) == ["Colin Powell", "George W Bush"], timeout=3000)
    with library.session() as s:
        assert s.get(Person, blair) is None and s.get(Person, rumsfeld) is None
        ignored = s.scalar(select(func.count()).select_from(Face).where(Face.status == FaceStatus.IGNORED))
    assert ignored == len(scenario.ignored) + sum(faces.values())
    assert not view.ignore_unnamed_action.isEnabled()  # nothing left to ignore
    assert window.undo_action.text() == "&Undo Ignore 2 unnamed groups"
    qtbot.keyClick(view.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: shown(window).count("Unnamed") == 2, timeout=3000)
    assert face_count(library, blair) == faces[blair] and face_count(library, rumsfeld) == faces[rumsfeld]


def test_ignore_unnamed_groups_cancelled_changes_nothing(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    view = window.people_view

    def cancel(box) -> None:  # type: ignore[no-untyped-def]
        box.reject()

    when_modal(qtbot, cancel)
    view.ignore_unnamed_action.trigger()
    wait_idle(qtbot, window)
    assert shown(window).count("Unnamed") == 2
    assert not window.undo_action.isEnabled() or "Ignore" not in window.undo_action.text()


def test_one_enter_names_with_the_completion_list_open_and_nothing_highlighted(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario) -> None:
    """Typing a whole existing name leaves the completion list open; Enter goes to that list (as a real
    keyboard's does) and must give the name at once, not only close the list."""
    asked = name_card_with_one_enter(window, qtbot, scenario, "Colin Powell", highlight=False)
    assert "Colin Powell" in asked[0]


def test_one_enter_accepts_the_name_dialog_with_the_completion_list_open(window, qtbot, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    assert name_dialog_with_one_enter(window, qtbot, "Colin Powell", highlight=False) == "Colin Powell"


def test_an_empty_library_says_a_scan_is_under_way(qtbot, tmp_path, qsettings) -> None:  # type: ignore[no-untyped-def]
    """A new library's People view asks for a folder; while the first scan runs it says the people come
    when the scan is done, not "add a folder"."""
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import SCAN_TITLE, MainWindow
    from faceorg.store import open_library

    make_application()
    with open_library(tmp_path / "new.sqlite") as lib:
        win = MainWindow(lib, qsettings)
        qtbot.addWidget(win)
        win.show()
        wait_for(qtbot, win, lambda: win.people_view.loaded and win.ctx.idle)
        view = win.people_view
        assert view.grid.empty_text.startswith("No people yet")
        during: list[str] = []
        win.ctx.jobs.start(SCAN_TITLE, lambda _progress: during.append(view.grid.empty_text))
        wait_idle(qtbot, win)
        assert during == ["Scanning… The people found show here when it is done."]
        assert view.grid.empty_text.startswith("No people yet")
        win.close()
