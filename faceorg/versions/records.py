"""Embedder versions in the database: the active one, the base one, names, the atomic swap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from faceorg.errors import FaceorgError
from faceorg.files import sha256_file
from faceorg.store.db import Library
from faceorg.store.models import Embedding, Face, FaceChip, ModelVersion
from faceorg.versions.files import library_copy, verified_model_path
from faceorg.weights.registry import (
    BASE_EMBEDDER_FILE,
    BASE_EMBEDDER_INT8_FILE,
    BASE_EMBEDDER_VERSION,
)

# A version whose report holds this key (true) embeds every chip with its mirror image averaged
# (``Embedder(mirror=True)``); versions made before that recipe existed do not, and keep working as they were.
MIRROR_KEY = "mirror_average"


def averages_mirror(version: ModelVersion | None) -> bool:
    """Does this version's recipe average each chip's embedding with its mirror image's?"""
    return bool(((version.report if version is not None else None) or {}).get(MIRROR_KEY, False))


def active_version(library: Library) -> ModelVersion | None:
    with library.session() as s:
        return s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()


def ensure_base_version(library: Library) -> ModelVersion:
    """The active embedder version, registering the installed base model as active when there is none.

    A library registering the base model runs its int8 copy, copied into the library's model folder (so a
    later ``models fetch`` that makes a different copy cannot change what this library's faces were
    embedded with); a base version registered before int8 copies existed keeps running the float32 file.
    Raises ModelsMissingError (via require_model) when the base model is not installed.
    """
    from faceorg.weights.fetch import require_model

    with library.transaction() as s:
        active = s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()
        if active is not None:
            return active
        base = s.scalars(select(ModelVersion).where(ModelVersion.name == BASE_EMBEDDER_VERSION)).first()
        if base is None:
            path = require_model(BASE_EMBEDDER_FILE)
            runtime = library_copy(library, require_model(BASE_EMBEDDER_INT8_FILE))
            base = ModelVersion(name=BASE_EMBEDDER_VERSION, kind="base", file_name=BASE_EMBEDDER_FILE,
                                sha256=sha256_file(path), active=True, runtime_file=runtime.name,
                                runtime_sha256=sha256_file(runtime),
                                report={"description": "dlib ResNet face recognition model, converted; runs as int8, "
                                                       "each face averaged with its mirror image", MIRROR_KEY: True})
            s.add(base)
        base.active = True
        s.flush()
        return base


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


def find_version(library: Library, name: str) -> ModelVersion:
    """The version called ``name``; FaceorgError listing the versions when there is none."""
    with library.session() as s:
        version = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()
        names = list(s.scalars(select(ModelVersion.name).order_by(ModelVersion.id)))
    if version is None:
        raise FaceorgError(f"no embedder version named {name} (versions: {', '.join(names) or 'none'})")
    return version


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
            raise FaceorgError(
                f"embedder version {version.name} is missing {missing} embeddings; it cannot be used yet"
            )
        for other in s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))):
            other.active = False
        version.active = True


def onnx_head_weight(path: Path) -> np.ndarray:
    """The last layer's weight [128, 256] of an embedder ONNX file (its only 128 x 256 tensor)."""
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(path)).graph.initializer:
        if tuple(init.dims) in ((128, 256), (256, 128)):
            array = numpy_helper.to_array(init)
            return array if array.shape == (128, 256) else array.T
    raise FaceorgError(f"{path.name}: cannot find the last layer")


def head_weight(library: Library, version: ModelVersion) -> np.ndarray:
    """The last layer's weight [128, 256] of a version, read from its ONNX file (no torch needed)."""
    return onnx_head_weight(verified_model_path(library, version))
