"""`faceorg review list|answer`: the review questions ("same person?", group suggestions, splits)."""

from __future__ import annotations

import argparse

from faceorg.cli.common import open_from_args, print_json, print_table
from faceorg.people.prompts import ANSWERS, KINDS, Question


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = sub.add_parser("review", help="questions that sort the library quickly: same person? splits, "
                                           "whole-group suggestions")
    rs = review.add_subparsers(dest="review_command", required=True, metavar="{list,answer}")
    p = rs.add_parser("list", help="open questions, the surest first (skipped ones last)")
    p.add_argument("--kind", choices=KINDS, action="append", help="only questions of this kind (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON array of questions")
    p.set_defaults(func=cmd_review_list)
    p = rs.add_parser("answer", help="answer a question: yes, no, skip, or one-by-one for a batch of faces "
                                     "(yes, no and one-by-one can be undone)")
    p.add_argument("question", metavar="ID", help="a question id from `faceorg review list`")
    p.add_argument("reply", choices=ANSWERS, metavar="{" + ",".join(ANSWERS) + "}")
    p.add_argument("--json", action="store_true", help="print the change record as JSON")
    p.set_defaults(func=cmd_review_answer)


def cmd_review_list(args: argparse.Namespace) -> int:
    from faceorg.people.prompts import list_questions

    with open_from_args(args) as library:
        questions = list_questions(library, tuple(args.kind or KINDS))
    if args.json:
        print_json([q.as_dict() for q in questions])
        return 0
    if not questions:
        print("Nothing to review.")
        return 0

    def people(q: Question) -> str:
        return " -> ".join(f"{n or 'Unnamed'} ({p})" for p, n in zip(q.person_ids, q.person_names))

    print_table(["id", "kind", "score", "people", "faces", "question"],
                [[q.id, q.kind + (" (skipped)" if q.skipped else ""), f"{q.score:.2f}", people(q),
                  " ".join(map(str, q.face_ids[:6])) + (" …" if len(q.face_ids) > 6 else ""), q.text]
                 for q in questions])
    return 0


def cmd_review_answer(args: argparse.Namespace) -> int:
    from faceorg.people.review_answers import answer

    with open_from_args(args) as library:
        cs = answer(library, args.question, args.reply)
    if args.json:
        print_json(cs.as_dict())
        return 0
    parts = [f"{len(ids)} {what}" for what, ids in (
        ("people added", cs.people_added), ("people changed", cs.people_changed),
        ("people removed", cs.people_removed), ("faces changed", cs.faces_changed)) if ids]
    print(f"{cs.label}: " + (", ".join(parts) if parts else "nothing changed"))
    return 0
