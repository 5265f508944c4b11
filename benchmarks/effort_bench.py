"""Effort benchmark: how many actions an oracle user needs to reach a correct library, per 100 faces.

    python benchmarks/effort_bench.py --json                     # all three libraries, both oracles
    python benchmarks/effort_bench.py --libraries family         # one library, a table
    python benchmarks/effort_bench.py --libraries lfw,degraded --people 40 --no-later   # a quick run

Libraries (``benchmarks/effort/libraries.py``; each scanned once by the app and cached under
``--cache`` keyed by the embedder's sha256, its faces embedded again under each embedding recipe a run
needs (cached with the recipe in the name: ``<scan>-mirror.sqlite``, ``<scan>-plain.sqlite``), then grouped
by the app's ``recluster`` in every run):
``lfw`` (all 13,233 LFW photos), ``degraded`` (the library part of ``benchmarks/corrections``: LFW
people with 10+ photos, faces degraded to 25-40 px) and ``family`` (LFW's 18 people with most photos,
40 photos each at most, plus 300 one-photo strangers).
``--people N`` takes a seeded subset of N people for ``lfw`` and ``degraded`` (quick runs).

Truth and goal (``benchmarks/effort/truth.py``): the central face of each photo is its folder's person;
done when every face of each person with 2+ faces is with the right named person (confirmed or
automatic, not a pending suggestion) and every other face is unsorted, ignored or alone.

Two oracle users (``benchmarks/effort/oracle.py``) work only through ``faceorg.people.ops`` and the
app's Review queue: *careful* (cleans a group before naming it) and *hurried* (names groups by their
main person as they come, fixes what it sees wrong later). Counted (``benchmarks/effort/measure.py``):
one per decision (naming or merging a group, ignoring a whole group, one Review answer, one prompt
answer), one per face picked by hand, one per action applied to a selection, one per "Group faces".
The ideal is one decision per person with 2+ faces.

Features of issue 12 (prompts, whole-group suggestions, split suggestions, learning as the user works,
the grouping's recall and precision passes, ignoring unnamed groups at once, batches of unsorted faces,
taking a group's odd faces out, the mirror-averaging embedding recipe) are switches of the oracle (see
``benchmarks/effort/oracle.py``): **baseline** = all off (the app before issue 12: the original recipe, the
grouping without its recall and precision passes, no questions, no learning), **now** = all that exist in
the app on (``--features`` picks some). Naming leaves a group's faces automatic in both (that change of
issue 12 has no switch). ``--ablate F,G`` also runs "now" without each of F, G (default: learning); the
top-level ``gains`` says what each saves (actions per 100 faces, per library and oracle), and ``details``
where each run's actions went (``where``: per person-size bucket and on strangers) and when the app learned.

Later photos (``degraded`` only): the careful oracle's library finished without learning scans the
corrections benchmark's later photos (30 % per person) on the base model (**without learning**; the oracle
then works with "now" less learning), or after ``faceorg.retrain`` (quick depth, as "Improve
Recognition" runs it; the press is not counted) on the user's corrections (**with learning**; the oracle
then works with "now", learning as it works included); then the oracle finishes the library; actions per
100 later faces.

``--json`` prints one JSON object: for each library key ``lfw``, ``degraded`` and ``family`` the keys
``careful`` and ``hurried``, each ``{"baseline": A, "now": B}`` in actions per 100 faces, and
``later_photos: {"without_learning": A, "with_learning": B}``, ``gains``; details under ``details``.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from effort import libraries as libs
from effort.oracle import AVAILABLE, FEATURES, Features, Oracle, grouping
from effort.truth import face_truth, people_to_sort, snapshot, unfinished
from faceorg.store import open_library
from faceorg.store.backups import copy_database

LIBRARIES = ("lfw", "degraded", "family")
STYLES = ("careful", "hurried")
T0 = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Inside the block, whatever writes to stdout (Python or native code, e.g. onnxruntime's CUDA probe
    printing "Failed to load ...") goes to stderr, so that ``--json`` prints only its one object."""
    sys.stdout.flush()
    saved_fd, saved = os.dup(1), sys.stdout
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sys.stdout = saved


