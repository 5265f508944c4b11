"""`faceorg photos list --person ID...` and `faceorg photos copy ... --to DIR`: photos by the people in them."""

from __future__ import annotations

import argparse

from faceorg.cli.common import db_id, open_from_args, positive_int, print_json, print_table
from faceorg.errors import FaceorgError
from faceorg.jobs.copy_photos import copy_photos
from faceorg.people.photos import all_photos_with_people


def register(phs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``list`` and ``copy`` to the ``photos`` subcommands."""
    p = phs.add_parser("list", help="photos holding every one of the given people, newest first")
    p.add_argument("--person", type=db_id, action="append", required=True, metavar="PERSON_ID",
                   help="a person the photos must hold (repeat for photos with several people together)")
    p.add_argument("--oldest-first", action="store_true", help="oldest photos first")
    p.add_argument("--limit", type=positive_int, metavar="N", help="at most N photos")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_photos_list)
    p = phs.add_parser("copy", help="copy photos to a folder (never overwrites: taken names get a number)")
    p.add_argument("photos", type=db_id, nargs="*", metavar="PHOTO_ID", help="these photos")
    p.add_argument("--person", type=db_id, action="append", default=[], metavar="PERSON_ID",
                   help="the photos holding every one of these people (repeatable)")
    p.add_argument("--to", required=True, metavar="DIR", help="the folder to copy into (created if needed)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_photos_copy)


def cmd_photos_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        photos = all_photos_with_people(library, args.person, oldest_first=args.oldest_first, limit=args.limit)
    if args.json:
        print_json([p.as_dict() for p in photos])
        return 0
    print_table(["photo", "date", "", "path"],
                [[p.id, p.date.strftime("%Y-%m-%d %H:%M") if p.date else "", "taken" if p.date_taken else "file",
                  p.path] for p in photos])
    return 0


def cmd_photos_copy(args: argparse.Namespace) -> int:
    from faceorg.cli.progressbar import terminal_progress

    if not args.photos and not args.person:
        raise FaceorgError("name the photos to copy (PHOTO_ID...) or the people in them (--person ID)")
    with open_from_args(args) as library, terminal_progress() as progress:
        ids = list(args.photos)
        if args.person:
            ids += [p.id for p in all_photos_with_people(library, args.person)]
        report = copy_photos(library, ids, args.to, progress)
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.one_line())
        for pid, source, reason in report.failed:
            print(f"  photo {pid} {source}: {reason}")
    return 1 if report.failed else 0
