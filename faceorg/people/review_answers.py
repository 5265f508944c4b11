"""Answering review questions (see :mod:`faceorg.people.prompts`): each answer is one undoable operation.

- same_person "yes": the two groups become one (``merge_people``; a named person keeps their name).
  "no": a lasting rule between the two groups' faces: cannot-link pairs (every pair for small groups,
  each face's nearest faces of the other group for large ones) that every regrouping and retraining
  respects, and "not this person" for every face of the group when the other is a named person.
- group_suggestion "yes": every waiting face is confirmed; "no": none of them is that person.
- split "yes": the odd faces become a group of their own (``split_faces``); "no": the group stays.
- odd_faces "yes": the odd faces leave the group, unsorted, and are never given to it again
  (``reject_faces``); "no": the group stays.
- unsorted_batch "yes": the faces go to that person (the user's decision); "no": none of them is that
  person (never offered to them again); "one-by-one": they wait as that person's suggestions (Review's
  Faces, or the person's whole-group suggestion). "one-by-one" on a group suggestion changes nothing.
- "skip": the question moves to the end of the list (kept, not in the undo log).

Every answer but "skip" also records the answer (by the faces that decided it), in the same undo entry:
undo brings back both the data and the question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import select

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.prompts import (
    ANSWERS,
    KINDS,
    Question,
    _Library,
    _read,
    group_suggestion_questions,
    odd_face_questions,
    same_person_questions,
    split_questions,
    unsorted_batch_questions,
)
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, CannotLink, FaceNotPerson, Person, PromptAnswer

ALL_PAIRS_UP_TO = 4000  # a "no" links every face pair of two groups up to this many pairs
NEAREST_PER_FACE = 5  # beyond: each face with this many nearest faces of the other group


def _kind_of(question_id: str) -> str:
    prefix = question_id.split("-", 1)[0]
    kind = {"same": "same_person", "group": "group_suggestion", "split": "split",
            "batch": "unsorted_batch", "odd": "odd_faces"}.get(prefix)
    if kind is None:
        raise FaceorgError(f"no question {question_id!r} (see `faceorg review list`)")
    return kind


def find_question(library: Library, question_id: str) -> tuple[Question, _Library]:
    """The open question with this id (and the library data it was computed from)."""
    kind = _kind_of(question_id)
    lib = _read(library)
    if lib is not None:
        make = {"same_person": same_person_questions, "group_suggestion": group_suggestion_questions,
                "split": split_questions, "unsorted_batch": unsorted_batch_questions,
                "odd_faces": odd_face_questions}[kind]
        for q in make(lib):
            if q.id == question_id:
                return q, lib
    raise FaceorgError(f"no open question {question_id!r} (answered already, or the groups changed; "
                       "see `faceorg review list`)")


def _mark(question: Question, answer: str) -> PromptAnswer:
    a = question.pairs[0] if question.pairs else (question.face_ids[0], None)
    return PromptAnswer(key=question.id, kind=question.kind, answer=answer, face_a=a[0], face_b=a[1],
                        faces=list(question.face_ids) if question.kind != "same_person" else None)


def _marker(question: Question, answer: str) -> Callable[[ops._Op], None]:
    """An ``also`` hook for ops: record the answer inside the operation (so undo removes it too)."""
    def add(op: ops._Op) -> None:
        mark = _mark(question, answer)
        op.recorder.touch("prompt_answers", [(mark.key,)])
        row = op.session.get(PromptAnswer, mark.key)
        if row is None:
            op.session.add(mark)
        else:
            row.kind, row.answer, row.face_a, row.face_b, row.faces = (
                mark.kind, mark.answer, mark.face_a, mark.face_b, mark.faces)
        op.session.flush()
    return add


def _cannot_link_pairs(lib: _Library, faces_a: list[int], faces_b: list[int]) -> set[tuple[int, int]]:
    """Face pairs that keep two groups apart: all of them, or each face's nearest in the other group."""
    if len(faces_a) * len(faces_b) <= ALL_PAIRS_UP_TO:
        return {(min(x, y), max(x, y)) for x in faces_a for y in faces_b}
    index = lib.data.index()
    xa = lib.data.vectors[[index[f] for f in faces_a]]
    xb = lib.data.vectors[[index[f] for f in faces_b]]
    sims = xa @ xb.T
    out: set[tuple[int, int]] = set()
    k = NEAREST_PER_FACE
    for i, row in enumerate(np.argsort(-sims, axis=1)[:, :k]):
        out |= {(min(faces_a[i], faces_b[j]), max(faces_a[i], faces_b[j])) for j in row.tolist()}
    for j, col in enumerate(np.argsort(-sims.T, axis=1)[:, :k]):
        out |= {(min(faces_a[i], faces_b[j]), max(faces_a[i], faces_b[j])) for i in col.tolist()}
    return out


