"""Embedder versions: register, re-embed every face, swap atomically, roll back or forward.

A new version's embeddings are written next to the current ones (the current version stays active the
whole time), then one transaction flips the active flag. Killing the process at any point leaves the
previous model working; a half-written version is simply re-embedded when it is used again.
A head-only version shares the 256-d features of the version it was trained from, so it stores none.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from faceorg.embed.embedder import Embedder, l2_normalize
from faceorg.errors import FaceorgError
from faceorg.people.changes import ChangeSet
from faceorg.pipeline.analyzer import decode_chip
from faceorg.progress import Progress
from faceorg.store.db import Library
from faceorg.store.model_versions import library_models_dir, runtime_model_path, verified_model_path
from faceorg.store.models import Embedding, Face, FaceChip, ModelVersion

log = logging.getLogger(__name__)

CHUNK = 5000
CALIBRATION_FACES = 256  # chips the int8 copy of a deeper-retrained version is calibrated on


def feature_version(library: Library, version: ModelVersion) -> ModelVersion:
    """The version whose stored 256-d features ``version`` uses (itself unless it is head-only)."""
    with library.session() as s:
        current = version
        while current.kind == "head" and current.parent_id is not None:
            parent = s.get(ModelVersion, current.parent_id)
            if parent is None:
                break
            current = parent
        return current


def next_version_name(library: Library, kind: str) -> str:
    with library.session() as s:
        n = s.scalar(select(func.count()).select_from(ModelVersion)) or 0
    return f"v{n + 1}-{kind}"


def calibration_chips(library: Library, count: int = CALIBRATION_FACES) -> np.ndarray:
    """Up to ``count`` stored chips spread evenly over the library."""
    with library.session() as s:
        ids = list(s.scalars(select(FaceChip.face_id).order_by(FaceChip.face_id)))
        picked = [ids[int(i)] for i in np.linspace(0, len(ids) - 1, min(count, len(ids)))] if ids else []
        rows = s.execute(select(FaceChip.image).where(FaceChip.face_id.in_(picked))).scalars().all()
    return np.stack([decode_chip(r) for r in rows]) if rows else np.zeros((0, 150, 150, 3), np.uint8)


def runtime_file_name(name: str) -> str:
    return f"embedder-{name}.int8.onnx"


def make_runtime_copy(library: Library, *, name: str, kind: str, onnx_file: Path,
                      parent: ModelVersion) -> tuple[str, str] | None:
    """Write the int8 copy of a new version into the library's model folder; return (file name, SHA-256),
    or None when the version is to run its float32 file.

    A head-only version keeps its parent's precision: its int8 copy is the parent's with the new last
    layer (float32 in both), so its faces' stored 256-d features stay exactly right; if that copy cannot
    be made, FaceorgError (installing it in float32 would mix precisions). A deeper version, whose faces
    are all embedded again, is quantised with ranges measured on library chips, else runs float32.
    """
    from faceorg.embed.quantize import quantize_embedder, with_new_head
    from faceorg.weights.manifest import sha256_file

    target = library_models_dir(library) / runtime_file_name(name)
    if kind == "head":
        if parent.runtime_file is None:
            return None
        try:
            with_new_head(runtime_model_path(library, parent), _onnx_head_weight(onnx_file), target)
        except ValueError as exc:
            raise FaceorgError(f"cannot make the int8 copy of embedder {name}: {exc}") from exc
        return target.name, sha256_file(target)
    chips = calibration_chips(library)
    if len(chips) == 0:
        return None
    try:
        quantize_embedder(onnx_file, target, chips=chips)
    except ValueError as exc:
        log.warning("embedder %s runs in float32: its int8 copy could not be made (%s)", name, exc)
        return None
    return target.name, sha256_file(target)


def register_version(library: Library, *, name: str, kind: str, onnx_file: Path, sha256: str,
                     parent: ModelVersion, report: dict[str, object]) -> ModelVersion:
    """Move a trained ONNX file (and its int8 copy) into the library's model folder; record it (inactive).
    On failure nothing of the version is left behind."""
    folder = library_models_dir(library)
    target = folder / f"embedder-{name}.onnx"
    runtime_target = folder / runtime_file_name(name)
    tmp = target.with_suffix(".onnx.tmp")
    try:
        shutil.copyfile(onnx_file, tmp)
        os.replace(tmp, target)
        runtime = make_runtime_copy(library, name=name, kind=kind, onnx_file=target, parent=parent)
        with library.transaction() as s:
            version = ModelVersion(name=name, kind=kind, file_name=target.name, sha256=sha256, parent_id=parent.id,
                                   active=False, report=report, runtime_file=runtime[0] if runtime else None,
                                   runtime_sha256=runtime[1] if runtime else None)
            s.add(version)
            s.flush()
            return version
    except BaseException:
        for path in (tmp, target, runtime_target):
            path.unlink(missing_ok=True)
        raise


def _onnx_head_weight(path: Path) -> np.ndarray:
    """The last layer's weight [128, 256] of an embedder ONNX file (its only 128 x 256 tensor)."""
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(path)).graph.initializer:
        if tuple(init.dims) in ((128, 256), (256, 128)):
            array = numpy_helper.to_array(init)
            return array if array.shape == (128, 256) else array.T
    raise FaceorgError(f"{path.name}: cannot find the last layer")