def remove_database(path: Path) -> None:
    """A work copy of a library, its WAL and its model folder."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".models"), ignore_errors=True)


def run_oracle(
    db: Path, work: Path, label: str, style: str, features: Features, keep: Path | None = None
) -> dict[str, Any]:
    """Copy the scanned library, let one oracle finish it; ``keep`` receives the finished database."""
    target = work / f"{label}-{style}.sqlite"
    copy_database(db, target)
    with open_library(target) as library:
        start = time.perf_counter()
        grouping(features)(library)  # the grouping that ends a scan (the app's, not counted as the user's)
        group_s = time.perf_counter() - start
        truth = face_truth(library)
        result = Oracle(library, truth, style, features, log=lambda m: say(f"{label}: {m}")).run().as_dict()  # type: ignore[arg-type]
        result["people"] = len(people_to_sort(truth))
        result["identities"] = len({t for t in truth.values() if t})
        result["group_seconds"] = round(group_s, 1)
    if keep is not None:
        copy_database(target, keep)
    remove_database(target)
    say(
        f"{label} {style}: {result['actions']} actions, {result['actions_per_100_faces']:.2f} per 100 faces "
        f"(ideal {result['ideal_per_100_faces']:.2f}); {result['unfinished_faces']} faces unfinished; "
        f"{result['seconds']:.0f} s"
    )
    return result


def later_photos(
    corrected: Path, later_folder: Path, work: Path, learning: bool, depth: str, now: Features
) -> dict[str, Any]:
    """Scan the later photos into a copy of the finished library (after retraining with ``learning``),
    then the careful oracle finishes it; actions per 100 later faces."""
    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.store.folders import add_folder

    label = "with learning" if learning else "without learning"
    target = work / f"later-{'with' if learning else 'without'}.sqlite"
    copy_database(corrected, target)
    out: dict[str, Any] = {}
    with open_library(target) as library:
        before = face_truth(library)
        out["unfinished_before"] = len(unfinished(snapshot(library), before))
        if learning:
            from faceorg.errors import FaceorgError
            from faceorg.retrain.retrain import retrain

            start = time.perf_counter()
            try:
                report = retrain(library, depth=depth, progress=libs.progress_to(say, f"retrain {depth}"))
                out["retrain"] = {
                    "depth": depth,
                    "installed": report.accepted,
                    "summary": report.summary,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            except FaceorgError as exc:
                out["retrain"] = {
                    "depth": depth,
                    "installed": False,
                    "refused": str(exc),
                    "seconds": round(time.perf_counter() - start, 1),
                }
            say(f"later photos, retrain: {out['retrain']}")
        add_folder(library, later_folder)
        start = time.perf_counter()
        summary = scan_library(library, analyzer=analyzer_for_library(library), progress=libs.progress_to(say, label))
        grouping(now)(library, libs.progress_to(say, label))
        out["scan"] = {"summary": summary.one_line(), "seconds": round(time.perf_counter() - start, 1)}
        truth = face_truth(library)
        later = face_truth(library, later_folder)
        result = Oracle(library, truth, "careful", now, log=lambda m: say(f"later {label}: {m}")).run()
        d = result.as_dict()
        n = len(later)
        d.update(
            later_faces=n,
            actions_per_100_later_faces=round(100.0 * result.tally.total / n, 3) if n else 0.0,
            library_faces=len(truth),
        )
        out.update(d)
    say(f"later photos {label}: {d['actions']} actions, {d['actions_per_100_later_faces']:.2f} per 100 later faces")
    return out


def recipe(features: Features) -> libs.Recipe:
    """The embedding recipe an oracle's library has: each face averaged with its mirror image (the recipe
    of a fresh scan today) with ``mirror_recipe`` on, else the original one."""
    return "mirror" if features.uses("mirror_recipe") else "plain"


def run_library(key: str, scanned: libs.Scanned, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    baseline, now = Features.baseline(), args.now
    same = baseline.effective == now.effective
    out: dict[str, Any] = {"library": scanned.key, "db": str(scanned.db), "scan_seconds": libs.scan_seconds(scanned.db)}
    dbs: dict[str, Path] = {}

    def db(features: Features) -> Path:
        r = recipe(features)
        if r not in dbs:
            dbs[r] = libs.with_recipe(scanned.db, r, say)
        return dbs[r]

    out["recipes"] = {"baseline": recipe(baseline), "now": recipe(now)}
    corrected = work / f"{key}-corrected.sqlite"
    learning = now.uses("learning")
    for style in args.oracles:
        entry: dict[str, Any] = {}
        keep = corrected if (style == "careful" and scanned.later_folder is not None) else None
        # the later photos start from a library finished without learning (their "without learning")
        keep_now = None if learning else keep
        entry["baseline"] = run_oracle(db(baseline), work, key, style, baseline, keep if same else None)
        entry["now"] = entry["baseline"] if same else run_oracle(db(now), work, key, style, now, keep_now)
        if same:
            entry["now_is_baseline"] = True
        without: dict[str, Any] = {}
        for feature in args.ablate:
            if not now.uses(feature):
                continue
            less = now.without(feature)
            keep_less = keep if feature == "learning" else None
            without[feature] = run_oracle(db(less), work, f"{key}-no-{feature}", style, less, keep_less)
        if learning and keep is not None and "learning" not in without:
            less = now.without("learning")
            without["learning"] = run_oracle(db(less), work, f"{key}-no-learning", style, less, keep)
        if without:
            entry["without"] = without
        out[style] = entry
    if scanned.later_folder is not None and not args.no_later and corrected.is_file():
        out["later_photos"] = {
            "without_learning": later_photos(
                corrected, scanned.later_folder, work, False, args.depth, now.without("learning")
            ),
            "with_learning": later_photos(corrected, scanned.later_folder, work, True, args.depth, now),
        }
    return out


def gains(details: dict[str, Any]) -> dict[str, Any]:
    """Per feature switched off in ``--ablate`` runs: actions per 100 faces it saves, per library and oracle
    (without it minus now; negative: the feature costs actions)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, lib in details.items():
        for style in STYLES:
            entry = lib.get(style) if isinstance(lib, dict) else None
            if not entry:
                continue
            now = entry["now"]["actions_per_100_faces"]
            for feature, run in entry.get("without", {}).items():
                saved = round(run["actions_per_100_faces"] - now, 3)
                out.setdefault(feature, {}).setdefault(key, {})[style] = saved
    return out


