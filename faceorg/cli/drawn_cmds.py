"""`faceorg faces add|resize|remove`: faces the user draws (a face the detector missed)."""

from __future__ import annotations

import argparse

from faceorg.cli.common import db_id, open_from_args, print_json
from faceorg.errors import FaceorgError
from faceorg.people.changes import ChangeSet


def _box(text: str) -> tuple[float, float, float, float]:
    from faceorg.people.drawn_faces import parse_box

    try:
        return parse_box(text)
    except FaceorgError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


BOX_HELP = "the face's box: left, top, width, height in pixels of the upright photo (as `photos show` gives them)"


def register_faces(fs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the drawing subcommands to `faceorg faces`."""
    p = fs.add_parser("add", help="add a face the detector missed, from its box (undoable)")
    p.add_argument("photo", type=db_id, metavar="PHOTO_ID")
    p.add_argument("--box", type=_box, required=True, metavar="X,Y,W,H", help=BOX_HELP)
    p.add_argument("--name", help="who it is (the person is created if new)")
    p.add_argument("--json", action="store_true", help="print the change record as JSON")
    p.set_defaults(func=cmd_faces_add)
    p = fs.add_parser("resize", help="move or resize a face you added")
    p.add_argument("face", type=db_id, metavar="FACE_ID")
    p.add_argument("--box", type=_box, required=True, metavar="X,Y,W,H", help=BOX_HELP)
    p.add_argument("--json", action="store_true", help="print the change record as JSON")
    p.set_defaults(func=cmd_faces_resize)
    p = fs.add_parser("remove", help="remove a face you added (detected faces: `faces not-face`)")
    p.add_argument("face", type=db_id, metavar="FACE_ID")
    p.add_argument("--json", action="store_true", help="print the change record as JSON")
    p.set_defaults(func=cmd_faces_remove)


def _report(args: argparse.Namespace, cs: ChangeSet, text: str) -> int:
    if args.json:
        print_json(cs.as_dict())
    else:
        print(text)
    return 0


def cmd_faces_add(args: argparse.Namespace) -> int:
    from faceorg.people.drawn_faces import add_face

    with open_from_args(args) as library:
        cs = add_face(library, args.photo, args.box, name=args.name)
    face = ", ".join(str(f) for f in sorted(cs.faces_added))
    return _report(args, cs, f"{cs.label}: face {face} added to photo {args.photo}")


def cmd_faces_resize(args: argparse.Namespace) -> int:
    from faceorg.people.drawn_faces import resize_face

    with open_from_args(args) as library:
        cs = resize_face(library, args.face, args.box)
    return _report(args, cs, f"{cs.label}: face {args.face}")


def cmd_faces_remove(args: argparse.Namespace) -> int:
    from faceorg.people.drawn_faces import remove_drawn_face

    with open_from_args(args) as library:
        cs = remove_drawn_face(library, args.face)
    return _report(args, cs, f"{cs.label}: face {args.face} removed")
