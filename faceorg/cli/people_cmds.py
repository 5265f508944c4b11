"""`faceorg people ...`, `faceorg faces ...`, `faceorg photos ...`, `faceorg undo|redo`, `faceorg export`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace

from faceorg.cli import photos_cmds
from faceorg.cli.common import db_id, open_from_args, print_json, print_table
from faceorg.cli.drawn_cmds import register_faces
from faceorg.filenames import display_path
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.nearest import order_by_likeness
from faceorg.people.queries import (
    FaceSummary,
    export_library,
    faces_by_status,
    faces_of_person,
    list_people,
    photo_with_faces,
    review_queue,
    suggested_faces,
    unconfirmed_faces,
)
from faceorg.store.db import Library
from faceorg.store.models import FaceStatus


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the change record as JSON")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = sub.add_parser("people", help="list, name, merge, split and hide people")
    ps = people.add_subparsers(dest="people_command", required=True,
                               metavar="{list,name,merge,split,hide,cover,delete,accept-suggestions,ignore-unnamed}")
    p = ps.add_parser("list", help="people and unnamed groups, named first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--hidden", action="store_true", help="include hidden people")
    p.add_argument("--filter", metavar="TEXT", help="only names containing TEXT")
    p.set_defaults(func=cmd_people_list)
    p = ps.add_parser("name", help="name or rename a person (an existing name merges them)")
    p.add_argument("person", type=db_id, metavar="PERSON_ID")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--confirm", type=int, nargs="+", default=[], metavar="FACE_ID",
                   help="faces of the group you looked at: confirm them too (the others stay automatic)")
    p.add_argument("--take-out", dest="take_out", type=db_id, nargs="+", default=[], metavar="FACE_ID",
                   help="faces of the group that are not this person: take them out in the same step "
                        "(they go back to unsorted and are never given to this person again)")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.name_person(lib, a.person, a.name, a.confirm,
                                                                     take_out=a.take_out)))
    p = ps.add_parser("merge", help="merge people into the first one")
    p.add_argument("target", type=db_id, metavar="TARGET_ID")
    p.add_argument("sources", type=db_id, nargs="+", metavar="PERSON_ID")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.merge_people(lib, a.target, a.sources)))
    p = ps.add_parser("split", help="make the given faces a new person")
    p.add_argument("faces", type=db_id, nargs="+", metavar="FACE_ID")
    p.add_argument("--name", help="name for the new person")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.split_faces(lib, a.faces, a.name)))
    p = ps.add_parser("hide", help="hide a person (or show again with --show)")
    p.add_argument("person", type=db_id, metavar="PERSON_ID")
    p.add_argument("--show", action="store_true")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.hide_person(lib, a.person, not a.show)))
    p = ps.add_parser("cover", help="use a face as the person's cover")
    p.add_argument("person", type=db_id, metavar="PERSON_ID")
    p.add_argument("face", type=db_id, metavar="FACE_ID")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.set_cover(lib, a.person, a.face)))
    p = ps.add_parser("delete", help="delete a person; their faces become unassigned")
    p.add_argument("person", type=db_id, metavar="PERSON_ID")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.delete_person(lib, a.person)))
    p = ps.add_parser("accept-suggestions", help="confirm every face waiting for this person, in one action")
    p.add_argument("person", type=int, metavar="PERSON_ID")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: _accept_all(lib, a.person)))

    p = ps.add_parser("ignore-unnamed", help="strangers: ignore every unnamed group (after naming the people "
                                             "you care about); groups holding a face you placed are kept")
    p.add_argument("--min-faces", type=int, default=2, metavar="N", help="only groups of at least N faces (default 2)")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.ignore_unnamed_groups(lib, a.min_faces)))

    faces = sub.add_parser("faces", help="list faces; move, reject, ignore them")
    fs = faces.add_subparsers(dest="faces_command", required=True,
                              metavar="{list,move,reject,ignore,not-face,restore,accept,accept-all,confirm,confirm-all,different,"
                                      "add,resize,remove}")
    p = fs.add_parser("list", help="faces of a person, unassigned, ignored, or waiting for review")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--person", type=db_id, metavar="PERSON_ID")
    group.add_argument("--unassigned", action="store_true")
    group.add_argument("--ignored", action="store_true")
    group.add_argument("--not-face", action="store_true")
    group.add_argument("--review", action="store_true", help="suggestions, most uncertain first")
    group.add_argument("--suggested", action="store_true",
                       help="every face suggested to a named person, by person, surest first")
    group.add_argument("--unconfirmed", action="store_true",
                       help="every face of a named person you have not confirmed, across people, least sure first")
    p.add_argument("--like", type=db_id, nargs="+", default=[], metavar="FACE_ID",
                   help="look-alikes first: these faces (those in the list) lead, then the faces most like them "
                        "(key like_distance)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_faces_list)
    p = fs.add_parser("move", help="give faces to a person")
    p.add_argument("faces", type=db_id, nargs="+", metavar="FACE_ID")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", type=db_id, metavar="PERSON_ID")
    target.add_argument("--name", help="the person's name (created if new)")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.move_faces(lib, a.faces, a.to) if a.to is not None
                                      else ops.assign_faces_to_name(lib, a.faces, a.name)))
    p = fs.add_parser("reject", help="not this person: never give these faces to that person again")
    p.add_argument("faces", type=db_id, nargs="+", metavar="FACE_ID")
    p.add_argument("--person", type=db_id, metavar="PERSON_ID", help="default: the person each face is with now")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.reject_faces(lib, a.faces, a.person)))
    for name, fn, text in (("ignore", ops.ignore_faces, "strangers: keep these faces out of people"),
                           ("not-face", ops.mark_not_face, "the detector was wrong: not faces"),
                           ("restore", ops.restore_faces, "undo ignore / not-face for these faces"),
                           ("accept", ops.accept_suggestions, "confirm suggested matches"),
                           ("confirm", ops.confirm_faces,
                            "these faces are the person they are with now: they stop being automatic")):
        p = fs.add_parser(name, help=text)
        p.add_argument("faces", type=db_id, nargs="+", metavar="FACE_ID")
        _json_flag(p)
        p.set_defaults(func=lambda a, fn=fn: _do(a, lambda lib: fn(lib, a.faces)))
    p = fs.add_parser("accept-all", help="say yes to every face suggested to a named person, across people, in "
                                         "one action (turn the wrong ones down first: `faces reject`)")
    p.add_argument("--except", dest="excluding", type=db_id, nargs="+", default=[], metavar="FACE_ID",
                   help="leave these faces waiting")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: _accept_every_suggestion(lib, a.excluding)))
    p = fs.add_parser("confirm-all", help="confirm every face of your named people not confirmed yet, across "
                                          "people, in one action (move or turn down the wrong ones first: "
                                          "`faces list --unconfirmed`)")
    p.add_argument("--except", dest="excluding", type=db_id, nargs="+", default=[], metavar="FACE_ID",
                   help="leave these faces as they are")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: _confirm_every_face(lib, a.excluding)))
    p = fs.add_parser("different", help="two faces are different people")
    p.add_argument("face_a", type=db_id)
    p.add_argument("face_b", type=db_id)
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.add_cannot_link(lib, a.face_a, a.face_b)))
    register_faces(fs)  # add, resize, remove: faces the user draws

    photos = sub.add_parser("photos", help="list and copy photos by the people in them; show a photo's faces")
    phs = photos.add_subparsers(dest="photos_command", required=True,
                                metavar="{list,copy,show,collage,ignore-strangers}")
    photos_cmds.register(phs)
    p = phs.add_parser("show", help="a photo's faces and who they are")
    p.add_argument("photo", type=db_id, metavar="PHOTO_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_photo_show)
    p = phs.add_parser("collage", help="a collage or mirror shot: one person may appear more than once")
    p.add_argument("photo", type=db_id, metavar="PHOTO_ID")
    p.add_argument("--off", action="store_true", help="an ordinary photo again")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.set_collage(lib, a.photo, not a.off)))
    p = phs.add_parser("ignore-strangers", help="ignore every face in the photo that has no name")
    p.add_argument("photo", type=db_id, metavar="PHOTO_ID")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, lambda lib: ops.ignore_strangers_in_photo(lib, a.photo)))

    p = sub.add_parser("undo", help="undo the latest change to people and faces")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, ops.undo))
    p = sub.add_parser("redo", help="redo the latest undone change")
    _json_flag(p)
    p.set_defaults(func=lambda a: _do(a, ops.redo))

    p = sub.add_parser("cluster", help="group faces into people (new faces only, or everything with --full)")
    p.add_argument("--full", action="store_true",
                   help="regroup every face that is not your decision (faces you placed never move)")
    _json_flag(p)
    p.set_defaults(func=cmd_cluster)

    p = sub.add_parser("export", help="every photo with its faces, boxes and names")
    p.add_argument("--json", action="store_true", required=True, help="print JSON (the only format)")
    p.set_defaults(func=cmd_export)


def _accept_all(library: Library, person_id: int) -> ChangeSet:
    from faceorg.people.review_answers import accept_person_suggestions

    return accept_person_suggestions(library, person_id)


def _accept_every_suggestion(library: Library, excluding: list[int]) -> ChangeSet:
    from faceorg.people.review_answers import accept_all_suggestions

    return accept_all_suggestions(library, excluding=excluding)


def _confirm_every_face(library: Library, excluding: list[int]) -> ChangeSet:
    from faceorg.people.review_answers import confirm_all_unconfirmed

    return confirm_all_unconfirmed(library, excluding=excluding)


def _do(args: argparse.Namespace, action: Callable[[Library], ChangeSet]) -> int:
    with open_from_args(args) as library:
        cs: ChangeSet = action(library)
    if args.json:
        print_json(cs.as_dict())
    else:
        parts = []
        for what, ids in (("people added", cs.people_added), ("people changed", cs.people_changed),
                          ("people removed", cs.people_removed), ("faces changed", cs.faces_changed),
                          ("faces added", cs.faces_added), ("faces removed", cs.faces_removed)):
            if ids:
                parts.append(f"{len(ids)} {what}")
        print(f"{cs.label}: " + (", ".join(parts) if parts else "nothing changed"))
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from faceorg.cli.progressbar import terminal_progress
    from faceorg.people.clustering import recluster

    with open_from_args(args) as library, terminal_progress() as progress:
        cs = recluster(library, progress, full=args.full)
        people = list_people(library, include_hidden=True)
    if args.json:
        print_json(cs.as_dict())
        return 0
    named = sum(1 for p in people if p.name)
    print(f"Grouped faces: {len(people)} people ({named} named), {len(cs.people_added)} new groups, "
          f"{len(cs.faces_changed)} faces placed or moved, {len(cs.people_removed)} groups dissolved")
    return 0


def cmd_people_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        people = list_people(library, include_hidden=args.hidden, name_filter=args.filter)
    if args.json:
        print_json([p.as_dict() for p in people])
        return 0
    print_table(["id", "name", "faces", "confirmed", "suggested", "cover", "hidden"],
                [[p.id, p.name or "Unnamed", p.face_count, p.confirmed, p.suggested, p.cover_face_id or "",
                  "yes" if p.hidden else ""] for p in people])
    return 0


def cmd_faces_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        if args.person is not None:
            faces = faces_of_person(library, args.person)
        elif args.review:
            faces = review_queue(library)
        elif args.suggested:
            faces = suggested_faces(library)
        elif args.unconfirmed:
            faces = unconfirmed_faces(library)
        else:
            status = FaceStatus.IGNORED if args.ignored else FaceStatus.NOT_FACE if args.not_face else None
            faces = faces_by_status(library, status)
        if args.like:
            faces = _look_alikes_first(library, faces, args.like)
    if args.json:
        print_json([f.as_dict() for f in faces])
        return 0
    print_table(["face", "photo", "person", "source", "quality", "distance", "runner-up"],
                [[f.id, f.photo_path, f.person_name or (f.person_id or ""), f.source or "", f"{f.quality:.2f}",
                  "" if f.distance is None else f"{f.distance:.3f}",
                  "" if f.runner_up_id is None
                  else f"{f.runner_up_name or f.runner_up_id} ({f.runner_up_distance:.3f})"]
                 for f in faces])
    return 0


def _look_alikes_first(library: Library, faces: list[FaceSummary], seeds: list[int]) -> list[FaceSummary]:
    """The listed faces among ``seeds`` first, then the others nearest first to the nearest seed."""
    by_id = {f.id: f for f in faces}
    lead = [replace(by_id[f], like_distance=0.0) for f in dict.fromkeys(seeds) if f in by_id]
    ranked = order_by_likeness(library, seeds, [f.id for f in faces])
    return lead + [replace(by_id[f], like_distance=d) for f, d in ranked]


def cmd_photo_show(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        photo = photo_with_faces(library, args.photo)
    if args.json:
        print_json({"id": photo.photo_id, "path": photo.path, "width": photo.width, "height": photo.height,
                    "collage": photo.is_collage, "faces": [f.as_dict() for f in photo.faces]})
        return 0
    print(f"{display_path(photo.path)} ({photo.width}x{photo.height}{', collage' if photo.is_collage else ''})")
    print_table(["face", "box", "person", "source", "status"],
                [[f.id, " ".join(f"{v:.0f}" for v in f.box), f.person_name or (f.person_id or ""), f.source or "",
                  f.status] for f in photo.faces])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        print_json(export_library(library))
    return 0
