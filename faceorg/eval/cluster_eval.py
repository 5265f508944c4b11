"""Grouping quality on all LFW photos through the real pipeline (scan, then cluster with default settings).

The face nearest the centre of each photo carries the folder's identity; other faces in the photos take
part in the grouping but are not scored. Faces left unsorted count as singletons. The scanned library is
cached in the data folder (``eval-lfw-mirror.sqlite``, named after the embedding recipe; scanning is
incremental), so repeated runs only re-cluster; ``--library`` groups a library scanned elsewhere instead. A
library made before the current embedding recipe (each face averaged with its mirror image) is moved to it
first (every face re-embedded from its stored chip), so the score is always the app's of today.
Also reports ``bald_guys.jpg``: its 24 faces cropped
with a margin into 24 photos must form 4 people of 6 faces.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import delete, select

from faceorg.cluster.metrics import score_clustering
from faceorg.errors import FaceorgError
from faceorg.paths import data_dir
from faceorg.people.clustering import recluster
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.progress import Progress
from faceorg.retrain.install import use_mirror_average
from faceorg.scan.scanner import scan_library
from faceorg.store import Library, open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, Face, FaceNotPerson, Operation, Person, Photo


def _reset_people(library: Library) -> None:
    with library.transaction() as s:
        for table in (Assignment, FaceNotPerson, Operation):
            s.execute(delete(table))
        s.execute(delete(Person))


def _scanned_library(images: Path, cache: bool, progress: Progress) -> Library:
    folder = data_dir() / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "eval-lfw-mirror.sqlite"
    if not cache and path.exists():
        path.unlink()
    library = open_library(path)
    add_folder(library, images)
    scan_library(library, analyzer=analyzer_for_library(library), progress=progress)  # incremental: cheap when cached
    return library


def central_face_labels(library: Library) -> tuple[list[str], np.ndarray, int]:
    """Per photo: its folder (identity) and the person of its central face (-1 none); and photos without a face."""
    with library.session() as s:
        rows = s.execute(select(Photo.id, Photo.path, Photo.width, Photo.height))
        photos = {pid: (path, w, h) for pid, path, w, h in rows}
        faces = s.execute(select(Face.id, Face.photo_id, Face.x, Face.y, Face.w, Face.h)).all()
        owner = dict(s.execute(select(Assignment.face_id, Assignment.person_id)).all())
    best: dict[int, tuple[float, int]] = {}
    for fid, pid, x, y, w, h in faces:
        _, pw, ph = photos[pid]
        if pw is None or ph is None:  # not decoded (yet): no centre to measure from
            continue
        d = (x + w / 2 - pw / 2) ** 2 + (y + h / 2 - ph / 2) ** 2
        if pid not in best or d < best[pid][0]:
            best[pid] = (d, fid)
    truth, predicted, without = [], [], 0
    for pid, (path, _, _) in sorted(photos.items()):
        truth.append(Path(path).parent.name)
        if pid in best:
            predicted.append(owner.get(best[pid][1], -1))
        else:
            predicted.append(-1)
            without += 1
    return truth, np.array(predicted, np.int64), without


def _given_library(path: Path, images: Path) -> Library:
    """A library the caller scanned already: it must exist and hold photos of ``images`` only."""
    if not path.is_file():
        raise FaceorgError(f"no library at {path}")
    library = open_library(path)
    with library.session() as s:
        paths = list(s.scalars(select(Photo.path).limit(50)))
    root = images.resolve()
    if not paths or any(not Path(p).resolve().is_relative_to(root) for p in paths):
        library.close()
        raise FaceorgError(f"{path} is not a scan of {images}")
    return library


def evaluate_clustering(data: Path, *, progress: Progress | None = None, use_cache: bool = True,
                        library: Path | None = None, recall_pass: bool = True) -> dict[str, object]:
    """Scan all LFW photos (cached), group them with the default settings, and score the central faces.

    ``library``: group that scanned library (its people are replaced) instead of scanning into the cache.
    ``recall_pass``: whether grouping runs its joining pass (see ``faceorg/cluster/recall_pass.py``).
    """
    progress = progress or Progress()
    images = data / "images"
    if not images.is_dir():
        raise FaceorgError(f"{data} is not an LFW folder (expected images/)")
    lib = _given_library(library, images) if library is not None else _scanned_library(images, use_cache, progress)
    try:
        use_mirror_average(lib, progress)  # nothing to do for a library made with today's recipe
        _reset_people(lib)
        start = time.perf_counter()
        recluster(lib, progress, recall_pass=recall_pass)
        seconds = time.perf_counter() - start
        truth_names, predicted, without = central_face_labels(lib)
    finally:
        lib.close()
    _, truth = np.unique(truth_names, return_inverse=True)
    scores = score_clustering(predicted, truth)
    result: dict[str, object] = {
        "bcubed_p": scores.bcubed.precision, "bcubed_r": scores.bcubed.recall, "bcubed_f": scores.bcubed.f,
        "pairwise_p": scores.pairwise.precision, "pairwise_r": scores.pairwise.recall,
        "pairwise_f": scores.pairwise.f, "nmi": scores.nmi,
        "clusters": int(len(np.unique(predicted[predicted >= 0]))),
        "noise_share": float(np.mean(predicted < 0)), "seconds": round(seconds, 2),
        "photos": len(truth_names), "identities": int(truth.max() + 1), "photos_without_face": without,
    }
    bald = data.parent / "photos-annotated" / "bald_guys.jpg"
    if bald.is_file():
        result["bald_guys"] = evaluate_collage(bald)
    return result


def evaluate_collage(collage: Path, margin: float = 0.4) -> dict[str, object]:
    """Crop each face of the collage (with ``margin`` of its size around it) into its own photo, scan and group."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with open_library(root / "collage.sqlite") as lib:
            src = root / "collage"
            src.mkdir()
            shutil.copy(collage, src / collage.name)
            add_folder(lib, src)
            scan_library(lib, analyzer=analyzer_for_library(lib))
            with lib.session() as s:
                boxes = s.execute(select(Face.x, Face.y, Face.w, Face.h)).all()
        crops = root / "crops"
        crops.mkdir()
        with Image.open(collage) as im:
            for i, (x, y, w, h) in enumerate(boxes):
                m = margin * max(w, h)
                crop = im.crop((int(x - m), int(y - m), int(x + w + m), int(y + h + m)))
                crop.save(crops / f"face{i:02d}.jpg", quality=95)
        with open_library(root / "crops.sqlite") as lib:
            add_folder(lib, crops)
            scan_library(lib, analyzer=analyzer_for_library(lib))
            recluster(lib)
            with lib.session() as s:
                owner = list(s.execute(select(Assignment.person_id)).scalars())
                faces = s.scalar(select(Face.id).order_by(Face.id.desc()).limit(1))
    sizes = sorted(Counter(owner).values(), reverse=True)
    return {"faces_in_collage": len(boxes), "crops_with_face": faces or 0, "people": len(sizes), "group_sizes": sizes,
            "unsorted": len(boxes) - sum(sizes), "ok": sizes == [6, 6, 6, 6]}


def format_cluster_report(result: dict[str, Any]) -> str:
    lines = [
        f"LFW grouping: {result['photos']} photos of {result['identities']} people "
        f"({result['photos_without_face']} without a detected face), {result['seconds']} s to group",
        f"{'metric':<12} {'precision':>10} {'recall':>8} {'F':>8}",
        f"{'BCubed':<12} {result['bcubed_p']:10.4f} {result['bcubed_r']:8.4f} {result['bcubed_f']:8.4f}",
        f"{'pairwise':<12} {result['pairwise_p']:10.4f} {result['pairwise_r']:8.4f} {result['pairwise_f']:8.4f}",
        f"NMI {result['nmi']:.4f}, {result['clusters']} groups, {float(result['noise_share']) * 100:.1f}% unsorted",
    ]
    bald = result.get("bald_guys")
    if isinstance(bald, dict):
        lines.append(f"bald_guys.jpg as {bald['faces_in_collage']} crops: {bald['people']} people, sizes "
                     f"{bald['group_sizes']}, {bald['unsorted']} unsorted ({'ok' if bald['ok'] else 'NOT 4 x 6'})")
    return "\n".join(lines)
