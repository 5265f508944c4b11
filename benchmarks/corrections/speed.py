"""Speed: retraining the quick head with 5k labelled faces, and re-embedding 100k faces from stored features.

Both run on a generated library database (in a temporary folder) whose rows are made from real
features: the 256-d pooled features of the benchmark's own degraded faces. Labelled faces are the real
central faces with their true identity; when there are fewer than the wanted number, copies of random
real faces with Gaussian noise (0.1 x the features' per-dimension spread) and the source's label fill
up. The other faces are noisy copies of random real faces, left unlabelled. Photos hold 4 faces each,
at most one of them labelled (so "two faces of one photo are different people" holds), every face at
quality 1.0 (the training quality gate does not drop any).

- ``retrain_s_5k``: ``faceorg.retrain.retrain.retrain(library, depth="quick", dry_run=True)`` on that
  database: collecting the labels, the 3-fold gate (3 head trainings) and the final head training, as
  the app runs it; ``train_head_s_5k``: one ``train_head`` call on the same set (the shipped layer).
- ``reembed_s_100k``: ``faceorg.retrain.install.reembed_from_features`` for a new head version over
  all 100k faces: reading the features, the matrix product and writing 100k embedding rows (the DB
  writes are the realistic part).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from faceorg.retrain.install import reembed_from_features
from faceorg.store import open_library
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    Embedding,
    Face,
    LibraryFolder,
    ModelVersion,
    Person,
    Photo,
    PhotoStatus,
)
from faceorg.versions import ensure_base_version
from faceorg.versions.records import head_weight

FACES_PER_PHOTO = 4
CHUNK = 10_000


def synthesise(features: np.ndarray, labels: np.ndarray, n_labelled: int, n_total: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ``[n_total, 256]`` and labels (first ``n_labelled`` labelled, the rest -1) from real rows."""
    rng = np.random.default_rng([seed, 5])
    spread = features.std(axis=0, keepdims=True) * 0.1
    real = np.flatnonzero(labels >= 0)
    if len(real) >= n_labelled:
        pick = rng.choice(real, n_labelled, replace=False)
        lab_x, lab_y = features[pick], labels[pick]
    else:
        extra = rng.choice(real, n_labelled - len(real))
        noisy = features[extra] + rng.normal(size=(len(extra), features.shape[1])).astype(np.float32) * spread
        lab_x, lab_y = np.vstack([features[real], noisy]), np.concatenate([labels[real], labels[extra]])
    rest = rng.choice(len(features), n_total - n_labelled)
    rest_x = features[rest] + rng.normal(size=(len(rest), features.shape[1])).astype(np.float32) * spread
    x = np.vstack([lab_x, rest_x]).astype(np.float32)
    y = np.concatenate([lab_y, -np.ones(len(rest), np.int64)])
    return x, y


