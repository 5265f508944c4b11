"""Calibration of the "same person?" questions: the linkage (mean of the 3 closest face pairs sharing no face, see
``faceorg.people.prompts``) between two parts of one person and between two different people.

LFW people with 8+ photos (the first ``--people``, 8 photos each) are scanned with the installed models
into a temporary library; each photo's largest face stands for its person. Per person, a random cut into
two parts gives a same-person linkage; per pair of people, random parts give a different-people linkage.
Prints percentiles and, per threshold, the share of each found at or below it (``--json``: one object).

    python benchmarks/prompt_calibration.py --data ../shared/data/lfw [--people 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from faceorg.cli.main import main as faceorg  # noqa: E402
from faceorg.people.clustering import load_library_faces  # noqa: E402
from faceorg.people.prompts import matrix_linkage  # noqa: E402
from faceorg.store import open_library  # noqa: E402
from faceorg.store.models import Face, Photo  # noqa: E402
from faceorg.vectors import distance_from_similarity  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the LFW folder (holding images/)")
    ap.add_argument("--people", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prompt-calibration-"))
    try:
        photos = work / "photos"
        photos.mkdir()
        people = [d for d in sorted((args.data / "images").iterdir()) if len(list(d.glob("*.jpg"))) >= 8]
        for d in people[:args.people]:
            for src in sorted(d.glob("*.jpg"))[:8]:
                shutil.copy(src, photos / src.name)
        db = work / "lib.sqlite"
        if faceorg(["--db", str(db), "scan", str(photos)]) != 0:
            return 1
        with open_library(db) as lib:
            data = load_library_faces(lib)
            with lib.session() as s:
                rows = s.execute(select(Face.id, Photo.path, Face.w).join(Photo)).all()
        assert data is not None
        best: dict[str, tuple[int, float]] = {}
        for f, p, w in rows:
            if p not in best or w > best[p][1]:
                best[p] = (f, w)
        index = data.index()
        by: dict[str, list[int]] = {}
        for p, (f, _w) in best.items():
            if f in index:
                by.setdefault(Path(p).name.rsplit("_", 1)[0], []).append(index[f])
        x = data.vectors.astype(np.float64)
        rng = np.random.default_rng(0)

        def link(a: list[int], b: list[int]) -> float:
            return matrix_linkage(distance_from_similarity(x[a] @ x[b].T))

        names = sorted(n for n in by if len(by[n]) >= 4)
        same, diff = [], []
        for n in names:
            r = list(rng.permutation(by[n]))
            k = int(rng.integers(2, len(r) - 1))
            same.append(link(r[:k], r[k:]))
        for i, n in enumerate(names):
            for m in names[i + 1:]:
                diff.append(link(by[n][:int(rng.integers(2, len(by[n])))], by[m][:int(rng.integers(2, len(by[m])))]))
        s_, d_ = np.array(same), np.array(diff)
        out = {"people": len(names), "same_pairs": len(s_), "different_pairs": len(d_),
               "same_percentiles": {str(q): round(float(np.percentile(s_, q)), 3) for q in (5, 25, 50, 75, 95, 99)},
               "different_percentiles": {str(q): round(float(np.percentile(d_, q)), 3) for q in (0.1, 1, 5, 25, 50)},
               "thresholds": {f"{t:.2f}": {"same_found": round(float((s_ <= t).mean()), 4),
                                           "different_asked": round(float((d_ <= t).mean()), 4)}
                              for t in (0.34, 0.36, 0.38, 0.40, 0.42, 0.44, 0.46)}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['people']} people; same-person linkage percentiles {out['same_percentiles']}")
        print(f"different people percentiles {out['different_percentiles']}")
        for t, v in out["thresholds"].items():
            print(f"  linkage <= {t}: same found {v['same_found']:.1%}, different asked {v['different_asked']:.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
