"""Calibrate the recall pass (``faceorg/cluster/recall_pass.py``) on a scanned, labelled library.

Groups the library's faces once with the pass off (the app's own settings), then tries the pass's
thresholds on those groups and scores each try the way ``faceorg eval cluster`` does (the face nearest each
photo's centre carries the identity of the photo's folder; unsorted faces count as singletons). The people
are split into two folds by a hash of their name: thresholds are chosen on fold ``--tune`` and reported on
both, so the choice is checked on people it never saw.

    python benchmarks/recall_tune.py --library /tmp/lfw-scan.sqlite [--grid] [--json]

The library is only read (work on a copy of a cached scan if it is shared).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceorg.cluster.constraints import Constraints, apply_constraints
from faceorg.cluster.engine import (
    cluster_embeddings,
    recall_settings,
)
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.metrics import score_clustering
from faceorg.cluster.recall_pass import recall_pass
from faceorg.people.clustering import cluster_params, load_library_faces
from faceorg.settings import Settings
from faceorg.store import open_library
from faceorg.store.models import Face, Photo


def central_rows(library, face_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per photo: the row of its face nearest the centre (-1: none) and its folder's name."""
    row = {int(f): i for i, f in enumerate(face_ids)}
    with library.session() as s:
        photos = s.execute(select(Photo.id, Photo.path, Photo.width, Photo.height).order_by(Photo.id)).all()
        faces = s.execute(select(Face.id, Face.photo_id, Face.x, Face.y, Face.w, Face.h)).all()
    size = {p: (w, h) for p, _, w, h in photos}
    best: dict[int, tuple[float, int]] = {}
    for fid, pid, x, y, w, h in faces:
        pw, ph = size[pid]
        d = (x + w / 2 - pw / 2) ** 2 + (y + h / 2 - ph / 2) ** 2
        if pid not in best or d < best[pid][0]:
            best[pid] = (d, fid)
    rows = np.array([row.get(best[p][1], -1) if p in best else -1 for p, *_ in photos], np.int64)
    return rows, [Path(path).parent.name for _, path, _, _ in photos]


def fold_of(name: str) -> int:
    return hashlib.sha256(name.encode()).digest()[0] % 2


def score(labels: np.ndarray, rows: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> dict[str, float]:
    predicted = np.where(rows >= 0, labels[np.maximum(rows, 0)], -1)[keep]
    s = score_clustering(predicted, truth[keep])
    return {"f": round(s.bcubed.f, 4), "p": round(s.bcubed.precision, 4), "r": round(s.bcubed.recall, 4),
            "unsorted": round(float(np.mean(predicted < 0)), 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--tune", type=int, default=0, help="the fold thresholds are chosen on (0 or 1)")
    ap.add_argument("--grid", action="store_true", help="try a grid of thresholds, not only the defaults")
    ap.add_argument("--ratio", type=float, help="try this ratio instead of the default")
    ap.add_argument("--attach", type=float, help="try this attach distance instead of the default")
    ap.add_argument("--nearest", type=int, help="try this many nearest faces per group instead of the default")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with open_library(args.library) as library:
        data = load_library_faces(library)
        rows, names = central_rows(library, data.face_ids)
    _, truth = np.unique(names, return_inverse=True)
    folds = np.array([fold_of(n) for n in names])
    x = np.ascontiguousarray(data.vectors, np.float32)
    params = cluster_params(Settings(), len(x))
    start = time.perf_counter()
    graph = knn_exact(x, params.k)
    base = cluster_embeddings(x, replace(params, recall_pass=False), None, graph)
    seconds = time.perf_counter() - start
    # What the pass starts from: the grouping without the stray rule, which its attaching replaces.
    before = cluster_embeddings(x, replace(params, recall_pass=False, stray_distance=0.0), None, graph)
    photo = np.where(data.collage, -1, data.photo_ids)
    constraints = Constraints(groups=photo)

    def finish(labels: np.ndarray, strengths: np.ndarray) -> np.ndarray:
        out, _, _ = apply_constraints(x, labels, strengths, constraints, attach_distance=params.attach_distance,
                                      graph=graph)
        return out

    def report(labels: np.ndarray) -> dict[str, dict[str, float]]:
        return {"all": score(labels, rows, truth, np.ones(len(rows), bool)),
                "tune": score(labels, rows, truth, folds == args.tune),
                "check": score(labels, rows, truth, folds != args.tune)}

    results: list[dict[str, object]] = [{"pass": "off", "seconds": round(seconds, 1),
                                         **report(finish(base.base_labels, base.strengths))}]
    default = recall_settings(params)
    default = replace(default, ratio=args.ratio or default.ratio, nearest=args.nearest or default.nearest,
                      attach_distance=default.attach_distance if args.attach is None else args.attach)
    tries = [default]
    if args.grid:
        tries += [replace(default, join_distance=j, join_spread=s, attach_distance=a, ratio=r)
                  for j, s, a, r in itertools.product((0.0, 0.27, 0.30), (0.36, 0.40), (0.0, 0.34, 0.38),
                                                      (1.1, 1.13, 1.15, 1.2))
                  if (j > 0 or s == 0.40) and (a > 0 or r == 1.2)]
    for settings in tries:
        start = time.perf_counter()
        start_from = before if settings.attach_distance > 0 else base
        labels, strengths, rep = recall_pass(x, start_from.base_labels, start_from.strengths, graph, settings,
                                             photo=photo)
        took = time.perf_counter() - start
        results.append({"pass": {k: getattr(settings, k) for k in ("join_distance", "join_spread",
                                                                     "attach_distance", "ratio")},
                        "seconds": round(took, 1), **rep.as_dict(), **report(finish(labels, strengths))})
        if not args.json:
            print(json.dumps(results[-1]), file=sys.stderr)
    if args.json:
        print(json.dumps(results))
    else:
        print(json.dumps(results[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
