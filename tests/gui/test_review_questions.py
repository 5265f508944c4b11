"""Review questions in the app: "same person?", a whole-group suggestion and a split, each answered with
the keys (A yes, R no, S or → skip), checked in the database, and undone with Ctrl+Z."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select, update

from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    ModelVersion,
    Person,
    PromptAnswer,
)
from tests.gui.conftest import wait_idle
from tests.gui.scenario import Scenario
from tests.libgen import decisions_snapshot


def owners(library) -> dict[int, int]:  # type: ignore[no-untyped-def]
    with library.session() as s:
        return {f: p for f, p in s.execute(select(Assignment.face_id, Assignment.person_id))}


def ensure_vectors(library, scenario: Scenario) -> None:  # type: ignore[no-untyped-def]
    """The drawn-face library (no models) has no face vectors: give each identity's faces close vectors,
    every other face its own, as the embedder would."""
    if scenario.kind != "drawn":
        return
    rng = np.random.default_rng(7)
    with library.transaction() as s:
        model = ModelVersion(name="drawn-v1", kind="base", file_name="none.onnx", sha256="0" * 64, active=True)
        s.add(model)
        s.flush()
        vectors: dict[int, np.ndarray] = {}
        for faces in scenario.faces.values():
            centre = rng.normal(size=128)
            for f in faces:
                vectors[f] = centre / np.linalg.norm(centre) + rng.normal(scale=0.015, size=128)
        for f in s.scalars(select(Face.id)):
            v = vectors.get(f, rng.normal(size=128))
            s.add(Embedding(face_id=f, model_version_id=model.id,
                            vector=(v / np.linalg.norm(v)).astype(np.float32).tobytes()))


def open_review(win, qtbot):  # type: ignore[no-untyped-def]
    win.review_view.load()
    qtbot.keyClick(win, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, win)
    view = win.review_view
    view.setFocus()
    assert view.mode == "questions" and view.current_question() is not None
    return view


def skip_to(view, qtbot, match):  # type: ignore[no-untyped-def]
    """Press S (and →) until the question on screen matches."""
    for n in range(len(view.questions) + 1):
        if match(view.current_question()):
            return view.current_question()
        qtbot.keyClick(view, Qt.Key.Key_S if n % 2 == 0 else Qt.Key.Key_Right)
    raise AssertionError(f"no such question among {[q.id for q in view.questions]}")


def undo(win, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, win)


def blair_in_two_pieces(library, scenario: Scenario) -> list[int]:  # type: ignore[no-untyped-def]
    """Two of the unnamed Blair group's faces left in a group of their own (as a grouping may leave them)."""
    piece = scenario.faces["blair"][:2]
    with library.transaction() as s:
        person = Person()
        s.add(person)
        s.flush()
        s.execute(update(Assignment).where(Assignment.face_id.in_(piece)).values(person_id=person.id))
    return piece


def test_same_person_yes_with_a_then_undo(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    ensure_vectors(library, scenario)
    piece = blair_in_two_pieces(library, scenario)
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "same_person" and q.pairs[0][0] in piece)
    card = view.question_card
    assert card.left[0].face_id == q.pairs[0][0] and card.right[0].face_id == q.pairs[0][1]  # the deciding faces
    assert card.title.text() == q.text and "same person" in card.detail.text()
    assert view.accept_action.iconText().startswith("Yes")
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert q.id not in [x.id for x in view.questions]  # gone at once
    wait_idle(qtbot, window)
    own = owners(library)
    assert own[piece[0]] == own[scenario.faces["blair"][2]]
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    assert q.id in [x.id for x in view.questions]  # asked again after undo


def test_same_person_no_with_r_keeps_the_groups_apart_and_undo_lifts_it(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    ensure_vectors(library, scenario)
    piece = blair_in_two_pieces(library, scenario)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "same_person" and q.pairs[0][0] in piece)
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        links = {(a, b) for a, b in s.execute(select(CannotLink.face_a, CannotLink.face_b))}
        assert s.get(PromptAnswer, q.id).answer == "no"
    rest = [f for f in scenario.faces["blair"][2:] if owners(library).get(f) == q.person_ids[1]]
    assert {(min(a, b), max(a, b)) for a in piece for b in rest} <= links
    assert q.id not in [x.id for x in view.questions]
    undo(window, qtbot)
    with library.session() as s:
        assert s.scalar(select(CannotLink)) is None and s.scalar(select(PromptAnswer)) is None
    assert q.id in [x.id for x in view.questions]


