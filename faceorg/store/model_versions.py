"""Embedder versions in the library: the base model from the model folder, retrained ones beside the database."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from faceorg.errors import FaceorgError
from faceorg.files import replacing, sha256_file
from faceorg.paths import models_dir
from faceorg.store.db import Library
from faceorg.store.models import ModelVersion
from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE, BASE_EMBEDDER_VERSION


def library_models_dir(library: Library) -> Path:
    """Where this library's embedder files live (retrained versions, int8 copies): ``<database>.models/``."""
    path = library.path.with_name(library.path.name + ".models")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _folder(library: Library, version: ModelVersion) -> Path:
    return models_dir() if version.kind == "base" else library_models_dir(library)


def model_path(library: Library, version: ModelVersion) -> Path:
    """The float32 ONNX file of an embedder version (the model of record: training starts from it)."""
    return _folder(library, version) / version.file_name


def _library_copy(library: Library, source: Path) -> Path:
    """Copy a model file into the library's model folder (atomically, unless already there)."""
    target = library_models_dir(library) / source.name
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        with replacing(target) as partial:
            shutil.copyfile(source, partial)
    return target


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
            runtime = _library_copy(library, require_model(BASE_EMBEDDER_INT8_FILE))
            base = ModelVersion(name=BASE_EMBEDDER_VERSION, kind="base", file_name=BASE_EMBEDDER_FILE,
                                sha256=sha256_file(path), active=True, runtime_file=runtime.name,
                                runtime_sha256=sha256_file(runtime),
                                report={"description": "dlib ResNet face recognition model, converted; runs as int8"})
            s.add(base)
        base.active = True
        s.flush()
        return base


def active_version(library: Library) -> ModelVersion | None:
    with library.session() as s:
        return s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()


def verified_model_path(library: Library, version: ModelVersion) -> Path:
    """The version's file, checked against its recorded SHA-256."""
    from faceorg.weights.fetch import require_model

    if version.kind == "base":
        require_model(version.file_name)  # says how to install it when missing
    path = model_path(library, version)
    if not path.is_file():
        raise FaceorgError(f"embedder version {version.name} is missing its file {path}")
    if sha256_file(path) != version.sha256:
        raise FaceorgError(f"embedder version {version.name}: {path} does not match its recorded SHA-256")
    return path


def _restore_base_copy(library: Library, version: ModelVersion) -> None:
    """Copy the base model's int8 file into the library's folder again (say the database was copied
    without its ``.models`` folder), but only if the installed one is the very file it recorded."""
    from faceorg.weights.fetch import require_model

    assert version.runtime_file is not None
    installed = require_model(version.runtime_file)
    if sha256_file(installed) == version.runtime_sha256:
        _library_copy(library, installed)


def runtime_model_path(library: Library, version: ModelVersion) -> Path:
    """The file that computes the version's embeddings (its int8 copy in the library's model folder, if
    it has one), SHA-256 checked."""
    if version.runtime_file is None:
        return verified_model_path(library, version)
    path = library_models_dir(library) / version.runtime_file
    if not path.is_file() and version.kind == "base":
        _restore_base_copy(library, version)
    if not path.is_file():
        raise FaceorgError(f"embedder version {version.name} is missing its file {path}")
    if sha256_file(path) != version.runtime_sha256:
        raise FaceorgError(f"embedder version {version.name}: {path} does not match its recorded SHA-256")
    return path
