"""Learning as you work: how long the quick depth takes with 5k labelled faces, stage by stage.

    python benchmarks/learn_bench.py [--labelled 5000] [--total 20000] [--json]

The library is generated as in ``benchmarks/corrections/speed.py`` from real 256-d features: the
effort benchmark's degraded library (``--source``, a scanned and corrected database such as the one
``effort_bench.py --work DIR`` leaves as ``DIR/degraded-corrected.sqlite``), its confirmed faces with their
person, topped up with noisy copies to ``--labelled`` faces, plus unlabelled faces to ``--total``.
Then ``faceorg.jobs.learning.learn_now`` runs as the app runs it in the background (the quick depth:
collect, fit and check over 3 folds, install, regroup) and each stage is timed; the table also says
whether the gate accepted the model. Timings depend on the machine's load: the load average is printed, and
the CPU seconds the run used (``cpu_seconds``), which depend on it much less.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def source_rows(db: Path) -> tuple[Any, Any]:
    """Features and labels (person index, -1 unlabelled) of a real library's faces."""
    from faceorg.retrain.training_data import collect_training_data
    from faceorg.store import open_library

    with open_library(db) as library:
        data = collect_training_data(library)
    return data.features, data.labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a corrected library database (real features)")
    parser.add_argument("--labelled", type=int, default=5000)
    parser.add_argument("--total", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"learn_bench: error: no database at {args.source}", file=sys.stderr)
        return 1
    from corrections.speed import build_library, synthesise
    from faceorg.jobs.learning import last_learning, learn_now

    load_start = os.getloadavg()
    features, labels = source_rows(args.source)
    x, y = synthesise(features, labels, args.labelled, args.total, args.seed)
    with tempfile.TemporaryDirectory(prefix="learn-bench-") as tmp:
        library = build_library(Path(tmp) / "learn.sqlite", x, y)
        start, cpu_start = time.perf_counter(), time.process_time()
        job = learn_now(library)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        line = last_learning(library)
        library.close()
    assert job is not None, line
    r = job.retrain
    result: dict[str, Any] = {
        "labelled_faces": args.labelled, "faces": args.total, "people": r.training.get("people"),
        "seconds": round(total, 2), "cpu_seconds": round(cpu, 2), "accepted": r.accepted,
        "timings": {k: round(v, 2) for k, v in r.timings.items()}, "status": line,
        "load_avg_start": load_start, "load_avg_end": os.getloadavg(), "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Quick depth, learning as you work: {args.labelled} labelled faces of {result['people']} people, "
          f"{args.total} faces (load {load_start[0]:.1f} -> {result['load_avg_end'][0]:.1f}, {os.cpu_count()} CPUs)")
    print(f"{'stage':<24}{'seconds':>8}")
    for key, value in result["timings"].items():
        print(f"{key:<24}{value:>8.2f}")
    print(f"{'total':<24}{total:>8.2f}  ({cpu:.2f} s of CPU in this process, all its threads)")
    print(f"gate: {'accepted' if r.accepted else 'refused'}; {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