def test_group_suggestion_accept_all_then_undo(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    ensure_vectors(library, scenario)
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "group_suggestion")
    assert q.person_ids == (scenario.people["bush"],) and set(q.face_ids) == set(scenario.suggested)
    assert view.one_by_one_action.isVisible()
    assert view.question_card.right[0].face_id is not None  # Bush's face beside the waiting ones
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert set(s.scalars(select(Assignment.source).where(Assignment.face_id.in_(scenario.suggested)))) == {
            AssignmentSource.USER}
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    # "One by one": the Faces list, at one of those faces
    skip_to(view, qtbot, lambda q: q.kind == "group_suggestion")
    view.one_by_one_action.trigger()
    assert view.mode == "faces" and view.current().id in scenario.suggested


def test_split_with_a_then_undo_and_no_with_r(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    ensure_vectors(library, scenario)
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "split")
    assert q.face_ids == (scenario.wrong_face,)  # the Blair face in Rumsfeld's group, shown first
    assert view.question_card.left[0].face_id == scenario.wrong_face
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    own = owners(library)
    assert own[scenario.wrong_face] != own[scenario.faces["rumsfeld"][0]]
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    q = skip_to(view, qtbot, lambda q: q.kind == "split")
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(PromptAnswer, q.id).answer == "no"
    assert all(x.kind != "split" for x in view.questions)
    assert decisions_snapshot(library) == before  # "no" changes no one's faces
    undo(window, qtbot)
    with library.session() as s:
        assert s.scalar(select(PromptAnswer)) is None
    assert q.id in [x.id for x in view.questions]


def test_person_view_accepts_all_waiting_faces_in_one_action(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from tests.gui.test_person_view import open_person

    before = decisions_snapshot(library)
    view = open_person(window, qtbot, scenario.people["bush"])
    assert view.accept_all_button.isVisible() and "2" in view.accept_all_action.text()
    qtbot.mouseClick(view.accept_all_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert set(s.scalars(select(Assignment.source).where(Assignment.face_id.in_(scenario.suggested)))) == {
            AssignmentSource.USER}
    assert not view.accept_all_button.isVisible()  # nothing waiting any more
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    assert view.accept_all_button.isVisible()
    unnamed = open_person(window, qtbot, scenario.people["blair"])
    assert not unnamed.accept_all_button.isVisible()  # an unnamed group has nobody to confirm them as


def powell_faces_unsorted(library, scenario: Scenario) -> list[int]:  # type: ignore[no-untyped-def]
    """Two of Powell's faces in no group (as a grouping leaves faces it is unsure of)."""
    from sqlalchemy import delete

    with library.session() as s:
        cover = s.get(Person, scenario.people["powell"]).cover_face_id
    loose = [f for f in scenario.faces["powell"] if f not in (cover, scenario.auto_named)][-2:]
    with library.transaction() as s:
        s.execute(delete(Assignment).where(Assignment.face_id.in_(loose)))
    return loose


def test_unsorted_batch_yes_with_a_then_undo(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    ensure_vectors(library, scenario)
    loose = powell_faces_unsorted(library, scenario)
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "unsorted_batch" and set(loose) <= set(q.face_ids))
    assert q.person_ids == (scenario.people["powell"],) and "may be Colin Powell" in q.text
    card = view.question_card
    assert {card.left[0].face_id, card.left[1].face_id} >= set(loose) - {None} or card.left[0].face_id in loose
    assert card.right[0].face_id is not None and "in no group" in card.detail.text()
    assert view.one_by_one_action.isVisible()
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    with library.session() as s:
        rows = set(s.execute(select(Assignment.person_id, Assignment.source).where(Assignment.face_id.in_(loose))))
    assert rows == {(scenario.people["powell"], AssignmentSource.USER)}
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    assert q.id in [x.id for x in view.questions]


def test_unsorted_batch_no_with_r_and_one_by_one(window, qtbot, scenario: Scenario, library) -> None:  # type: ignore[no-untyped-def]
    from faceorg.people.clustering import recluster
    from faceorg.people.prompts import list_questions
    from faceorg.store.models import FaceNotPerson

    ensure_vectors(library, scenario)
    loose = powell_faces_unsorted(library, scenario)
    powell = scenario.people["powell"]
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "unsorted_batch" and set(loose) <= set(q.face_ids))
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        refused = set(s.scalars(select(FaceNotPerson.face_id).where(FaceNotPerson.person_id == powell)))
    assert set(q.face_ids) <= refused and q.id not in [x.id for x in view.questions]
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    # One by One: the faces wait as Powell's suggestions, shown under Faces
    q = skip_to(view, qtbot, lambda q: q.kind == "unsorted_batch" and set(loose) <= set(q.face_ids))
    view.one_by_one_action.trigger()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: view.mode == "faces" and view.current() is not None, timeout=5000)
    assert view.current().id == q.face_ids[0]
    with library.session() as s:
        rows = set(s.execute(select(Assignment.person_id, Assignment.source).where(Assignment.face_id.in_(loose))))
    assert rows == {(powell, AssignmentSource.SUGGESTED)}
    qtbot.keyClick(view, Qt.Key.Key_A)  # the first decided on its own
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.scalar(select(Assignment.source).where(Assignment.face_id == q.face_ids[0])) is AssignmentSource.USER
    undo(window, qtbot)
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    # No again, then a full regrouping: the "no" holds and is never asked again
    view.set_mode("questions")
    skip_to(view, qtbot, lambda q: q.kind == "unsorted_batch" and set(loose) <= set(q.face_ids))
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    recluster(library, full=True)
    assert all(owners(library).get(f) != powell for f in loose)
    assert not [x for x in list_questions(library) if x.kind == "unsorted_batch" and x.person_ids == (powell,)
                and set(x.face_ids) & set(loose)]


