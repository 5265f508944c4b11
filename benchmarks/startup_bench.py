"""How long the window takes to start: from a fresh Python process to the People view listing its people.

    python benchmarks/startup_bench.py --db LIB.sqlite [--repeat 3] [--json]

Each run is a new process (imports are what start-up costs), offscreen Qt, on ``--db`` (a copy is opened,
so the library is not touched; without ``--db`` a new empty library). ``with hdbscan first`` imports
hdbscan (scikit-learn, SciPy) before the window, as start-up did before grouping loaded it at the first
grouping: the difference is what that saves. Prints the median and every run, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
T0 = time.perf_counter()
if sys.argv[2] == "1":
    import hdbscan  # noqa: F401
from PySide6.QtCore import QSettings, QTimer
from faceorg.gui.app import make_application
from faceorg.gui.main_window import MainWindow
from faceorg.store import open_library
app = make_application()
library = open_library(sys.argv[1])
window = MainWindow(library, QSettings(sys.argv[3], QSettings.Format.IniFormat))
window.show()
def poll():
    if window.people_view.loaded:
        print(time.perf_counter() - T0, flush=True)
        app.quit()
    else:
        QTimer.singleShot(5, poll)
poll()
app.exec()
window.close()
library.close()
"""


def one_run(db: Path, hdbscan_first: bool, work: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), "1" if hdbscan_first else "0",
                          str(work / "settings.ini")], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a library (copied first); default: a new empty one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "library.sqlite"
        if args.db is not None:
            sys.path.insert(0, str(REPO))
            from faceorg.store.backups import copy_database

            copy_database(args.db, db)
        out: dict[str, object] = {"load_start": list(os.getloadavg())}
        runs: dict[str, list[float]] = {"now": [], "with hdbscan first": []}
        for _ in range(args.repeat):  # interleaved, so that a change of load touches both alike
            runs["now"].append(one_run(db, False, work))
            runs["with hdbscan first"].append(one_run(db, True, work))
        out["load_end"] = list(os.getloadavg())
    out.update({k: {"median_s": round(statistics.median(v), 3), "runs_s": [round(x, 3) for x in v]}
                for k, v in runs.items()})
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{'start-up':20s} {'median s':>9s}  runs")
    for key, v in runs.items():
        print(f"{key:20s} {statistics.median(v):9.2f}  " + " ".join(f"{x:.2f}" for x in v))
    print(f"load average {out['load_start']} -> {out['load_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
