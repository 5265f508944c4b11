"""Peak memory of scanning a few huge PNGs with N workers: unbounded full-size decoding vs the bounded,
reduced decoding the scanner uses.

    python benchmarks/decode_memory_bench.py [--images 4] [--side 9000] [--workers 4] [--budget-mb 0] [--json]

Each mode runs in a fresh process (Linux: peak resident memory from /proc/self/status VmHWM).
"before": no decode budget and full-size conversion (the scanner before the budget, for a PNG);
"after": the scanner's defaults (reduced decoding, a budget of a quarter of the memory, at most 1 GiB),
or ``--budget-mb``. Prints a table (or one JSON object with ``peak_mb_before`` and ``peak_mb_after``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder

folder, workers, reduced, budget = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
with tempfile.TemporaryDirectory() as tmp, open_library(Path(tmp) / "bench.sqlite") as lib:
    add_folder(lib, folder)
    start = time.perf_counter()
    summary = scan_library(lib, workers=workers, batch_size=64, reduced_decode=reduced,
                           decode_budget=None if budget == "default" else int(budget))
    seconds = time.perf_counter() - start
with open("/proc/self/status") as fh:
    peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"peak_bytes": peak, "seconds": seconds, "failed": summary.failed, "new": summary.new}))
"""


def make_png(path: Path, side: int, seed: int) -> None:
    """A huge RGB PNG that compresses well (quick to write; decoding it is the cost being measured)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize((side, side), Image.Resampling.BILINEAR).save(path, compress_level=1)


def run(folder: Path, workers: int, reduced: bool, budget: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(REPO), str(folder), str(workers), "1" if reduced else "0",
                           budget], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--side", type=int, default=9000, help="width and height of each PNG (13000 is near the limit)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--budget-mb", type=int, default=0, help="decode budget for 'after' (0: the default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "huge"
        folder.mkdir()
        start = time.perf_counter()
        for i in range(args.images):
            make_png(folder / f"huge_{i}.png", args.side, i)
        made = time.perf_counter() - start
        after_budget = str(args.budget_mb << 20) if args.budget_mb else "default"
        before = run(folder, args.workers, reduced=False, budget="0")
        after = run(folder, args.workers, reduced=True, budget=after_budget)
    decoded_mb = args.side * args.side * 4 / 2**20
    result = {
        "images": args.images,
        "side": args.side,
        "workers": args.workers,
        "decoded_mb_each": round(decoded_mb),
        "peak_mb_before": round(before["peak_bytes"] / 2**20),
        "peak_mb_after": round(after["peak_bytes"] / 2**20),
        "seconds_before": round(before["seconds"], 1),
        "seconds_after": round(after["seconds"], 1),
        "budget": after_budget,
        "made_s": round(made, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.images} PNGs of {args.side}x{args.side} (~{decoded_mb:.0f} MB decoded each), {args.workers} workers")
    print(f"{'':28}{'peak RSS':>10}{'seconds':>9}")
    print(f"{'before (unbounded, full)':28}{result['peak_mb_before']:>7} MB{result['seconds_before']:>9}")
    print(f"{'after (budget ' + after_budget + ')':28}{result['peak_mb_after']:>7} MB{result['seconds_after']:>9}")


if __name__ == "__main__":
    main()
