"""`faceorg eval lfw|detect|cluster`: measure the pipeline on the shared benchmark data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from faceorg.cli.common import print_json, print_table
from faceorg.cli.progressbar import terminal_progress
from faceorg.errors import FaceorgError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser("eval", help="measure face detection, recognition and grouping on benchmark data")
    es = ev.add_subparsers(dest="eval_command", required=True, metavar="{lfw,detect,cluster}")
    p = es.add_parser("lfw", help="LFW 10-fold verification accuracy through the app's pipeline")
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="the LFW folder (pairs.txt, images/)")
    p.add_argument("--flip", action="store_true", help="average each embedding with its mirror image's")
    p.add_argument("--float32", action="store_true",
                   help="run the float32 embedder instead of its int8 copy (the one the app runs)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lfw)
    p = es.add_parser("detect", help="face detection recall and false positives on annotated photos")
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="the photos-annotated folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_detect)
    p = es.add_parser("cluster", help="grouping quality on all LFW photos (BCubed, pairwise, NMI)")
    p.add_argument("--data", required=True, type=Path, metavar="DIR", help="the LFW folder")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-cache", action="store_true", help="embed every photo again instead of reusing the cache")
    p.add_argument("--library", type=Path, metavar="FILE",
                   help="group this library (a scan of the LFW folder; its grouping is replaced) instead of the cache")
    p.add_argument("--no-recall-pass", action="store_true",
                   help="group without the joining pass after grouping (to measure what it adds)")
    p.set_defaults(func=cmd_cluster)


def _require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise FaceorgError(f"not a folder: {path}")
    return path


def cmd_lfw(args: argparse.Namespace) -> int:
    from faceorg.eval.lfw import evaluate_lfw
    from faceorg.pipeline.factory import build_detector, build_embedder
    from faceorg.settings import Settings

    settings = Settings()
    detector, _ = build_detector(settings)
    embedder = build_embedder(settings, float32=args.float32)
    start = time.perf_counter()
    with terminal_progress() as progress:
        result = evaluate_lfw(_require_dir(args.data), detector, embedder, flip=args.flip, progress=progress)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["precision"] = "float32" if args.float32 else "int8"
    if args.json:
        print_json(result)
        return 0
    print_table(
        ["fold", "accuracy", "threshold"],
        [[i + 1, f"{a * 100:.2f}%", f"{t:.3f}"] for i, (a, t) in enumerate(zip(result["folds"], result["thresholds"]))],
    )
    print(
        f"LFW accuracy: {result['accuracy_mean'] * 100:.2f}% ± {result['accuracy_std'] * 100:.2f} "
        f"({result['pairs']} pairs, {result['photos']} photos, {result['no_face_fallbacks']} without a detected face"
        f"{', flip-averaged' if args.flip else ''}, {result['precision']} embedder, {result['seconds']} s)"
    )
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from faceorg.eval.detect import evaluate_detection, format_detect_table
    from faceorg.pipeline.factory import build_detector
    from faceorg.settings import Settings

    detector, _ = build_detector(Settings())
    result = evaluate_detection(_require_dir(args.data), detector)
    if args.json:
        print_json(result)
    else:
        print(format_detect_table(result))
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from faceorg.eval.cluster_eval import evaluate_clustering, format_cluster_report

    with terminal_progress() as progress:
        result = evaluate_clustering(_require_dir(args.data), progress=progress, use_cache=not args.no_cache,
                                     library=args.library, recall_pass=not args.no_recall_pass)
    if args.json:
        print_json(result)
    else:
        print(format_cluster_report(result))
    return 0