def _not_same_person(library: Library, question: Question, lib: _Library) -> ChangeSet:
    src, dst = question.person_ids
    members: dict[int, list[int]] = {src: [], dst: []}
    for f, (p, _s) in lib.data.assignment.items():
        if p in members:
            members[p].append(f)
    links = _cannot_link_pairs(lib, sorted(members[src]), sorted(members[dst]))
    label = f"Not {question.person_names[1]}" if question.person_names[1] else "Not the same person"
    with ops._operation(library, "answer_no", label) as op:
        s, rec = op.session, op.recorder
        rec.touch("cannot_link", links)
        have = {(a, b) for a, b in s.execute(select(CannotLink.face_a, CannotLink.face_b).where(
            CannotLink.face_a.in_(sorted({a for a, _ in links}))))}
        s.add_all([CannotLink(face_a=a, face_b=b) for a, b in sorted(links - have)])
        if question.person_names[1]:  # a named person: none of these faces is them
            pairs = [(f, dst) for f in sorted(members[src])]
            rec.touch("face_not_person", pairs)
            for f, p in pairs:
                if s.get(FaceNotPerson, (f, p)) is None:
                    s.add(FaceNotPerson(face_id=f, person_id=p))
        _marker(question, "no")(op)
    return ops._result(op)


def _only_mark(library: Library, question: Question, label: str) -> ChangeSet:
    with ops._operation(library, "answer_no", label) as op:
        _marker(question, "no")(op)
    return ops._result(op)


def _skip(library: Library, question: Question) -> ChangeSet:
    mark = _mark(question, "skip")
    with library.transaction() as s:
        if s.get(PromptAnswer, mark.key) is None:
            s.add(mark)
    return ChangeSet(label="Skip question")


def answer(library: Library, question_id: str, reply: str) -> ChangeSet:
    """Answer an open question ``yes``, ``no`` or ``skip``; returns what changed (undoable but skip)."""
    if reply not in ANSWERS:
        raise FaceorgError(f"answer with one of {', '.join(ANSWERS)}, not {reply!r}")
    question, lib = find_question(library, question_id)
    return answer_question(library, question, lib, reply)


