"""`faceorg train`: improve recognition from your corrections; `faceorg models use`: switch versions."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceorg.cli.common import open_from_args, print_json
from faceorg.cli.progressbar import terminal_progress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="improve face recognition from your corrections (or a labelled dataset)")
    p.add_argument("--depth", choices=("quick", "thorough"), default="quick",
                   help="quick: the last layer only (seconds); thorough: also the last stages, on the face "
                        "images (minutes on a CPU)")
    p.add_argument("--dry-run", action="store_true", help="train and compare, but change nothing")
    p.add_argument("--dataset", type=Path, metavar="DIR",
                   help="train on a folder with one subfolder of photos per person instead of the library")
    p.add_argument("--when-due", action="store_true",
                   help="learn as the app does while you work: the quick depth, only when enough new corrections "
                        "have come since it last ran (settings learn_as_you_go, learn_after_corrections)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=cmd_train)


def register_models_use(models_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = models_sub.add_parser("use", help="switch to another embedder version (roll back or forward)")
    p.add_argument("version", metavar="VERSION", help="a version name from `faceorg models list`")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_use)
    p = models_sub.add_parser("back", help="go back to the previous embedder version (what you decided stays)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_back)
    p = models_sub.add_parser("mirror", help="re-embed every face averaged with its mirror image (the recipe of new "
                                             "libraries; better grouping; `models back` undoes it)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_mirror)


def cmd_train(args: argparse.Namespace) -> int:
    from faceorg.jobs.retrain_job import retrain_library

    if args.when_due:
        return cmd_train_when_due(args)
    with open_from_args(args) as library, terminal_progress() as progress:
        job = retrain_library(library, progress, depth=args.depth, dry_run=args.dry_run, dataset=args.dataset)
    if args.json:
        print_json(job.as_dict())
    else:
        for line in job.retrain.summary:
            print(line)
        print(f"({job.retrain.seconds:.1f} s)")
    return 0


def cmd_models_use(args: argparse.Namespace) -> int:
    from faceorg.retrain.install import use_version

    with open_from_args(args) as library, terminal_progress() as progress:
        cs = use_version(library, args.version, progress)
    if args.json:
        print_json(cs.as_dict())
    else:
        print(f"{cs.label}: {len(cs.faces_changed)} faces regrouped")
    return 0


def cmd_models_mirror(args: argparse.Namespace) -> int:
    from faceorg.retrain.install import use_mirror_average

    with open_from_args(args) as library, terminal_progress() as progress:
        cs = use_mirror_average(library, progress)
    if args.json:
        print_json(cs.as_dict())
    else:
        print(f"{cs.label}: {len(cs.faces_changed)} faces regrouped")
    return 0


def cmd_train_when_due(args: argparse.Namespace) -> int:
    """``train --when-due``: the background learning's rule, run once (JSON: ``ran``, ``due`` and the report)."""
    from faceorg.jobs.learning import last_learning, learn_now, learning_due

    with open_from_args(args) as library:
        due = learning_due(library)
        if not due.due:
            why = due.reason
            if args.json:
                print_json({"ran": False, "due": False, "new_corrections": due.new_corrections,
                            "threshold": due.threshold, "reason": why, "last": last_learning(library)})
            else:
                print(f"Not learning now: {why}.")
            return 0
        with terminal_progress() as progress:
            job = learn_now(library, progress)
        line = last_learning(library)
    if args.json:
        print_json({"ran": True, "due": True, "new_corrections": due.new_corrections, "threshold": due.threshold,
                    "status": line, **(job.as_dict() if job is not None else {})})
    else:
        print(line)
    return 0


def cmd_models_back(args: argparse.Namespace) -> int:
    """``models back``: like ``models use`` of the active version, nothing to do on the first model is no error."""
    from faceorg.errors import FaceorgError
    from faceorg.people.changes import ChangeSet
    from faceorg.retrain.install import go_back, previous_version

    with open_from_args(args) as library:
        try:
            previous_version(library)
        except FaceorgError as exc:
            cs, note = ChangeSet(label="Go back to the previous model"), f"Nothing to do: {exc}."
        else:
            with terminal_progress() as progress:
                cs = go_back(library, progress)
            note = f"{cs.label}: {len(cs.faces_changed)} faces regrouped; everything you decided is kept."
    if args.json:
        print_json({**cs.as_dict(), "note": note})
    else:
        print(note)
    return 0
