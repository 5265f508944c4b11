"""Try grouping settings through the whole engine on LFW's two folds, all of LFW and a degraded library.

The LFW people are split into two folds by a hash of their name (as ``recall_tune.py`` does); each fold's
photos (all their faces) are grouped as a library of their own with the app's settings for its size, and so
is the whole library (``prune_tune.py`` explains why half libraries). Settings are chosen on fold 0 and
checked on fold 1; all of LFW is only reported. ``--degraded`` adds another scanned library whose folders
name the people (the corrections benchmark's small damaged faces), grouped whole. Each try overrides fields
of ``ClusterParams`` on top of the defaults, e.g. ``--try prune_nearest=5,recall_ratio=1.1``; the first row
is always the defaults. Scoring is ``faceorg eval cluster``'s (central face of each photo; unsorted faces
count as singletons; the photo rule applied as in the app).

    python benchmarks/grouping_tune.py --library LFW.sqlite [--degraded DEGRADED.sqlite] [--try k=v,...]

The libraries are only read. The k-NN graph of each library is computed once and shared by all tries, so
``k`` cannot be tried here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faceorg.cluster.constraints import Constraints  # noqa: E402
from faceorg.cluster.engine import cluster_embeddings  # noqa: E402
from faceorg.cluster.knn import KnnGraph  # noqa: E402
from faceorg.cluster.knn_exact import knn_exact  # noqa: E402
from faceorg.cluster.metrics import score_clustering  # noqa: E402
from faceorg.cluster.params import ClusterParams  # noqa: E402
from faceorg.people.clustering import cluster_params, load_library_faces  # noqa: E402
from faceorg.settings import Settings  # noqa: E402
from faceorg.store import open_library  # noqa: E402
from recall_tune import central_rows, fold_of  # noqa: E402
from tune_rows import print_rows  # noqa: E402


class Part:
    """One library to group: its faces (rows of the scan), the photos scored, the k-NN graph and settings."""

    def __init__(self, name: str, x: np.ndarray, photo: np.ndarray, faces: np.ndarray, rows: np.ndarray,
                 truth: np.ndarray, scored: np.ndarray) -> None:
        self.name = name
        self.faces = np.flatnonzero(faces)
        self.x, self.photo = x[self.faces], photo[self.faces]
        self.params = cluster_params(Settings(), len(self.faces))
        self.graph: KnnGraph = knn_exact(self.x, self.params.k)
        self.total, self.rows, self.truth, self.scored = len(x), rows[scored], truth[scored], scored

    def score(self, changes: dict[str, Any]) -> dict[str, float]:
        params = replace(self.params, **changes)
        cpu = time.process_time()
        result = cluster_embeddings(self.x, params, Constraints(groups=self.photo), self.graph)
        labels = np.full(self.total, -1)
        labels[self.faces] = result.labels
        s = score_clustering(np.where(self.rows >= 0, labels[np.maximum(self.rows, 0)], -1), self.truth)
        return {"f": round(s.bcubed.f, 4), "p": round(s.bcubed.precision, 4), "r": round(s.bcubed.recall, 4),
                "cpu_s": round(time.process_time() - cpu, 2)}


def read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(vectors, photo per face (-1 for collages), central face row per photo, truth per photo, names)."""
    with open_library(path) as library:
        data = load_library_faces(library)
        if data is None:
            raise SystemExit(f"{path} has no embeddings")
        rows, names = central_rows(library, data.face_ids)
    _, truth = np.unique(names, return_inverse=True)
    return (np.ascontiguousarray(data.vectors, np.float32), np.where(data.collage, -1, data.photo_ids), rows,
            truth, names)


def parts(library: Path, degraded: Path | None) -> list[Part]:
    x, photo, rows, truth, names = read(library)
    photo_fold = np.array([fold_of(n) for n in names])
    by_photo = {int(p): int(f) for p, f in zip(photo[rows[rows >= 0]], photo_fold[rows >= 0])}
    face_fold = np.array([by_photo.get(int(p), 0) for p in photo])  # every face goes with its photo
    out = [Part("fold0", x, photo, face_fold == 0, rows, truth, photo_fold == 0),
           Part("fold1", x, photo, face_fold == 1, rows, truth, photo_fold == 1),
           Part("all", x, photo, np.ones(len(x), bool), rows, truth, np.ones(len(rows), bool))]
    if degraded is not None:
        x, photo, rows, truth, _ = read(degraded)
        out.append(Part("degraded", x, photo, np.ones(len(x), bool), rows, truth, np.ones(len(rows), bool)))
    return out


def parse_try(text: str) -> dict[str, Any]:
    """``name=value,...`` into typed ``ClusterParams`` fields."""
    types = {f.name: type(getattr(ClusterParams(), f.name)) for f in fields(ClusterParams)}
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in types or name == "k":
            raise SystemExit(f"not a setting that can be tried: {name}")
        kind = types[name]
        out[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, required=True, help="a scan of LFW's images")
    ap.add_argument("--degraded", type=Path, help="another scanned library whose folders name the people")
    ap.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME=VALUE,...",
                    help="settings to try on top of the defaults (repeatable)")
    ap.add_argument("--json", action="store_true", help="one JSON document at the end instead of lines")
    args = ap.parse_args()
    libraries = parts(args.library, args.degraded)
    def tried() -> Iterator[dict[str, Any]]:
        for changes in [{}] + [parse_try(t) for t in args.tries]:
            row: dict[str, Any] = {"try": changes}
            for part in libraries:
                row[part.name] = part.score(changes)
            yield row

    return print_rows(tried(), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
