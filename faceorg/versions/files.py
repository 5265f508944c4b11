"""A library's embedder files: where they live, checked against their recorded SHA-256 before use.

The base version's files come from the installed model folder (checked against the code's registry
and, for the library's own copy, the hash the database recorded); retrained versions live in the
library's model folder, ``<database>.models/``, and every file name a version records must name a file
directly inside that folder. Interrupted saves leave temporary files there (a kill during a training
save, a full disk while copying): those of faceorg's own naming that nobody has touched for
``STALE_SECONDS`` are removed the first time a process uses the folder.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path, PurePosixPath, PureWindowsPath

from faceorg.errors import FaceorgError
from faceorg.files import replacing, sha256_file
from faceorg.paths import models_dir
from faceorg.store.db import Library
from faceorg.store.model_files import fetch_model_file, share_model_file
from faceorg.store.models import ModelVersion

log = logging.getLogger(__name__)

STALE_SECONDS = 600.0  # a temporary file untouched this long belongs to no running save
WORK_PREFIX = ".faceorg-work-"  # temporary folders of a save or a check inside the model folder
# faceorg's own temporary names: faceorg.files.temp_sibling's ".<name>.<12 hex>.tmp", a copy's
# "<name>.partial", older versions' "<name>.onnx.tmp", and work folders (``tempfile``'s "tmp" + 8 before).
_STALE_FILE = re.compile(r"^(\..+\.[0-9a-f]{12}\.tmp|.+\.partial|.+\.onnx\.tmp)$")
_STALE_FOLDER = re.compile(rf"^({re.escape(WORK_PREFIX)}.+|tmp[a-z0-9_]{{8}})$")
_cleaned: set[Path] = set()


def library_models_dir(library: Library) -> Path:
    """Where this library's embedder files live (retrained versions, int8 copies): ``<database>.models/``.
    The first call in a process removes leftovers of interrupted saves (see the module docstring)."""
    path = library.path.with_name(library.path.name + ".models")
    path.mkdir(parents=True, exist_ok=True)
    if path not in _cleaned:
        _cleaned.add(path)
        remove_stale_temporaries(path)
    return path


def _newest_mtime(path: Path) -> float:
    stamps = [path.lstat().st_mtime]
    if path.is_dir() and not path.is_symlink():
        stamps += [p.lstat().st_mtime for p in path.rglob("*")]
    return max(stamps)


def remove_stale_temporaries(folder: Path, *, older_than: float = STALE_SECONDS) -> list[str]:
    """Remove faceorg's temporary files and work folders in ``folder`` untouched for ``older_than``
    seconds (their newest content included); return their names. Each removal is logged."""
    removed = []
    now = time.time()
    for entry in sorted(folder.iterdir()):
        pattern = _STALE_FOLDER if entry.is_dir() and not entry.is_symlink() else _STALE_FILE
        if not pattern.match(entry.name):
            continue
        try:
            if now - _newest_mtime(entry) < older_than:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            log.warning("could not remove the leftover %s: %s", entry, exc)
            continue
        removed.append(entry.name)
    if removed:
        log.warning("removed %d leftover temporary model file(s) of an interrupted save from %s: %s",
                    len(removed), folder, ", ".join(removed))
    return removed


def inside(folder: Path, name: str, version: ModelVersion) -> Path:
    """``folder / name``, refusing a recorded name that is not a plain file name in that folder (an
    absolute path, a parent reference, a subfolder): a version's files stay inside its folder."""
    plain = bool(name) and name not in (".", "..") and all(
        len(p.parts) == 1 and not p.is_absolute() for p in (PurePosixPath(name), PureWindowsPath(name)))
    if not plain:
        raise FaceorgError(f"embedder version {version.name} names a file outside its model folder ({name!r}); "
                           "refusing to use it")
    return folder / name


def _folder(library: Library, version: ModelVersion) -> Path:
    return models_dir() if version.kind == "base" else library_models_dir(library)


def model_path(library: Library, version: ModelVersion) -> Path:
    """The float32 ONNX file of an embedder version (the model of record: training starts from it)."""
    return inside(_folder(library, version), version.file_name, version)


def checked(path: Path, expected: str | None, version: ModelVersion, library: Library | None = None) -> Path:
    """``path`` when it exists and its SHA-256 is ``expected``; else a clear FaceorgError. A server
    library's retrained files are fetched from its database when missing here, and stored there when
    it lacks them (another computer may use the library: faceorg.store.model_files)."""
    shared = library is not None and library.is_server and version.kind != "base" and expected is not None
    if shared and (not path.is_file() or sha256_file(path) != expected):
        assert library is not None and expected is not None
        fetch_model_file(library, path, expected)
    if not path.is_file():
        raise FaceorgError(f"embedder version {version.name} is missing its file {path}")
    if sha256_file(path) != expected:
        raise FaceorgError(f"embedder version {version.name}: {path} does not match its recorded SHA-256; "
                           "refusing to use it")
    if shared:
        assert library is not None and expected is not None
        share_model_file(library, path, expected)
    return path


def verified_model_path(library: Library, version: ModelVersion) -> Path:
    """The version's file, checked against its recorded SHA-256."""
    from faceorg.weights.fetch import require_model

    path = model_path(library, version)  # a name outside the folder is refused first
    if version.kind == "base":
        try:
            require_model(version.file_name)  # says how to install it when missing
        except ValueError as exc:  # not a file faceorg installs
            raise FaceorgError(f"embedder version {version.name}: {exc}") from exc
    return checked(path, version.sha256, version, library)


def library_copy(library: Library, source: Path) -> Path:
    """Copy a model file into the library's model folder (atomically, unless already there)."""
    target = library_models_dir(library) / source.name
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        with replacing(target) as tmp:
            shutil.copyfile(source, tmp)
    return target


def _restore_base_copy(library: Library, version: ModelVersion) -> None:
    """Copy the base model's int8 file into the library's folder again (say the database was copied
    without its ``.models`` folder), but only if the installed one is the very file it recorded."""
    from faceorg.weights.fetch import require_model

    assert version.runtime_file is not None
    installed = require_model(version.runtime_file)
    if sha256_file(installed) == version.runtime_sha256:
        library_copy(library, installed)


def runtime_model_path(library: Library, version: ModelVersion) -> Path:
    """The file that computes the version's embeddings (its int8 copy in the library's model folder, if
    it has one), SHA-256 checked."""
    if version.runtime_file is None:
        return verified_model_path(library, version)
    path = inside(library_models_dir(library), version.runtime_file, version)
    if not path.is_file() and version.kind == "base":
        _restore_base_copy(library, version)
    return checked(path, version.runtime_sha256, version, library)


def checkpoint_file_name(name: str) -> str:
    return f"embedder-{name}.pt"


def verified_checkpoint(library: Library, version: ModelVersion) -> Path | None:
    """The torch checkpoint a deeper retraining starts from (None for the base version, which starts
    from dlib's file): checked against the SHA-256 recorded with the version. A version recorded before
    checkpoints had their hash kept is used as it is."""
    if version.kind == "base":
        return None
    path = inside(library_models_dir(library), checkpoint_file_name(version.name), version)
    expected = (version.report or {}).get("checkpoint_sha256")
    if expected is None:
        if not path.is_file():
            raise FaceorgError(f"embedder version {version.name} is missing its file {path}")
        log.warning("embedder version %s has no recorded checkpoint hash; using %s unchecked", version.name, path)
        return path
    return checked(path, str(expected), version, library)
