"""Putting an embedder version in place: export, int8 copy, re-embed every face, swap atomically.

A new version's embeddings are written next to the current ones (the current version stays active the
whole time), then one transaction flips the active flag. Killing the process at any point leaves the
previous model working; a half-written version is simply re-embedded when it is used again.
A head-only version shares the 256-d features of the version it was trained from, so it stores none.
The same steps switch to an older or newer version (``faceorg models use``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from faceorg.embed.embedder import Embedder
from faceorg.errors import FaceorgError
from faceorg.files import replacing, sha256_file
from faceorg.people.changes import ChangeSet
from faceorg.pipeline.analyzer import decode_chip
from faceorg.progress import Progress
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.models import Embedding, FaceChip, ModelVersion, table_of
from faceorg.vectors import l2_normalize
from faceorg.versions.files import (
    WORK_PREFIX,
    checkpoint_file_name,
    library_models_dir,
    runtime_model_path,
    verified_model_path,
)
from faceorg.versions.records import (
    MIRROR_KEY,
    activate,
    active_version,
    averages_mirror,
    feature_version,
    find_version,
    head_weight,
    next_version_name,
    onnx_head_weight,
)

log = logging.getLogger(__name__)

CHUNK = 5000
CALIBRATION_FACES = 256  # chips the int8 copy of a deeper-retrained version is calibrated on
# Recorded in a head version's report: it has no checkpoint; its torch model is its parent's with its head.
HEAD_ON_PARENT = "head_on_parent"


def work_folder(library: Library) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder inside the library's model folder (same disk, so files move atomically),
    named so that a leftover of a killed process is recognised and removed later (one another process
    removed while this one still used it does not fail this one at the end)."""
    return tempfile.TemporaryDirectory(dir=library_models_dir(library), prefix=WORK_PREFIX, ignore_cleanup_errors=True)


def library_embedder(library: Library, path: Path, mirror: bool = False) -> Embedder:
    """An embedder running ``path`` with this computer's settings for ``library`` (graphics card, threads);
    ``mirror``: the version's recipe averages each face with its mirror image."""
    settings = load_settings(library)
    return Embedder(path, use_gpu=settings.use_gpu, threads=settings.threads or None, mirror=mirror)


def calibration_chips(library: Library, count: int = CALIBRATION_FACES) -> np.ndarray:
    """Up to ``count`` stored chips spread evenly over the library."""
    with library.session() as s:
        ids = list(s.scalars(select(FaceChip.face_id).order_by(FaceChip.face_id)))
        picked = [ids[int(i)] for i in np.linspace(0, len(ids) - 1, min(count, len(ids)))] if ids else []
        rows = s.execute(select(FaceChip.image).where(FaceChip.face_id.in_(picked))).scalars().all()
    return np.stack([decode_chip(r) for r in rows]) if rows else np.zeros((0, 150, 150, 3), np.uint8)


def embed_as_installed(library: Library, module: Any, load_chips: Any, rows: np.ndarray, calibration: np.ndarray,
                       progress: Progress) -> np.ndarray:
    """Normalised embeddings of ``rows``' chips by the file a deeper version of ``module`` would run once
    installed (its int8 copy calibrated on the ``calibration`` chips, :func:`calibration_chips` as
    :func:`register_version` uses them; the float32 export when no copy can be made), so the gate judges
    what the app will use."""
    from faceorg.embed.quantize import quantize_embedder
    from faceorg.train.export_onnx import export_onnx

    with work_folder(library) as tmp:
        runtime = Path(tmp) / "candidate.onnx"
        export_onnx(module.cpu().eval(), runtime)
        if len(calibration):
            try:
                runtime = quantize_embedder(runtime, Path(tmp) / "candidate.int8.onnx", chips=calibration)
            except ValueError as exc:
                log.warning("judging the float32 model: %s", exc)
        mirror = averages_mirror(active_version(library))  # the candidate keeps the running version's recipe
        return embed_with(library_embedder(library, runtime, mirror), load_chips, rows, progress)