def test_a_narrow_window_shows_fewer_faces_and_never_cuts_off_the_person(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    ensure_vectors(library, scenario)
    view = open_review(window, qtbot)
    skip_to(view, qtbot, lambda q: q.kind == "group_suggestion")
    card = view.question_card
    assert len(card._left_faces) == 2  # Bush's two waiting faces
    window.resize(720, 700)
    qtbot.waitUntil(lambda: view.card_area.viewport().width() < 560, timeout=3000)
    QApplication.processEvents()
    shown = [w for w in card.left if w.isVisible()]
    assert len(shown) == 1 and card.more.text() == "and 1 more"
    person = card.right[0]
    right_edge = person.mapTo(view.card_area.viewport(), person.rect().topRight()).x()
    assert person.isVisible() and right_edge <= view.card_area.viewport().width()
    assert not view.card_area.horizontalScrollBar().isVisible()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: len([w for w in card.left if w.isVisible()]) == min(4, len(card._left_faces)),
                    timeout=3000)


def test_a_narrow_window_shows_one_face_a_side_for_same_person(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """"Same person?" shows two faces of the second group: in a narrow window (the default size on a
    1024x768 screen) the card showed three faces and scrolled sideways, cutting its question off."""
    ensure_vectors(library, scenario)
    piece = blair_in_two_pieces(library, scenario)  # a "same person?" question in either scenario
    view = open_review(window, qtbot)
    skip_to(view, qtbot, lambda q: q.kind == "same_person" and q.pairs[0][0] in piece)
    card = view.question_card
    assert len([w for w in card.right if w.face_id is not None]) == 2
    window.resize(720, 700)
    qtbot.waitUntil(lambda: view.card_area.viewport().width() < 560, timeout=3000)
    QApplication.processEvents()
    assert [w.isVisible() for w in card.right] == [True, False]
    assert len([w for w in card.left if w.isVisible()]) == 1
    assert not view.card_area.horizontalScrollBar().isVisible()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: all(w.isVisible() for w in card.right), timeout=3000)


