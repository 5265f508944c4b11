"""Scan speed on 12-megapixel JPEGs: walk + hash + decode to a 1024 px working image, full vs reduced decode.

    python benchmarks/scan_bench.py [--photos 24] [--workers N] [--json]

Prints a table (or one JSON object with ``photos_per_s_full`` and ``photos_per_s_reduced``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceorg.scan.scanner import scan_library  # noqa: E402
from faceorg.store import open_library  # noqa: E402
from faceorg.store.folders import add_folder  # noqa: E402


def make_photo(path: Path, seed: int, size: tuple[int, int] = (4000, 3000)) -> None:
    """A 12-megapixel JPEG with photo-like detail (smooth shapes plus sensor-like noise), ~3-5 MB."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    noise = rng.normal(0, 12, (size[1], size[0], 1)).astype(np.float32)
    pixels = np.clip(np.asarray(base, np.float32) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=92)


def run_scan(folder: Path, workers: int, reduced: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp, open_library(Path(tmp) / "bench.sqlite") as lib:
        add_folder(lib, folder)
        start = time.perf_counter()
        summary = scan_library(lib, workers=workers, decode_side=1024, reduced_decode=reduced)
        seconds = time.perf_counter() - start
        assert summary.new == summary.files_seen and summary.failed == 0
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i in range(args.photos):
            make_photo(folder / f"IMG_{i:04d}.jpg", seed=i)
        mb = sum(p.stat().st_size for p in folder.iterdir()) / args.photos / 1e6
        run_scan(folder, args.workers, True)  # warm the page cache so both modes read from memory
        full = run_scan(folder, args.workers, reduced=False)
        reduced = run_scan(folder, args.workers, reduced=True)
    result = {
        "photos": args.photos, "megapixels": 12.0, "mean_file_mb": round(mb, 2), "workers": args.workers,
        "seconds_full": round(full, 3), "seconds_reduced": round(reduced, 3),
        "photos_per_s_full": round(args.photos / full, 2), "photos_per_s_reduced": round(args.photos / reduced, 2),
        "speedup": round(full / reduced, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.photos} photos of 12 MP ({mb:.1f} MB each), {args.workers} worker threads")
    print(f"{'decode':<10} {'seconds':>8} {'photos/s':>9}")
    print(f"{'full':<10} {full:8.2f} {result['photos_per_s_full']:9.2f}")
    print(f"{'reduced':<10} {reduced:8.2f} {result['photos_per_s_reduced']:9.2f}")
    print(f"reduced decoding is {result['speedup']:.2f}x faster")


if __name__ == "__main__":
    main()
