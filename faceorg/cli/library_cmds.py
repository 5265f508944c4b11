"""`faceorg scan`, `faceorg library list|add|remove` and `faceorg status`."""

from __future__ import annotations

import argparse
import sys

from faceorg.cli.common import open_from_args, positive_int, print_json, print_table
from faceorg.cli.progressbar import terminal_progress
from faceorg.errors import FaceorgError
from faceorg.filenames import display_path
from faceorg.jobs import RayOptions, remove_folder, scan_and_group
from faceorg.store.folders import add_folder, list_folders
from faceorg.store.stats import failed_photos, library_status, scan_problems


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scan", help="add folders to the library and scan every library folder for changes")
    p.add_argument("folders", nargs="*", metavar="DIR", help="folders to add before scanning")
    p.add_argument("--no-faces", action="store_true", help="only catalogue photos; do not look for faces")
    p.add_argument("--no-group", action="store_true", help="do not group the new faces into people afterwards")
    p.add_argument("--workers", type=positive_int, default=None, help="photo decoding threads (default: one per core)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="photos written to the database per transaction")
    p.add_argument("--follow-outside-links", action="store_true", default=None,
                   help="also follow links that lead outside the library folders (default: the library's "
                        "setting, off)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="read the photos and find their faces on Ray workers: a Ray cluster's address, or "
                        "`auto` for a local Ray (needs `pip install faceorg[ray]`; the workers must see the "
                        "photos at the same paths)")
    p.add_argument("--ray-workers", type=positive_int, default=None, metavar="N",
                   help="Ray workers to start (default: one per GPU of the cluster, else one per 2 cores)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_scan)

    lib = sub.add_parser("library", help="list, add or remove library folders")
    lsub = lib.add_subparsers(dest="library_command", required=True, metavar="{list,add,remove}")
    p = lsub.add_parser("list", help="list library folders")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library_list)
    p = lsub.add_parser("add", help="add a folder (scan it with `faceorg scan`)")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=cmd_library_add)
    p = lsub.add_parser("remove", help="remove a folder and its photo records (files are not touched)")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=cmd_library_remove)

    p = sub.add_parser("status", help="counts of photos, faces and people")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--failed", action="store_true",
                   help="also list the photos, folders and links the last scan could not read or follow")
    p.set_defaults(func=cmd_status)


def cmd_scan(args: argparse.Namespace) -> int:
    if args.ray_workers is not None and args.ray is None:
        raise FaceorgError("--ray-workers needs --ray ADDRESS (or --ray auto)")
    ray = RayOptions(args.ray, args.ray_workers) if args.ray is not None else None
    with open_from_args(args) as library:
        for folder in args.folders:
            info, new = add_folder(library, folder)
            if new:
                print(f"Added {display_path(info.path)} to the library", file=sys.stderr)
        if not list_folders(library):
            print("The library has no folders yet: `faceorg scan DIR` adds one.", file=sys.stderr)
            return 0
        with terminal_progress() as progress:
            report = scan_and_group(library, progress, with_faces=not args.no_faces, group=not args.no_group,
                                    workers=args.workers, batch_size=args.batch_size,
                                    follow_outside_links=args.follow_outside_links, ray=ray)
    if args.json:
        print_json(report.as_dict())
    else:
        print("\n".join(report.lines()))
    return 0


def cmd_library_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        folders = list_folders(library)
    if args.json:
        print_json([vars(f) for f in folders])
    elif not folders:
        print("The library has no folders yet: `faceorg library add DIR` or `faceorg scan DIR` adds one.")
    else:
        print_table(["folder", "photos", "failed", "missing"],
                    [[f.path + ("" if f.exists else "  (not found)"), f.photos, f.failed, f.missing]
                     for f in folders])
    return 0


def cmd_library_add(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        info, new = add_folder(library, args.folder)
    print(f"Added {display_path(info.path)}; run `faceorg scan` to scan it" if new
          else f"{display_path(args.folder)} is already in the library (as part of {display_path(info.path)})")
    return 0


def cmd_library_remove(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        report = remove_folder(library, args.folder)
    print(report.one_line())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        status = library_status(library)
        failed = failed_photos(library) if args.failed else None
        problems = scan_problems(library) if args.failed else None
    if args.json:
        document: dict[str, object] = dict(status)
        if failed is not None:
            document["failed"] = [{"path": p, "error": e} for p, e in failed]
            document["not_scanned"] = problems
        print_json(document)
        return 0
    print_table(["", "count"], [[k.replace("_", " "), ("yes" if v else "no") if isinstance(v, bool) else v]
                                for k, v in status.items() if k != "database"])
    print(f"database: {status['database']}")
    for path, error in failed or []:
        print(f"failed: {display_path(path)}: {error}")
    for problem in problems or []:
        print(f"{PROBLEM_LABELS.get(problem['kind'], 'not scanned')}: {display_path(problem['path'])}: "
              f"{problem['problem']}")
    return 0


PROBLEM_LABELS = {"folder": "unreadable folder", "link": "dangling link", "outside_link": "link not followed",
                  "file": "unreadable file"}

