"""`faceorg xmp import|export|on-scan`: face names shared with other photo tools through XMP."""

from __future__ import annotations

import argparse

from faceorg.cli.common import db_id, open_from_args, print_json
from faceorg.cli.progressbar import terminal_progress
from faceorg.xmp.sidecar import NAMINGS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    xmp = sub.add_parser("xmp", help="face names in XMP: import those of digiKam, Lightroom and others, "
                                     "write faceorg's back to sidecars")
    xs = xmp.add_subparsers(dest="xmp_command", required=True, metavar="{import,export,on-scan}")
    p = xs.add_parser("import", help="read face regions and names from sidecars and photos and name the faces "
                                     "(undoable; a region that disagrees with your decisions is listed, not applied)")
    p.add_argument("--dry-run", action="store_true", help="show what would be imported; change nothing")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=cmd_xmp_import)
    p = xs.add_parser("export", help="write the names of confirmed faces to XMP sidecars (photos never change; "
                                     "an existing sidecar is merged and kept as .bak)")
    p.add_argument("--dry-run", action="store_true", help="show which sidecars would change; write nothing")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--person", type=db_id, action="append", metavar="ID",
                   help="only this person's faces (repeatable; default: every named person)")
    p.add_argument("--sidecar", choices=NAMINGS, default="jpg.xmp",
                   help="jpg.xmp: photo.jpg.xmp (digiKam, darktable, Immich; default); xmp: photo.xmp (Lightroom)")
    p.add_argument("--unconfirmed", action="store_true",
                   help="also write faces grouped with a named person automatically (not yet confirmed)")
    p.set_defaults(func=cmd_xmp_export)
    p = xs.add_parser("on-scan", help="show, or turn on or off, reading XMP names during each scan")
    p.add_argument("state", nargs="?", choices=("on", "off"), help="on or off (without it: show the setting)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_xmp_on_scan)


def cmd_xmp_import(args: argparse.Namespace) -> int:
    from faceorg.jobs.xmp_job import import_xmp

    with open_from_args(args) as library, terminal_progress() as progress:
        report = import_xmp(library, progress, dry_run=args.dry_run)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(report.one_line())
    for c in report.result.conflicts:
        print(f"  conflict: {c.photo_path}: {c.name} ({c.reason})")
    for h in report.result.hints:
        print(f"  to review: {h.photo_path}: {h.name} (a name without a face box)")
    for message in report.result.problems:
        print(f"  problem: {message}")
    return 0


def cmd_xmp_export(args: argparse.Namespace) -> int:
    from faceorg.jobs.xmp_job import export_xmp

    with open_from_args(args) as library, terminal_progress() as progress:
        report = export_xmp(library, progress, person_ids=args.person, naming=args.sidecar, dry_run=args.dry_run,
                            include_automatic=args.unconfirmed)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(report.one_line())
    for s in report.result.sidecars:
        if s.action != "unchanged":
            delta = ", ".join([f"+{n}" for n in s.names_added] + [f"-{n}" for n in s.names_removed])
            print(f"  {s.action}: {s.sidecar}" + (f" ({delta})" if delta else ""))
    for message in report.result.problems:
        print(f"  problem: {message}")
    return 0


def cmd_xmp_on_scan(args: argparse.Namespace) -> int:
    from faceorg.settings import load_settings, update_settings

    with open_from_args(args) as library:
        if args.state is not None:
            update_settings(library, import_xmp_on_scan=args.state == "on")
        on = load_settings(library).import_xmp_on_scan
    if args.json:
        print_json({"import_xmp_on_scan": on})
    else:
        print(f"Reading face names from XMP during scans is {'on' if on else 'off'}")
    return 0
