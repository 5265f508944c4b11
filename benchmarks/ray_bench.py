"""Scan speed with face analysis here and on a local Ray, and the check that both store the same library.

    python benchmarks/ray_bench.py --photos 500 [--workers 1 2] [--data ../shared/data] [--json]

Copies the first ``--photos`` LFW photos (two per person where a person has two) into a temporary folder,
then runs ``faceorg scan`` on a fresh library: locally, and with ``--ray auto --ray-workers N`` for each N.
Photos/s counts the whole command (a Ray scan includes starting Ray and loading its workers' models,
reported apart as ``remote.startup_seconds``). Each Ray library's ``faceorg export --json``
and stored faces, boxes, vectors and chips are compared with the local scan's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def copy_photos(data: Path, target: Path, count: int) -> None:
    target.mkdir(parents=True)
    copied = 0
    for person in sorted((data / "lfw" / "images").iterdir()):
        for photo in sorted(person.glob("*.jpg"))[:2]:
            shutil.copyfile(photo, target / photo.name)
            copied += 1
            if copied == count:
                return


def stored(db: Path) -> str:
    """A digest of what a scan stored: photos, faces, vectors, chips, groups."""
    digest = hashlib.sha256()
    with sqlite3.connect(db) as conn:
        for query in ("SELECT id, path, status, content_hash, width, height, faces_key, face_count FROM photos",
                      "SELECT id, photo_id, x, y, w, h, landmarks, score, blur, quality FROM faces",
                      "SELECT face_id, vector, features FROM embeddings", "SELECT face_id, image FROM face_chips",
                      "SELECT face_id, person_id, source FROM assignments"):
            for row in conn.execute(query + " ORDER BY 1"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def faceorg(db: Path, *args: str) -> tuple[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "faceorg", "--db", str(db), *args], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"faceorg {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout, proc.stderr


def run(folder: Path, db: Path, extra: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    out, _ = faceorg(db, "scan", str(folder), "--json", *extra)
    seconds = time.perf_counter() - start
    report = json.loads(out)
    export, _ = faceorg(db, "export", "--json")
    return {"seconds": round(seconds, 1), "photos_per_s": round(report["new"] / seconds, 2),
            "faces": report["faces_found"], "remote": report.get("remote"),
            "scan_seconds": round(report["seconds"], 1), "export": json.loads(export), "stored": stored(db)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"photos": args.photos, "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="faceorg-ray-bench-") as tmp:
        folder = Path(tmp) / "photos"
        copy_photos(args.data, folder, args.photos)
        local = run(folder, Path(tmp) / "local.sqlite", [])
        results["local"] = {k: v for k, v in local.items() if k not in ("export", "stored")}
        for n in args.workers:
            remote = run(folder, Path(tmp) / f"ray{n}.sqlite", ["--ray", "auto", "--ray-workers", str(n)])
            results[f"ray_{n}"] = {k: v for k, v in remote.items() if k not in ("export", "stored")}
            results[f"ray_{n}"]["same_export"] = remote["export"] == local["export"]
            results[f"ray_{n}"]["same_rows"] = remote["stored"] == local["stored"]
    results["loadavg_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(results))
        return
    for name in ["local", *[f"ray_{n}" for n in args.workers]]:
        r = results[name]
        same = "" if name == "local" else f"  same export: {r['same_export']}, same rows: {r['same_rows']}"
        print(f"{name:8s} {r['photos_per_s']:6.2f} photos/s  ({r['seconds']} s, {r['faces']} faces){same}")
    print(f"load average before {results['loadavg_before']}, after {results['loadavg_after']}")


if __name__ == "__main__":
    main()