def build_library(path: Path, features: np.ndarray, labels: np.ndarray) -> Library:
    """A library database with one face per feature row; labelled rows confirmed by the user."""
    from faceorg.embed.embedder import l2_normalize

    library = open_library(path)
    base = ensure_base_version(library)
    weight = head_weight(library, base)
    vectors = l2_normalize(features @ weight.T)
    n = len(features)
    labelled = np.flatnonzero(labels >= 0)
    unlabelled = np.flatnonzero(labels < 0)
    # Photo k holds labelled face k (if any) and unlabelled faces: at most one labelled face per photo.
    n_photos = max(len(labelled), -(-n // FACES_PER_PHOTO))
    slots = [[] for _ in range(n_photos)]  # type: list[list[int]]
    for k, row in enumerate(labelled):
        slots[k].append(int(row))
    k = 0
    for row in unlabelled:
        while len(slots[k % n_photos]) >= FACES_PER_PHOTO:
            k += 1
        slots[k % n_photos].append(int(row))
        k += 1
    folder = str(path.parent / "generated-photos")
    with library.transaction() as s:
        s.add(LibraryFolder(id=1, path=folder))
        people = sorted({int(v) for v in labels[labelled]})
        s.execute(insert(Person), [{"id": p + 1, "name": f"person {p}"} for p in people])
        s.execute(insert(Photo), [{"id": i + 1, "folder_id": 1, "path": f"{folder}/{i}.jpg", "size": 1, "mtime_ns": 0,
                                   "status": PhotoStatus.OK, "width": 1000, "height": 1000, "faces_key": "generated",
                                   "face_count": len(slot)} for i, slot in enumerate(slots)])
    photo_of = {row: i + 1 for i, slot in enumerate(slots) for row in slot}
    for start in range(0, n, CHUNK):
        rows = range(start, min(n, start + CHUNK))
        with library.transaction() as s:
            s.execute(insert(Face), [{"id": r + 1, "photo_id": photo_of[r], "x": 0.0, "y": 0.0, "w": 100.0,
                                      "h": 100.0, "landmarks": [0.0] * 10, "score": 1.0, "blur": 100.0,
                                      "quality": 1.0} for r in rows])
            s.execute(insert(Embedding), [{"face_id": r + 1, "model_version_id": base.id,
                                           "vector": vectors[r].tobytes(), "features": features[r].tobytes()}
                                          for r in rows])
            confirmed = [{"face_id": r + 1, "person_id": int(labels[r]) + 1, "source": AssignmentSource.USER}
                         for r in rows if labels[r] >= 0]
            if confirmed:  # an empty list would insert one row of defaults
                s.execute(insert(Assignment), confirmed)
    return library


def measure_speed(features: np.ndarray, labels: np.ndarray, work: Path, *, n_labelled: int = 5000,
                  n_total: int = 100_000, seed: int = 0, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the generated library and time the three things of the module docstring."""
    from faceorg.retrain.retrain import retrain
    from faceorg.retrain.training_data import collect_training_data
    from faceorg.train.head import HeadRecipe, train_head

    x, y = synthesise(features, labels, n_labelled, n_total, seed)
    t = time.perf_counter()
    library = build_library(work / "speed.sqlite", x, y)
    build_s = time.perf_counter() - t
    say(f"speed: generated library with {n_total} faces ({n_labelled} labelled) in {build_s:.1f} s")
    out: dict[str, Any] = {"generated_faces": n_total, "labelled_faces": n_labelled, "real_labelled_rows":
                           int(min(n_labelled, np.count_nonzero(labels >= 0))), "build_s": build_s}
    try:
        t = time.perf_counter()
        report = retrain(library, depth="quick", dry_run=True, seed=seed)
        out["retrain_s_5k"] = time.perf_counter() - t
        out["retrain_timings"] = report.timings
        out["retrain_stop_reason"] = report.stop_reason
        out["retrain_training"] = report.training
        say(f"speed: retrain (quick, dry run) with {n_labelled} labelled faces: {out['retrain_s_5k']:.1f} s "
            f"({report.stop_reason})")
        data = collect_training_data(library, seed=seed)
        base = ensure_base_version(library)
        t = time.perf_counter()
        weight = head_weight(library, base)
        result = train_head(data.features, data.labels, data.cannot_link, weight, HeadRecipe(seed=seed))
        out["train_head_s_5k"] = time.perf_counter() - t
        out["train_head_steps"] = result.steps
        out["train_head_stop_reason"] = result.stop_reason
        say(f"speed: one train_head call: {out['train_head_s_5k']:.1f} s, {result.steps} steps ({result.stop_reason})")
        weight = result.weight
        with library.transaction() as s:
            version = ModelVersion(
                name="speed-head",
                kind="head",
                file_name="unused.onnx",
                sha256="0" * 64,
                parent_id=base.id,
                active=False,
                report={},
            )
            s.add(version)
            s.flush()
            s.expunge(version)
        t = time.perf_counter()
        count = reembed_from_features(library, version, weight)
        out["reembed_s_100k"] = time.perf_counter() - t
        out["reembedded"] = count
        say(f"speed: reembed_from_features on {count} faces: {out['reembed_s_100k']:.1f} s")
    finally:
        library.close()
    return out
