"""Review questions: "same person?" ranked by linkage and never against the user's rules, answers that last
(a "no" survives a full regrouping and is never asked again), whole-group suggestions, splits, undo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.prompts import close_group_pairs, list_questions, odd_part, same_likelihood
from faceorg.people.review_answers import accept_person_suggestions, answer
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, CannotLink, Person, PromptAnswer
from tests.libgen import decisions_snapshot, make_library

DIM = 128


def people_vectors(rng: np.random.Generator, n_people: int, per_person: int, spread: float = 0.05) -> np.ndarray:
    centres = rng.normal(size=(n_people, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(scale=spread, size=(n_people * per_person, DIM)) / np.sqrt(DIM) * 3
    out = centres.repeat(per_person, axis=0) + noise
    return out / np.linalg.norm(out, axis=1, keepdims=True)


# -- pure ranking ---------------------------------------------------------------------------------------------
def test_linkage_ranks_the_closest_groups_first_and_ignores_far_ones() -> None:
    rng = np.random.default_rng(0)
    x = people_vectors(rng, 3, 6)
    labels = np.repeat([0, 1, 2], 6)
    # person 0 split over labels 0 and 3; person 1 over 1 and 4 (but looser); person 2 alone
    labels[3:6] = 3
    x[9:12] = x[9:12] + rng.normal(scale=0.02, size=(3, DIM))
    labels[9:12] = 4
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    pairs = close_group_pairs(x, labels, max_linkage=0.42)
    assert [(p.a, p.b) for p in pairs][:2] in ([(0, 3), (1, 4)], [(1, 4), (0, 3)])
    assert all({p.a, p.b} in ({0, 3}, {1, 4}) for p in pairs)  # different people are never proposed
    assert same_likelihood(0.30) > 0.95 > 0.05 > same_likelihood(0.43)


def test_linkage_is_not_fooled_by_far_centres() -> None:
    """Two groups whose centres are far apart but which touch (a chain of one person's faces) rank above
    two groups whose centres are nearer but none of whose faces are close: linkage, not centres."""
    rng = np.random.default_rng(1)
    base = people_vectors(rng, 1, 1)[0]
    step = rng.normal(size=DIM)
    step -= step @ base * base
    step /= np.linalg.norm(step)
    chain = np.array([base + t * step for t in np.linspace(0, 1.2, 8)])
    chain /= np.linalg.norm(chain, axis=1, keepdims=True)
    labels = np.array([0] * 4 + [1] * 4)
    pairs = close_group_pairs(chain, labels, max_linkage=0.42)
    assert [(p.a, p.b) for p in pairs] == [(0, 1)]
    assert pairs[0].pairs[0][:2] == (3, 4)  # the touching faces decided it


def test_one_stray_face_does_not_make_two_groups_look_alike() -> None:
    """Group B holds one face of A's person (a grouping mistake): that single face must not decide."""
    rng = np.random.default_rng(4)
    x = people_vectors(rng, 2, 6)
    labels = np.array([0] * 5 + [1] + [1] * 6)  # face 5 (person 0) sits in group 1
    assert close_group_pairs(x, labels, max_linkage=0.43) == []
    labels[5] = 2  # the same faces as a third group of one: asked, decided by that face
    [pair] = close_group_pairs(x, labels, max_linkage=0.43)
    assert (pair.a, pair.b) == (0, 2) and pair.pairs[0][1] == 5


def test_odd_part_finds_a_second_person_and_leaves_one_person_whole() -> None:
    rng = np.random.default_rng(2)
    x = people_vectors(rng, 2, 6)
    one = odd_part(x[:6], 0.42)
    assert one is None
    mixed = np.vstack([x[:6], x[6:8]])
    found = odd_part(mixed, 0.42)
    assert found is not None and sorted(found[0].tolist()) == [6, 7]


# -- a library ------------------------------------------------------------------------------------------------
@pytest.fixture()
def split_library(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Three people of 8 faces, one photo each, grouped; person 0's group then cut in two (as a grouping
    that left them in pieces would), and person 1 named."""
    rng = np.random.default_rng(5)
    vecs = people_vectors(rng, 3, 8)
    lib, ids = make_library(tmp_path / "lib.sqlite", [[v] for v in vecs])
    faces = [f[0] for f in ids]
    recluster(lib)
    with lib.transaction() as s:
        owner = {f: p for f, p in s.execute(select(Assignment.face_id, Assignment.person_id))}
        assert len({owner[f] for f in faces[:8]}) == 1
        piece = Person()
        s.add(piece)
        s.flush()
        s.execute(update(Assignment).where(Assignment.face_id.in_(faces[4:8])).values(person_id=piece.id))
    ops.name_person(lib, owner[faces[8]], "Ann", confirm=faces[8:16])  # named after looking at her faces
    yield lib, faces
    lib.close()


def owners(lib: Library) -> dict[int, int]:
    with lib.session() as s:
        return {f: p for f, p in s.execute(select(Assignment.face_id, Assignment.person_id))}


def same_question(lib: Library, a: int, b: int):  # type: ignore[no-untyped-def]
    own = owners(lib)
    return [q for q in list_questions(lib) if q.kind == "same_person"
            and set(q.person_ids) == {own.get(a), own.get(b)}]


def test_same_person_yes_merges_and_undo_unmerges(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    [q] = same_question(lib, faces[0], faces[4])
    assert q.score > 0.8 and len(q.pairs) >= 1 and q.distance is not None
    assert {q.pairs[0][0], q.pairs[0][1]} <= set(faces[:8])  # shown with the faces that decided it
    before = decisions_snapshot(lib)
    cs = answer(lib, q.id, "yes")
    assert cs.operation_id is not None
    own = owners(lib)
    assert len({own[f] for f in faces[:8]}) == 1
    assert not same_question(lib, faces[0], faces[4])
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    with lib.session() as s:
        assert s.scalar(select(PromptAnswer)) is None
    assert [x.id for x in same_question(lib, faces[0], faces[4])] == [q.id]


def test_same_person_no_survives_full_regrouping_and_is_never_asked_again(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    [q] = same_question(lib, faces[0], faces[4])
    answer(lib, q.id, "no")
    with lib.session() as s:
        links = {(a, b) for a, b in s.execute(select(CannotLink.face_a, CannotLink.face_b))}
    assert links == {(a, b) for a in faces[:4] for b in faces[4:8]}
    assert not same_question(lib, faces[0], faces[4])
    # Regrouping everything finds one tight group of person 0 again: the "no" must keep the halves apart.
    recluster(lib, full=True)
    own = owners(lib)
    assert not ({own.get(f) for f in faces[:4]} & {own.get(f) for f in faces[4:8]} - {None})
    assert all(set(q.face_ids) & set(faces[:8]) == set() or q.kind != "same_person" for q in list_questions(lib))
    # Undo lifts the rule and the mark: the question comes back.
    ops.undo(lib)
    with lib.session() as s:
        assert s.scalar(select(CannotLink)) is None and s.scalar(select(PromptAnswer)) is None


def test_an_answer_is_kept_by_its_faces_so_renumbered_groups_are_not_asked_again(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    [q] = same_question(lib, faces[0], faces[4])
    answer(lib, q.id, "skip")
    [again] = same_question(lib, faces[0], faces[4])
    assert again.skipped and list_questions(lib)[-1].id == again.id  # skipped questions come last
    # A "no" mark alone (no rule between the faces) must still hold after the groups are renumbered.
    with lib.transaction() as s:
        s.execute(update(PromptAnswer).values(answer="no"))
        old = owners(lib)[faces[4]]
        fresh = Person()
        s.add(fresh)
        s.flush()
        s.execute(update(Assignment).where(Assignment.person_id == old).values(person_id=fresh.id))
        s.delete(s.get(Person, old))
    assert not same_question(lib, faces[0], faces[4])


def test_forbidden_pairs_are_never_proposed(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    assert same_question(lib, faces[0], faces[4])
    ops.add_cannot_link(lib, faces[1], faces[6])
    assert not same_question(lib, faces[0], faces[4])
    ops.undo(lib)
    # "not this person" between the groups
    own = owners(lib)
    ops.reject_faces(lib, [faces[5]], own[faces[0]])
    assert not same_question(lib, faces[0], faces[4])
    ops.undo(lib)
    # the two groups share an ordinary photo
    with lib.transaction() as s:
        from faceorg.store.models import Face
        photo = s.get(Face, faces[0]).photo_id
        s.execute(update(Face).where(Face.id == faces[5]).values(photo_id=photo))
    assert not same_question(lib, faces[0], faces[4])
    ops.set_collage(lib, photo)
    assert same_question(lib, faces[0], faces[4])


def test_unnamed_to_named_no_keeps_the_group_from_that_person(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    ann = owners(lib)[faces[8]]
    with lib.transaction() as s:  # a piece of Ann left unnamed
        piece = Person()
        s.add(piece)
        s.flush()
        s.execute(update(Assignment).where(Assignment.face_id.in_(faces[13:16]))
                  .values(person_id=piece.id, source=AssignmentSource.AUTO))
    [q] = same_question(lib, faces[8], faces[13])
    assert q.person_ids == (piece.id, ann) and q.person_names == (None, "Ann") and "look like Ann" in q.text
    cs = answer(lib, q.id, "yes")  # named wins
    own = owners(lib)
    assert all(own[f] == ann for f in faces[8:16]) and cs.people_removed == {piece.id}
    ops.undo(lib)
    answer(lib, q.id, "no")
    recluster(lib, full=True)
    own = owners(lib)
    assert all(own.get(f) != ann for f in faces[13:16])
    assert not same_question(lib, faces[8], faces[13])


def test_group_suggestion_and_accept_all(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    ann = owners(lib)[faces[8]]
    with lib.transaction() as s:
        s.execute(update(Assignment).where(Assignment.face_id.in_(faces[12:16]))
                  .values(source=AssignmentSource.SUGGESTED, distance=0.3))
    [q] = [q for q in list_questions(lib) if q.kind == "group_suggestion"]
    assert q.person_ids == (ann,) and set(q.face_ids) == set(faces[12:16]) and "4 faces look like Ann" in q.text
    before = decisions_snapshot(lib)
    answer(lib, q.id, "no")
    assert all(owners(lib).get(f) != ann for f in faces[12:16])
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    answer(lib, q.id, "yes")
    with lib.session() as s:
        assert set(s.scalars(select(Assignment.source).where(Assignment.face_id.in_(faces[12:16])))) == {
            AssignmentSource.USER}
    assert not [q for q in list_questions(lib) if q.kind == "group_suggestion"]
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    accept_person_suggestions(lib, ann)
    with pytest.raises(FaceorgError, match="no faces waiting"):
        accept_person_suggestions(lib, ann)


def test_split_suggestion_shows_the_odd_faces_and_splits_in_one_action(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    with lib.transaction() as s:  # two faces of person 2 grouped with person 0's first piece
        target = owners(lib)[faces[0]]
        s.execute(update(Assignment).where(Assignment.face_id.in_(faces[16:18])).values(person_id=target))
    [q] = [q for q in list_questions(lib) if q.kind == "split"]
    assert set(q.face_ids) == set(faces[16:18]) and q.person_ids == (target,) and q.score > 0.9
    before = decisions_snapshot(lib)
    answer(lib, q.id, "yes")
    own = owners(lib)
    assert own[faces[16]] == own[faces[17]] != own[faces[0]]
    assert not [q for q in list_questions(lib) if q.kind == "split"]
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    answer(lib, q.id, "no")
    assert not [q for q in list_questions(lib) if q.kind == "split"]
    ops.undo(lib)
    assert [x.id for x in list_questions(lib) if x.kind == "split"] == [q.id]


def test_answer_refuses_unknown_questions_and_answers(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    with pytest.raises(FaceorgError, match="no question"):
        answer(lib, "bogus", "yes")
    with pytest.raises(FaceorgError, match="no open question"):
        answer(lib, "same-1-2", "yes")
    with pytest.raises(FaceorgError, match="one of"):
        answer(lib, "same-1-2", "maybe")


# -- the k-NN graph instead of every pair -------------------------------------------------------------------
def cone_library(n_people: int, per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Face-like vectors: every face within ~0.65 of most others (as real face vectors are, which made the
    old all-pairs search slow), people ~0.6 apart; each person's first face a group of its own."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=DIM)
    mean /= np.linalg.norm(mean)
    c = rng.normal(size=(n_people, DIM))
    c = mean + 0.45 * c / np.linalg.norm(c, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = np.repeat(c, per, axis=0) + rng.normal(scale=0.2 / np.sqrt(DIM), size=(n_people * per, DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_people), per)
    labels[::per] = n_people + np.arange(n_people)
    return x, labels


def all_pairs_reference(x: np.ndarray, labels: np.ndarray, max_linkage: float,
                        neighbours: int = 8) -> list[tuple[int, int, float]]:
    """What close_group_pairs means, by brute force: each face's nearest faces of other groups."""
    from faceorg.people.prompts import linkage
    from faceorg.vectors import distance_from_similarity

    d = distance_from_similarity(x @ x.T)
    found: dict[tuple[int, int], dict[tuple[int, int], float]] = {}
    for i in range(len(x)):
        other = np.flatnonzero(labels != labels[i])
        near = other[np.argsort(d[i, other], kind="stable")[:neighbours]]
        for j in near[d[i, near] <= max_linkage * 1.5].tolist():
            a, b = (i, j) if labels[i] < labels[j] else (j, i)
            found.setdefault((int(labels[a]), int(labels[b])), {})[(a, b)] = float(d[i, j])
    sizes = np.bincount(labels)
    out = []
    for (ga, gb), pairs in found.items():
        keys = list(pairs)
        link, _ = linkage(np.array([a for a, _ in keys]), np.array([b for _, b in keys]),
                          np.array([pairs[k] for k in keys]), sizes[ga], sizes[gb], max_linkage * 1.5)
        if link <= max_linkage:
            out.append((ga, gb, round(link, 6)))
    return sorted(out, key=lambda t: (t[2], t[0], t[1]))


def test_close_group_pairs_from_the_knn_graph_match_every_pair_compared() -> None:
    x, labels = cone_library(150, 6)
    got = {(p.a, p.b): p.linkage for p in close_group_pairs(x, labels, 0.43)}
    want = {(a, b): link for a, b, link in all_pairs_reference(x, labels, 0.43)}
    assert set(got) == set(want)
    assert all(abs(got[k] - want[k]) < 1e-5 for k in got)  # float32 products here and there
    assert len(got) == 150  # each person's lone face and the rest of them, nobody else


def test_close_group_pairs_stays_fast_on_face_like_vectors() -> None:
    """6,000 faces, nearly all within reach of each other: comparing every pair took ~60 s on 2 busy cores
    (about 100 s for all of LFW); the k-NN graph takes a few."""
    import time

    x, labels = cone_library(1000, 6, seed=3)
    start = time.perf_counter()
    pairs = close_group_pairs(x, labels, 0.43)
    assert time.perf_counter() - start < 25.0
    assert len(pairs) == 1000


# -- unsorted batches ---------------------------------------------------------------------------------------
def unsort(lib: Library, faces: list[int]) -> None:
    """These faces in no group (as a grouping leaves faces it is unsure of)."""
    from sqlalchemy import delete

    with lib.transaction() as s:
        s.execute(delete(Assignment).where(Assignment.face_id.in_(faces)))


def batch_questions(lib: Library):  # type: ignore[no-untyped-def]
    return [q for q in list_questions(lib) if q.kind == "unsorted_batch"]


def test_unsorted_faces_are_offered_to_their_named_person_as_one_batch(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    ann = owners(lib)[faces[8]]
    unsort(lib, faces[13:16])
    [q] = batch_questions(lib)
    assert q.person_ids == (ann,) and set(q.face_ids) == set(faces[13:16])
    assert q.text == "These 3 unsorted faces may be Ann. Are they all Ann?" and q.score >= 0.7
    assert q.face_counts == (5,)
    before = decisions_snapshot(lib)
    cs = answer(lib, q.id, "yes")  # one action: all three with Ann, as the user's decision
    assert set(cs.faces_changed) >= set(faces[13:16])
    with lib.session() as s:
        rows = {f: (p, src) for f, p, src in s.execute(select(Assignment.face_id, Assignment.person_id,
                                                              Assignment.source))}
    assert all(rows[f] == (ann, AssignmentSource.USER) for f in faces[13:16])
    assert batch_questions(lib) == []
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    assert [x.id for x in batch_questions(lib)] == [q.id]


def test_unsorted_batch_no_is_never_asked_again_even_after_full_regrouping(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    ann = owners(lib)[faces[8]]
    unsort(lib, faces[13:16])
    [q] = batch_questions(lib)
    answer(lib, q.id, "no")
    assert all(f not in owners(lib) for f in faces[13:16])
    with lib.session() as s:
        assert s.get(PromptAnswer, q.id).answer == "no"
    assert batch_questions(lib) == []
    recluster(lib, full=True)
    assert all(owners(lib).get(f) != ann for f in faces[13:16])  # "not Ann" holds for the grouping too
    assert not [x for x in batch_questions(lib) if set(x.face_ids) & set(faces[13:16]) and x.person_ids == (ann,)]


def test_unsorted_batch_one_by_one_makes_them_suggestions_and_undo_takes_them_back(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    ann = owners(lib)[faces[8]]
    unsort(lib, faces[13:16])
    [q] = batch_questions(lib)
    before = decisions_snapshot(lib)
    answer(lib, q.id, "one-by-one")
    with lib.session() as s:
        rows = {f: (p, src) for f, p, src in s.execute(select(Assignment.face_id, Assignment.person_id,
                                                              Assignment.source))}
    assert all(rows[f] == (ann, AssignmentSource.SUGGESTED) for f in faces[13:16])
    [g] = [x for x in list_questions(lib) if x.kind == "group_suggestion"]  # now Ann's waiting faces
    assert set(g.face_ids) == set(faces[13:16])
    ops.undo(lib)
    assert decisions_snapshot(lib) == before
    with pytest.raises(FaceorgError, match="one-by-one answers a batch"):
        answer(lib, next(x.id for x in list_questions(lib) if x.kind == "same_person"), "one-by-one")


def test_unsorted_batch_never_offers_a_face_to_a_person_already_in_its_photo(split_library) -> None:  # type: ignore[no-untyped-def]
    lib, faces = split_library
    from faceorg.store.models import Face

    unsort(lib, faces[13:16])
    with lib.session() as s:
        photo_of_8 = s.get(Face, faces[8]).photo_id
    with lib.transaction() as s:
        s.get(Face, faces[13]).photo_id = photo_of_8  # face 13 in the photo Ann is in already
    [q] = batch_questions(lib)
    assert set(q.face_ids) == set(faces[14:16])