def embed_with(embedder: Embedder, load_chips: Any, rows: np.ndarray, progress: Progress) -> np.ndarray:
    """Normalised embeddings of ``rows``' chips by ``embedder`` (``load_chips`` gives [k, 3, 150, 150] or
    [k, 150, 150, 3] chips)."""
    progress.start("Checking the new model on your faces", total=len(rows))
    out = []
    for start in range(0, len(rows), 256):
        progress.check_cancelled()
        part = rows[start:start + 256]
        chips = np.asarray(load_chips(part))
        out.append(embedder.embed(chips.transpose(0, 2, 3, 1) if chips.shape[1] == 3 else chips)[0])
        progress.advance(len(part))
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


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

    target = library_models_dir(library) / runtime_file_name(name)
    if kind == "head":
        if parent.runtime_file is None:
            return None
        try:
            with_new_head(runtime_model_path(library, parent), onnx_head_weight(onnx_file), target)
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
    try:
        with replacing(target) as tmp:
            shutil.copyfile(onnx_file, tmp)
        runtime = make_runtime_copy(library, name=name, kind=kind, onnx_file=target, parent=parent)
        with library.transaction() as s:
            if averages_mirror(parent):  # a retrained version keeps its parent's recipe
                report = {**report, MIRROR_KEY: True}
            version = ModelVersion(name=name, kind=kind, file_name=target.name, sha256=sha256, parent_id=parent.id,
                                   active=False, report=report, runtime_file=runtime[0] if runtime else None,
                                   runtime_sha256=runtime[1] if runtime else None)
            s.add(version)
            s.flush()
            return version
    except BaseException:
        for path in (target, runtime_target):
            path.unlink(missing_ok=True)
        raise


def install(library: Library, parent: ModelVersion, kind: str, module: Any, report: dict[str, object],
            progress: Progress, weight: np.ndarray | None = None) -> ModelVersion:
    """Save ``module`` as a new version, re-embed every face under it, then swap it in. ``report`` is
    recorded with it. A head version (``kind`` "head": only its last layer, ``weight``, differs from
    ``parent``) needs no ``module``: see :func:`save_head_version`."""
    name = next_version_name(library, kind)
    progress.start("Saving the new model")
    if kind == "head":
        if weight is None:
            raise ValueError("a head version needs its weight")
        version = save_head_version(library, parent, name, weight, report)
    else:
        version = save_full_version(library, parent, name, kind, module, report)
    reembed(library, version, progress, weight)
    activate(library, version.id)
    return version


def save_head_version(library: Library, parent: ModelVersion, name: str, weight: np.ndarray,
                      report: dict[str, object]) -> ModelVersion:
    """Record a head version without torch: its ONNX file is the parent's with the new last layer (as its
    int8 copy is), and it keeps no checkpoint of its own (a deeper retraining starts from the parent's
    model with this head: :data:`HEAD_ON_PARENT`, see :func:`faceorg.retrain.candidate.start_module`).
    Importing torch and exporting the model took 4-5 s of the quick depth's 25 s on 5k labelled faces."""
    from faceorg.embed.quantize import with_new_head

    with work_folder(library) as tmp:
        onnx_tmp = Path(tmp) / "model.onnx"
        try:
            with_new_head(verified_model_path(library, parent), weight, onnx_tmp)
        except ValueError as exc:
            raise FaceorgError(f"cannot save embedder {name}: {exc}") from exc
        return register_version(library, name=name, kind="head", onnx_file=onnx_tmp, sha256=sha256_file(onnx_tmp),
                                parent=parent, report={**report, HEAD_ON_PARENT: True})


def save_full_version(library: Library, parent: ModelVersion, name: str, kind: str, module: Any,
                      report: dict[str, object]) -> ModelVersion:
    """Record ``module`` as a version: its checkpoint (for later fine-tuning) and its ONNX export."""
    from faceorg.train.model_io import save_version

    checkpoint = library_models_dir(library) / checkpoint_file_name(name)
    with work_folder(library) as tmp:
        onnx_tmp = Path(tmp) / "model.onnx"
        try:
            sha = save_version(module, onnx_tmp, checkpoint)
            version = register_version(library, name=name, kind=kind, onnx_file=onnx_tmp, sha256=sha, parent=parent,
                                       report={**report, "checkpoint_sha256": sha256_file(checkpoint)})
        except BaseException:
            checkpoint.unlink(missing_ok=True)
            raise
    return version