def build(key: str, args: argparse.Namespace) -> libs.Scanned:
    images = args.data / "lfw" / "images"
    if key == "lfw":
        return libs.lfw_library(images, args.cache, say, args.people, args.seed)
    if key == "degraded":
        return libs.degraded_library(args.data / "lfw", args.cache, say, args.people, args.seed)
    return libs.family_library(
        images, args.cache, say, args.family_people, args.family_cap, args.family_strangers, args.seed
    )


def headline(details: dict[str, Any]) -> dict[str, Any]:
    """The required top-level keys: per library and oracle, baseline and now in actions per 100 faces."""
    out: dict[str, Any] = {}
    for key, lib in details.items():
        if "error" in lib or "not_run" in lib:
            out[key] = {"not_run": lib.get("not_run") or lib.get("error")}
            continue
        out[key] = {
            style: {
                "baseline": lib[style]["baseline"]["actions_per_100_faces"],
                "now": lib[style]["now"]["actions_per_100_faces"],
            }
            for style in STYLES
            if style in lib
        }
        out[key]["ideal"] = next((lib[s]["baseline"]["ideal_per_100_faces"] for s in STYLES if s in lib), None)
        if "later_photos" in lib:
            lp = lib["later_photos"]
            out["later_photos"] = {
                k: lp[k]["actions_per_100_later_faces"] for k in ("without_learning", "with_learning")
            }
            out["later_photos"]["model_installed"] = bool(lp["with_learning"].get("retrain", {}).get("installed"))
    out.setdefault("later_photos", {"without_learning": None, "with_learning": None})
    out["gains"] = gains(details)
    return out


def run_all(keys: list[str], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for key in LIBRARIES:
        if key not in keys:
            details[key] = {"not_run": "not asked for (--libraries)"}
            continue
        start = time.perf_counter()
        try:
            details[key] = run_library(key, build(key, args), work, args)
        except Exception as exc:  # noqa: BLE001 - report it, keep the other libraries
            say(f"{key} failed: {type(exc).__name__}: {exc}")
            details[key] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)}
        details[key]["seconds"] = round(time.perf_counter() - start, 1)
    return details


