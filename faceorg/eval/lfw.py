"""LFW: embeddings through the app's detect -> align -> embed path, and the standard 10-fold protocol.

For each photo the face nearest the centre is used (LFW centres the labelled person). A photo where the
detector finds no face falls back to the average landmark position of the photos where it did, which
is where LFW's deep-funnelled alignment puts every face; the number of fallbacks is reported.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceorg.concurrency import bounded_map
from faceorg.detect.align import align_chip
from faceorg.detect.retinaface import RetinaFaceDetector
from faceorg.detect.subject import central_face  # noqa: F401 (also imported from here by scripts)
from faceorg.embed.embedder import Embedder, l2_normalize
from faceorg.errors import FaceorgError
from faceorg.imaging.decode import load_working_image
from faceorg.progress import Progress

log = logging.getLogger(__name__)

# Landmarks of an average LFW deep-funnelled face (250x250), used until real detections refine it.
DEFAULT_LFW_LANDMARKS = np.array([[104.0, 113.0], [145.0, 113.0], [125.0, 137.0], [108.0, 160.0], [142.0, 160.0]])


@dataclass(frozen=True)
class Pair:
    a: tuple[str, int]
    b: tuple[str, int]
    same: bool
    fold: int


def read_pairs(path: Path) -> list[Pair]:
    """Parse LFW's ``pairs.txt`` (view 2: ``folds per_fold`` then 10 x (same lines, different lines))."""
    lines = path.read_text().split("\n")
    try:
        folds, per_fold = (int(v) for v in lines[0].split())
    except ValueError as exc:
        raise FaceorgError(f"{path}: the first line must be '<folds> <pairs per fold>'") from exc
    pairs: list[Pair] = []
    rows = [ln.split() for ln in lines[1:] if ln.strip()]
    if len(rows) != folds * per_fold * 2:
        raise FaceorgError(f"{path}: expected {folds * per_fold * 2} pairs, found {len(rows)}")
    for i, row in enumerate(rows):
        fold = i // (2 * per_fold)
        if len(row) == 3:
            pairs.append(Pair((row[0], int(row[1])), (row[0], int(row[2])), True, fold))
        elif len(row) == 4:
            pairs.append(Pair((row[0], int(row[1])), (row[2], int(row[3])), False, fold))
        else:
            raise FaceorgError(f"{path}: cannot read pair line {i + 2}: {' '.join(row)}")
    return pairs


def image_path(images: Path, name: str, number: int) -> Path:
    return images / name / f"{name}_{number:04d}.jpg"


@dataclass
class EmbeddedImages:
    vectors: np.ndarray  # [n,128] L2-normalised
    fallbacks: int
    landmarks: np.ndarray  # [n,5,2] landmarks used (full-image pixels)


def embed_images(paths: Sequence[Path], detector: RetinaFaceDetector, embedder: Embedder, *, flip: bool = False,
                 progress: Progress | None = None, batch: int = 64) -> EmbeddedImages:
    """Embed the central face of each photo (decoding in a thread pool, inference batched)."""
    progress = progress or Progress()
    progress.start("Embedding faces", total=len(paths))
    vectors = np.zeros((len(paths), 128), np.float32)
    used = np.zeros((len(paths), 5, 2), np.float32)
    missing: list[int] = []
    found_marks: list[np.ndarray] = []
    chips: dict[int, np.ndarray] = {}
    images: dict[int, np.ndarray] = {}

    def flush(indices: list[int]) -> None:
        if not indices:
            return
        stack = np.stack([chips.pop(i) for i in indices])
        emb, _ = embedder.embed(stack)
        if flip:
            flipped, _ = embedder.embed(stack[:, :, ::-1])
            emb = l2_normalize(emb + flipped)
        vectors[indices] = emb

    pending: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        decoded = bounded_map(pool, lambda p: load_working_image(p, max_side=None).pixels, paths, depth=16)
        for i, img in enumerate(decoded):
            progress.check_cancelled()
            det = central_face(detector.detect(img), img.shape[1], img.shape[0])
            if det is None:
                missing.append(i)
                images[i] = img
            else:
                marks = np.asarray(det.landmarks, np.float32)
                found_marks.append(marks)
                used[i] = marks
                chips[i] = align_chip(img, marks)
                pending.append(i)
            if len(pending) >= batch:
                flush(pending)
                pending = []
            progress.advance()
        flush(pending)
    if missing:
        mean = np.mean(found_marks, axis=0) if found_marks else DEFAULT_LFW_LANDMARKS
        for i in missing:
            img = images.pop(i)
            scale = np.array([img.shape[1] / 250, img.shape[0] / 250])
            used[i] = mean * scale
            chips[i] = align_chip(img, used[i])
        flush(missing)
        log.info("no face detected in %d of %d photos: used the average face position", len(missing), len(paths))
    return EmbeddedImages(vectors, len(missing), used)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold with the highest accuracy (same person when distance < threshold)."""
    order = np.sort(np.unique(distances))
    candidates = np.concatenate([[order[0] - 1e-6], (order[:-1] + order[1:]) / 2, [order[-1] + 1e-6]])
    best, best_acc = candidates[0], -1.0
    for t in candidates:
        acc = np.mean((distances < t) == same)
        if acc > best_acc:
            best, best_acc = t, acc
    return float(best)


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[list[float], list[float]]:
    """Per fold: accuracy at the threshold chosen on the other folds; and those thresholds."""
    accs, thresholds = [], []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        t = best_threshold(distances[train], same[train])
        thresholds.append(t)
        accs.append(float(np.mean((distances[test] < t) == same[test])))
    return accs, thresholds


def cache_key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


def evaluate_lfw(data: Path, detector: RetinaFaceDetector, embedder: Embedder, *, flip: bool = False,
                 progress: Progress | None = None) -> dict[str, Any]:
    """LFW 10-fold verification accuracy through the app's pipeline."""
    pairs_file, images = data / "pairs.txt", data / "images"
    if not pairs_file.is_file() or not images.is_dir():
        raise FaceorgError(f"{data} is not an LFW folder (expected pairs.txt and images/)")
    pairs = read_pairs(pairs_file)
    keys = sorted({p.a for p in pairs} | {p.b for p in pairs})
    index = {k: i for i, k in enumerate(keys)}
    paths = [image_path(images, name, n) for name, n in keys]
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise FaceorgError(f"{len(absent)} photos named in pairs.txt are missing, e.g. {absent[0]}")
    embedded = embed_images(paths, detector, embedder, flip=flip, progress=progress)
    a = np.array([index[p.a] for p in pairs])
    b = np.array([index[p.b] for p in pairs])
    distances = np.linalg.norm(embedded.vectors[a] - embedded.vectors[b], axis=1)
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    accs, thresholds = ten_fold_accuracy(distances, same, folds)
    return {
        "accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)), "folds": accs,
        "thresholds": thresholds, "pairs": len(pairs), "photos": len(paths),
        "no_face_fallbacks": embedded.fallbacks, "flip": flip,
    }