def reembed(library: Library, version: ModelVersion, progress: Progress | None = None,
            weight: np.ndarray | None = None) -> int:
    """Embed every face under ``version`` that it has no embedding for yet (see the two ways below)."""
    if version.kind == "head":
        return reembed_from_features(library, version, head_weight(library, version) if weight is None else weight,
                                     progress)
    return reembed_from_chips(library, version, progress)


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
                feats = np.frombuffer(b"".join(r[1] or b"" for r in rows), np.float32).reshape(len(rows), -1)
                vectors = l2_normalize(feats @ w.T).astype(np.float32)
                s.execute(table_of(Embedding).insert(), [
                    {"face_id": fid, "model_version_id": version.id, "vector": vectors[k].tobytes(), "features": None}
                    for k, (fid, _) in enumerate(rows)])
            count += len(todo)
        progress.advance(len(chunk))
    return count


def reembed_from_chips(library: Library, version: ModelVersion, progress: Progress | None = None,
                       batch: int = 256) -> int:
    """Embed every face's stored chip with the version's own ONNX model (after deeper retraining)."""
    progress = progress or Progress()
    embedder = library_embedder(library, runtime_model_path(library, version), averages_mirror(version))
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
            s.execute(table_of(Embedding).insert(), [
                {"face_id": f, "model_version_id": version.id, "vector": vectors[k].tobytes(),
                 "features": features[k].tobytes()} for k, f in enumerate(part)])
        progress.advance(len(part))
    return len(todo)


def use_version(library: Library, name: str, progress: Progress | None = None) -> ChangeSet:
    """Switch the library to another embedder version (roll back or forward) and group only the faces no
    grouping has seen: every other face stays where it is, unsorted ones included (a full regrouping under
    a model with another distance scale moved 421 of a finished library's 4,711 faces; see
    :func:`faceorg.people.clustering.recluster`, ``model_changed``)."""
    from faceorg.people.clustering import recluster

    version = find_version(library, name)
    if version.active:
        return ChangeSet(label=f"Use {name}")
    verified_model_path(library, version)
    runtime_model_path(library, version)
    reembed(library, version, progress)
    activate(library, version.id)
    cs = recluster(library, progress, model_changed=True)
    cs.label = f"Use embedder {name}"
    return cs


def previous_version(library: Library) -> ModelVersion:
    """The version the active one was trained from; FaceorgError when the library uses its first model."""
    with library.session() as s:
        active = s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()
        if active is None:
            raise FaceorgError("no faces have been analysed yet: scan a folder first")
        parent = s.get(ModelVersion, active.parent_id) if active.parent_id is not None else None
        if parent is None:
            raise FaceorgError(f"the library uses its first model ({active.name}): there is no previous one "
                               "to go back to")
        s.expunge(parent)
        return parent


def go_back(library: Library, progress: Progress | None = None) -> ChangeSet:
    """Go back to the previous model (see :func:`use_version`: what the user decided never changes)."""
    previous = previous_version(library)
    cs = use_version(library, previous.name, progress)
    cs.label = f"Go back to the previous model ({previous.name})"
    return cs


def mirror_version_name(active: ModelVersion) -> str:
    return f"{active.name}-mirror"


def use_mirror_average(library: Library, progress: Progress | None = None) -> ChangeSet:
    """Move a library made before the mirror-averaging recipe to it: a new version of the active model
    (same files) whose recipe averages each face with its mirror image, every face re-embedded from its
    stored chip, then switched to like :func:`use_version` (what the user decided never changes; going back
    to the previous model undoes it). Nothing happens when the active version already uses the recipe."""
    active = active_version(library)
    if active is None:
        raise FaceorgError("no faces have been analysed yet: scan a folder first")
    if averages_mirror(active):
        return ChangeSet(label=f"{active.name} already averages each face with its mirror image")
    if active.kind == "head":
        raise FaceorgError(f"the active model {active.name} was retrained from stored features: go back to the "
                           "model it came from (`faceorg models back`) first, then retrain after the change")
    name = mirror_version_name(active)
    with library.transaction() as s:
        if s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first() is None:
            s.add(ModelVersion(
                name=name, kind=active.kind, file_name=active.file_name, sha256=active.sha256, parent_id=active.id,
                active=False, runtime_file=active.runtime_file, runtime_sha256=active.runtime_sha256,
                report={**(active.report or {}), MIRROR_KEY: True,
                        "description": f"{active.name}, each face averaged with its mirror image"}))
    cs = use_version(library, name, progress)
    cs.label = "Average each face with its mirror image"
    return cs