def answer_question(library: Library, question: Question, lib: _Library, reply: str) -> ChangeSet:
    """Answer ``question``, just listed from ``lib`` (its groups unchanged since), without listing every
    question again (which compares every face with every other)."""
    if reply not in ANSWERS:
        raise FaceorgError(f"answer with one of {', '.join(ANSWERS)}, not {reply!r}")
    if reply == "skip":
        return _skip(library, question)
    if reply == "one-by-one" and question.kind != "unsorted_batch":
        if question.kind == "group_suggestion":  # its faces wait under Faces already
            return ChangeSet(label="Decide one by one")
        raise FaceorgError("one-by-one answers a batch of faces (a group suggestion or unsorted faces)")
    also = _marker(question, reply)
    if question.kind == "unsorted_batch":
        person = question.person_ids[0]
        if reply == "yes":
            return ops.move_faces(library, question.face_ids, person, also=also)
        if reply == "no":
            return ops.reject_faces(library, question.face_ids, person, also=also)
        return ops.suggest_faces(library, question.face_ids, person, also=also)
    if question.kind == "same_person":
        src, dst = question.person_ids
        if reply == "yes":
            label = f"Same person: join {question.person_names[1]}" if question.person_names[1] else \
                "Same person: join two groups"
            return ops.merge_people(library, dst, [src], label=label, also=also)
        return _not_same_person(library, question, lib)
    if question.kind == "group_suggestion":
        if reply == "yes":
            return ops.accept_suggestions(library, question.face_ids, also=also)
        return ops.reject_faces(library, question.face_ids, question.person_ids[0], also=also)
    if question.kind == "odd_faces":
        if reply == "yes":
            return ops.reject_faces(library, question.face_ids, question.person_ids[0], also=also)
        return _only_mark(library, question, "Keep the group as it is")
    if reply == "yes":
        return ops.split_faces(library, question.face_ids, also=also)
    return _only_mark(library, question, "Keep the group as it is")


def accept_person_suggestions(library: Library, person_id: int) -> ChangeSet:
    """Confirm every face waiting for a named person (suggested or grouped automatically) in one action."""
    with library.session() as s:
        person = s.get(Person, person_id)
        if person is None:
            raise FaceorgError(f"no person with id {person_id} (see `faceorg people list`)")
        who = person.name or f"person {person_id}"
        faces = list(s.scalars(select(Assignment.face_id).where(
            Assignment.person_id == person_id, Assignment.source != AssignmentSource.USER)))
    if not faces:
        raise FaceorgError(f"{who} has no faces waiting to be accepted")
    return ops.accept_suggestions(library, faces)


def _chosen(ids: Iterable[int], only: Iterable[int] | None, excluding: Iterable[int]) -> list[int]:
    """``ids`` in order, only those in ``only`` (when given), none of ``excluding``."""
    allowed = None if only is None else set(only)
    skip = set(excluding)
    return [f for f in ids if f not in skip and (allowed is None or f in allowed)]


def accept_all_suggestions(library: Library, *, only: Iterable[int] | None = None,
                           excluding: Iterable[int] = ()) -> ChangeSet:
    """Say yes to every face suggested to a named person, across people, in one action (one undo step):
    the whole list of suggested faces, after the user turned down the wrong ones. ``only``: just these
    faces among them (the ones the user saw; a suggestion that came later is left waiting); ``excluding``:
    faces left waiting. Faces grouped automatically (not suggestions) are not touched."""
    from faceorg.people.queries import suggested_faces

    ids = _chosen((f.id for f in suggested_faces(library)), only, excluding)
    if not ids:
        raise FaceorgError("no suggested faces are waiting to be accepted")
    return ops.accept_suggestions(library, ids, label=f"Accept {len(ids)} suggested face{'s' if len(ids) != 1 else ''}")


def confirm_all_unconfirmed(library: Library, *, only: Iterable[int] | None = None,
                            excluding: Iterable[int] = ()) -> ChangeSet:
    """Confirm every face of a named person not confirmed yet (grouped automatically or suggested), across
    people, in one action: the whole Check Named Faces list, after the user moved or turned down the wrong
    ones. ``only``: just these faces among them (the ones the user saw); ``excluding``: faces left as they are."""
    from faceorg.people.queries import unconfirmed_face_ids

    ids = _chosen(unconfirmed_face_ids(library)[0], only, excluding)
    if not ids:
        raise FaceorgError("every face of your named people is confirmed already")
    return ops.confirm_faces(library, ids)


__all__ = ["KINDS", "ANSWERS", "answer", "answer_question", "find_question", "accept_person_suggestions",
           "accept_all_suggestions", "confirm_all_unconfirmed"]