def default_data() -> Path:
    """``$FACEORG_SHARED_DATA``, else ``../shared/data`` beside the checkout (as the tests find it)."""
    if os.environ.get("FACEORG_SHARED_DATA"):
        return Path(os.environ["FACEORG_SHARED_DATA"])
    return REPO.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=default_data(),
        help="the shared data folder (default: $FACEORG_SHARED_DATA, else ../shared/data)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="scanned libraries and photo copies, reused by later runs "
        "(default: cache/effort_bench in faceorg's data folder)",
    )
    parser.add_argument("--work", type=Path, help="work folder for the oracles' copies (default: under --cache)")
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated: lfw, degraded, family")
    parser.add_argument("--oracles", default=",".join(STYLES), help="comma-separated: careful, hurried")
    parser.add_argument("--people", type=int, help="a seeded subset of N people for lfw and degraded")
    parser.add_argument("--family-people", type=int, default=libs.FAMILY_PEOPLE)
    parser.add_argument("--family-cap", type=int, default=libs.FAMILY_CAP)
    parser.add_argument("--family-strangers", type=int, default=libs.FAMILY_STRANGERS)
    parser.add_argument("--no-later", action="store_true", help="skip the later photos of the degraded library")
    parser.add_argument("--depth", default="quick", help="retraining depth for the later photos (default quick)")
    parser.add_argument(
        "--features",
        help="comma-separated features on in the 'now' runs (default: every "
        f"available one; all: {', '.join(FEATURES)})",
    )
    parser.add_argument(
        "--ablate",
        default="learning",
        help="comma-separated features each also run switched off from 'now', to show its gain within the run "
        "(default: learning; '' for none)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.oracles = [s for s in args.oracles.split(",") if s]
    args.ablate = [f for f in args.ablate.split(",") if f]
    unknown = [f for f in args.ablate if f not in FEATURES]
    if unknown:
        print(f"effort_bench: error: unknown features to ablate: {', '.join(unknown)}", file=sys.stderr)
        return 1
    try:
        args.now = (
            Features.now() if args.features is None else Features(frozenset(f for f in args.features.split(",") if f))
        )
    except ValueError as exc:
        print(f"effort_bench: error: {exc}", file=sys.stderr)
        return 1
    keys = [k for k in args.libraries.split(",") if k]
    bad = [k for k in keys if k not in LIBRARIES] + [s for s in args.oracles if s not in STYLES]
    if bad:
        print(f"effort_bench: error: unknown library or oracle: {', '.join(bad)}", file=sys.stderr)
        return 1
    if not (args.data / "lfw" / "images").is_dir():
        print(f"effort_bench: error: LFW not found under {args.data}", file=sys.stderr)
        return 1
    if args.cache is None:
        from faceorg.paths import data_dir

        args.cache = data_dir() / "cache" / "effort_bench"
    work = args.work or args.cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    with stdout_to_stderr():
        details = run_all(keys, work, args)
    result: dict[str, Any] = headline(details)
    result["features"] = {
        "all": list(FEATURES),
        "available": sorted(AVAILABLE),
        "baseline": Features.baseline().describe(),
        "now": args.now.describe(),
        "note": (
            "none of issue 12's features exists yet: baseline and now are the same run"
            if not AVAILABLE
            else "baseline: all off; now: " + (", ".join(sorted(args.now.effective)) or "nothing") + " on"
        ),
    }
    with stdout_to_stderr():
        result["features"]["recipes"] = {"fresh_scan": libs.fresh_recipe(), "baseline": recipe(Features.baseline()),
                                         "now": recipe(args.now)}
    result["details"] = details
    result["run"] = {
        "seconds": round(time.perf_counter() - T0, 1),
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg(),
        "cpus": os.cpu_count(),
        "people": args.people,
        "command": " ".join(["python", "benchmarks/effort_bench.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_table(result)
    return 0


def print_table(r: dict[str, Any]) -> None:
    run = r["run"]
    print(
        f"Effort benchmark ({run['command']}; {run['seconds']:.0f} s, load {run['load_avg_start'][0]:.1f} -> "
        f"{run['load_avg_end'][0]:.1f}); {r['features']['note']}"
    )
    head = [
        "library",
        "oracle",
        "faces",
        "people",
        "baseline",
        "now",
        "ideal",
        "decisions",
        "picks",
        "selections",
        "regroups",
        "unfinished",
    ]
    rows = []
    for key in LIBRARIES:
        lib = r["details"].get(key, {})
        if "error" in lib or "not_run" in lib:
            rows.append([key, "-", lib.get("not_run") or lib.get("error", "")] + [""] * (len(head) - 3))
            continue
        for style in STYLES:
            if style not in lib:
                continue
            b, n = lib[style]["baseline"], lib[style]["now"]
            p = n["parts_per_100_faces"]
            rows.append(
                [
                    key,
                    style,
                    str(n["faces"]),
                    str(n["people"]),
                    f"{b['actions_per_100_faces']:.2f}",
                    f"{n['actions_per_100_faces']:.2f}",
                    f"{n['ideal_per_100_faces']:.2f}",
                    f"{p['decisions']:.2f}",
                    f"{p['face_picks']:.2f}",
                    f"{p['selection_actions']:.2f}",
                    f"{p['regroups']:.2f}",
                    str(n["unfinished_faces"]),
                ]
            )
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print("(actions per 100 faces; parts of 'now'; ideal = one decision per person with 2+ faces)")
    lp = r["details"].get("degraded", {}).get("later_photos")
    if lp:
        for k in ("without_learning", "with_learning"):
            e = lp[k]
            rt = e.get("retrain")
            extra = (
                f"; retrain {rt['depth']} ({rt['seconds']:.0f} s): "
                + ("model installed" if rt["installed"] else "current model kept")
                + " - "
                + (rt.get("refused") or " ".join(rt.get("summary", [])[-1:]))
                if rt
                else ""
            )
            print(
                f"later photos {k.replace('_', ' ')}: {e['actions_per_100_later_faces']:.2f} actions per 100 later "
                f"faces ({e['actions']} actions, {e['later_faces']} faces){extra}"
            )


if __name__ == "__main__":
    sys.exit(main())