def _face_chunks(library: Library, version_id: int) -> list[list[int]]:
    """Face ids that have an embedding under ``version_id``, in chunks."""
    with library.session() as s:
        ids = list(s.scalars(select(Embedding.face_id).where(Embedding.model_version_id == version_id)
                             .order_by(Embedding.face_id)))
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _done(library: Library, version_id: int) -> set[int]:
    with library.session() as s:
        return set(s.scalars(select(Embedding.face_id).where(Embedding.model_version_id == version_id)))


def reembed_from_features(library: Library, version: ModelVersion, weight: np.ndarray,
                          progress: Progress | None = None) -> int:
    """Embed every face under a head-only ``version``: one matrix product on the stored features."""
    progress = progress or Progress()
    source = feature_version(library, version)
    chunks = _face_chunks(library, source.id)
    progress.start("Re-embedding faces", total=sum(len(c) for c in chunks))
    done = _done(library, version.id)
    w = np.asarray(weight, np.float32)
    count = 0
    for chunk in chunks:
        progress.check_cancelled()
        todo = [f for f in chunk if f not in done]
        if todo:
            with library.transaction() as s:
                rows = s.execute(select(Embedding.face_id, Embedding.features).where(
                    Embedding.model_version_id == source.id, Embedding.face_id.in_(todo))).all()
                feats = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
                vectors = l2_normalize(feats @ w.T)
                s.execute(Embedding.__table__.insert(), [
                    {"face_id": fid, "model_version_id": version.id, "vector": vectors[k].tobytes(), "features": None}
                    for k, (fid, _) in enumerate(rows)])
            count += len(todo)
        progress.advance(len(chunk))
    return count


def reembed_from_chips(library: Library, version: ModelVersion, progress: Progress | None = None,
                       use_gpu: bool = True, batch: int = 256) -> int:
    """Embed every face's stored chip with the version's own ONNX model (after deeper retraining)."""
    progress = progress or Progress()
    embedder = Embedder(runtime_model_path(library, version), use_gpu=use_gpu)
    with library.session() as s:
        ids = list(s.scalars(select(FaceChip.face_id).order_by(FaceChip.face_id)))
    done = _done(library, version.id)
    todo = [f for f in ids if f not in done]
    progress.start("Re-embedding faces", total=len(todo))
    for i in range(0, len(todo), batch):
        progress.check_cancelled()
        part = todo[i:i + batch]
        with library.session() as s:
            chips = dict(s.execute(select(FaceChip.face_id, FaceChip.image).where(FaceChip.face_id.in_(part))).all())
        vectors, features = embedder.embed(np.stack([decode_chip(chips[f]) for f in part]))
        with library.transaction() as s:
            s.execute(Embedding.__table__.insert(), [
                {"face_id": f, "model_version_id": version.id, "vector": vectors[k].tobytes(),
                 "features": features[k].tobytes()} for k, f in enumerate(part)])
        progress.advance(len(part))
    return len(todo)


def activate(library: Library, version_id: int) -> None:
    """Make a version the active one, in one transaction (the atomic swap)."""
    with library.transaction() as s:
        version = s.get(ModelVersion, version_id)
        if version is None:
            raise FaceorgError(f"no embedder version {version_id}")
        missing = s.scalar(select(func.count()).select_from(Face).outerjoin(
            Embedding, (Embedding.face_id == Face.id) & (Embedding.model_version_id == version_id))
            .where(Embedding.face_id.is_(None), Face.id.in_(select(FaceChip.face_id))))
        if missing:
            raise FaceorgError(f"embedder version {version.name} is missing {missing} embeddings; it cannot be used yet")
        for other in s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))):
            other.active = False
        version.active = True


def use_version(library: Library, name: str, progress: Progress | None = None) -> ChangeSet:
    """Switch the library to another embedder version (roll back or forward) and regroup its faces."""
    from faceorg.people.clustering import recluster
    from faceorg.settings import load_settings

    with library.session() as s:
        version = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()
        names = list(s.scalars(select(ModelVersion.name).order_by(ModelVersion.id)))
    if version is None:
        raise FaceorgError(f"no embedder version named {name} (versions: {', '.join(names) or 'none'})")
    if version.active:
        return ChangeSet(label=f"Use {name}")
    verified_model_path(library, version)
    runtime_model_path(library, version)
    if version.kind == "head":
        weight = head_weight(library, version)
        reembed_from_features(library, version, weight, progress)
    else:
        reembed_from_chips(library, version, progress, use_gpu=load_settings(library).use_gpu)
    activate(library, version.id)
    cs = recluster(library, progress, full=True)
    cs.label = f"Use embedder {name}"
    return cs


def head_weight(library: Library, version: ModelVersion) -> np.ndarray:
    """The last layer's weight [128, 256] of a version, read from its ONNX file (no torch needed)."""
    return _onnx_head_weight(verified_model_path(library, version))