def blair_with_an_odd_face(library, scenario: Scenario) -> list[int]:  # type: ignore[no-untyped-def]
    """Blair's unnamed group given vectors of one person and, for one face, a stranger's who is near one of
    them but far from the rest, and whose look-alikes (his other photos) are three unknown faces (as the odd
    faces question looks for); returns the group and the odd face last."""
    from tests.test_odd_faces import group_with_stranger, toward

    own = owners(library)
    group = [f for f in scenario.faces["blair"] if own.get(f) == scenario.people["blair"]]
    assert len(group) >= 4 and len(scenario.unknown) >= 3
    rng = np.random.default_rng(3)
    faces, stranger = group_with_stranger(rng, len(group) - 1)
    his = [toward(rng, stranger, 0.25) for _ in range(3)]
    with library.transaction() as s:
        for f, v in zip([*group, *scenario.unknown[:3]], [*faces, stranger, *his]):
            s.execute(update(Embedding).where(Embedding.face_id == f).values(vector=v.astype(np.float32).tobytes()))
    return group


def test_odd_faces_yes_with_a_takes_them_out_then_undo_and_no_with_r(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    ensure_vectors(library, scenario)
    group = blair_with_an_odd_face(library, scenario)
    before = decisions_snapshot(library)
    view = open_review(window, qtbot)
    q = skip_to(view, qtbot, lambda q: q.kind == "odd_faces" and q.person_ids == (scenario.people["blair"],))
    assert q.face_ids == (group[-1],)
    card = view.question_card
    assert card.left[0].face_id == group[-1] and card.title.text() == q.text
    assert card.right[0].face_id is not None and "takes it out" in card.detail.text()
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    own = owners(library)
    assert group[-1] not in own and all(own[f] == scenario.people["blair"] for f in group[:-1])
    assert q.id not in [x.id for x in view.questions]
    undo(window, qtbot)
    assert decisions_snapshot(library) == before
    q = skip_to(view, qtbot, lambda q: q.kind == "odd_faces" and q.person_ids == (scenario.people["blair"],))
    qtbot.keyClick(view, Qt.Key.Key_R)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(PromptAnswer, q.id).answer == "no"
    assert decisions_snapshot(library) == before  # "no" changes no one's faces
    assert q.id not in [x.id for x in view.questions]


def test_undo_brings_the_card_back_to_the_undone_question_and_redo_moves_on(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    ensure_vectors(library, scenario)
    blair_in_two_pieces(library, scenario)
    view = open_review(window, qtbot)
    assert len(view.questions) >= 3
    q = skip_to(view, qtbot, lambda q: q.kind == "group_suggestion")
    qtbot.keyClick(view, Qt.Key.Key_A)
    wait_idle(qtbot, window)
    following = view.current_question()
    assert following is not None and following.id != q.id  # the next question is on screen
    view.clearFocus()  # focus went elsewhere (the Edit menu, a click beside the card)
    undo(window, qtbot)
    assert view.mode == "questions" and view.current_question().id == q.id  # the undone question, not the next
    assert view.question_card.title.text() == q.text
    assert window.focusWidget() is view or view.isAncestorOf(window.focusWidget())
    # Ctrl+Shift+Z answers it again: the card moves on; Ctrl+Z brings it back once more.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_idle(qtbot, window)
    assert q.id not in [x.id for x in view.questions]
    assert view.current_question().id == following.id  # the same card as after answering it
    undo(window, qtbot)
    assert view.current_question().id == q.id
    # The keys answer it at once: A again, and the faces are confirmed.
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_A)
    wait_idle(qtbot, window)
    with library.session() as s:
        assert s.get(PromptAnswer, q.id).answer == "yes"


def test_the_question_fits_the_width_the_page_has_when_it_is_shown_again(  # type: ignore[no-untyped-def]
        window, qtbot, scenario: Scenario, library) -> None:
    """The card fitted its faces to the width of its scroll area when the Review page was resized, which is
    before the scroll area itself is: a window widened on another page (or Review opened for the first
    time) showed one face a side in a wide window."""
    ensure_vectors(library, scenario)
    blair_in_two_pieces(library, scenario)
    window.resize(720, 700)
    view = open_review(window, qtbot)
    skip_to(view, qtbot, lambda q: q.kind == "same_person")
    card = view.question_card
    qtbot.waitUntil(lambda: [w.isVisible() for w in card.right] == [True, False], timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # People
    window.resize(1600, 1000)
    wait_idle(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # back to Review
    wait_idle(qtbot, window)
    QApplication.processEvents()
    assert view.current_question() is not None and view.current_question().kind == "same_person"
    assert view.card_area.viewport().width() > 1000
    assert [w.isVisible() for w in card.right] == [True, True]
