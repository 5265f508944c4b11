"""Calibrate the precision pass (``faceorg/cluster/prune.py``) on a scanned LFW library, on half libraries.

The people are split into two folds by a hash of their name (as ``recall_tune.py`` does), and each fold's
photos (all their faces) are grouped as a library of their own, with the app's settings for its size: a
fold scored inside a grouping of all photos would not see its faces mixed with the other fold's people, so
it overstates precision. Thresholds are chosen on fold ``--tune`` and checked on the other; the whole
library is reported too. Scoring is ``faceorg eval cluster``'s (central face of each photo, unsorted faces
count as singletons).

    python benchmarks/prune_tune.py --library /tmp/lfw-scan.sqlite [--grid] [--json]

The library is only read. The pass is tried on the finished grouping, as it ran before the engine moved it
ahead of the recall pass; ``grouping_tune.py`` tries its settings in the engine's own order.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faceorg.cluster.constraints import Constraints  # noqa: E402
from faceorg.cluster.engine import cluster_embeddings  # noqa: E402
from faceorg.cluster.knn_exact import knn_exact  # noqa: E402
from faceorg.cluster.metrics import score_clustering  # noqa: E402
from faceorg.cluster.prune import prune_groups  # noqa: E402
from faceorg.people.clustering import cluster_params, load_library_faces  # noqa: E402
from faceorg.settings import Settings  # noqa: E402
from faceorg.store import open_library  # noqa: E402
from recall_tune import central_rows, fold_of  # noqa: E402
from tune_rows import print_rows  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--tune", type=int, default=0, help="the fold thresholds are chosen on (0 or 1)")
    ap.add_argument("--grid", action="store_true", help="try a grid of thresholds, not only the defaults")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with open_library(args.library) as library:
        data = load_library_faces(library)
        if data is None:
            raise SystemExit("the library has no embeddings")
        rows, names = central_rows(library, data.face_ids)
    _, truth = np.unique(names, return_inverse=True)
    photo_fold = np.array([fold_of(n) for n in names])
    by_photo = {int(p): int(f) for p, f in zip(data.photo_ids[rows[rows >= 0]], photo_fold[rows >= 0])}
    face_fold = np.array([by_photo.get(int(p), 0) for p in data.photo_ids])  # every face goes with its photo
    x = np.ascontiguousarray(data.vectors, np.float32)
    photo = np.where(data.collage, -1, data.photo_ids)

    libraries = []  # (name, faces, photos scored, grouping without the pass, graph)
    for name, faces, scored in (("tune", face_fold == args.tune, photo_fold == args.tune),
                                ("check", face_fold != args.tune, photo_fold != args.tune),
                                ("all", np.ones(len(x), bool), np.ones(len(rows), bool))):
        idx = np.flatnonzero(faces)
        params = cluster_params(Settings(), len(idx))
        result = cluster_embeddings(x[idx], replace(params, prune_distance=0.0, prune_ratio=0.0),
                                    Constraints(groups=photo[idx]))
        libraries.append((name, idx, scored, result, knn_exact(x[idx], params.k), params))

    def score(labels: np.ndarray, idx: np.ndarray, scored: np.ndarray) -> dict[str, float]:
        full = np.full(len(x), -1)
        full[idx] = labels
        r = rows[scored]
        s = score_clustering(np.where(r >= 0, full[np.maximum(r, 0)], -1), truth[scored])
        return {"f": round(s.bcubed.f, 4), "p": round(s.bcubed.precision, 4), "r": round(s.bcubed.recall, 4)}

    default = libraries[2][5]
    tries = [(0.0, 0.0, default.prune_nearest), (default.prune_distance, default.prune_ratio, default.prune_nearest)]
    if args.grid:
        tries += list(itertools.product((0.32, 0.33, 0.34, 0.35, 0.36), (0.0, 1.0, 1.05), (2, 3)))
    def tried() -> Iterator[dict[str, object]]:
        for distance, ratio, nearest in tries:
            row: dict[str, object] = {"distance": distance, "ratio": ratio, "nearest": nearest}
            for name, idx, scored, result, graph, _ in libraries:
                labels = prune_groups(result.labels, result.strengths, graph, distance=distance, ratio=ratio,
                                      nearest=nearest)[0]
                row[name] = score(labels, idx, scored)
            yield row

    return print_rows(tried(), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
