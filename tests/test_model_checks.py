"""Every model file is checked before use, versions stay inside their folder, and leftovers of an
interrupted save are cleaned up when the library's models are next used."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from faceorg.errors import FaceorgError, ModelsMissingError
from faceorg.files import sha256_file, temp_sibling
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.progress import Progress
from faceorg.store import Library, open_library
from faceorg.store.models import ModelVersion
from faceorg.versions import files as version_files
from faceorg.versions.files import (
    library_models_dir,
    runtime_model_path,
    verified_model_path,
)
from faceorg.versions.records import active_version, head_weight
from faceorg.weights.registry import DLIB_RESNET_FILE
from tests.lfwlib import scanned_lfw_library

PEOPLE = ["Colin_Powell", "Tony_Blair"]


@pytest.fixture(scope="module")
def scanned(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small library of two LFW people, scanned and grouped."""
    return scanned_lfw_library(shared_data, tmp_path_factory.mktemp("checks"), PEOPLE, 4)


@pytest.fixture()
def library(scanned: Path, tmp_path: Path) -> Library:
    db = tmp_path / "lib.sqlite"
    shutil.copy(scanned, db)
    shutil.copytree(scanned.with_name(scanned.name + ".models"), db.with_name(db.name + ".models"))
    lib = open_library(db)
    yield lib
    lib.close()


def flip_a_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def tampered_models(models_dir: Path, tmp_path: Path, name: str) -> Path:
    """A copy of the installed model folder (links) in which ``name`` is a copy with one byte flipped."""
    folder = tmp_path / "models"
    folder.mkdir()
    for path in models_dir.iterdir():
        if path.is_file():
            if path.name == name:
                shutil.copy(path, folder / name)
                flip_a_byte(folder / name)
            else:
                (folder / path.name).symlink_to(path)
    return folder


def test_a_flipped_byte_in_dlibs_file_stops_retraining(library: Library, models_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from faceorg.retrain.candidate import start_module
    from faceorg.retrain.retrain import retrain

    monkeypatch.setenv("FACEORG_MODELS_DIR", str(tampered_models(models_dir, tmp_path, DLIB_RESNET_FILE)))
    base = active_version(library)
    with pytest.raises(ModelsMissingError, match=f"{DLIB_RESNET_FILE}.*SHA-256"):
        start_module(library, base)  # what a model to train or ship starts from
    with library.session() as s:
        assert s.scalars(select(ModelVersion.name)).all() == [base.name]  # nothing shipped
    started = time.perf_counter()
    with pytest.raises(ModelsMissingError, match=DLIB_RESNET_FILE):
        retrain(library, depth="quick")
    assert time.perf_counter() - started < 10  # refused before any training


def test_the_cli_refuses_to_train_from_a_damaged_dlib_file(library: Library, models_dir: Path,
                                                           tmp_path: Path) -> None:
    env = {**os.environ, "FACEORG_MODELS_DIR": str(tampered_models(models_dir, tmp_path, DLIB_RESNET_FILE)),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    library.close()
    done = subprocess.run([sys.executable, "-m", "faceorg", "--db", str(library.path), "train", "--depth", "quick"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert DLIB_RESNET_FILE in done.stderr and "SHA-256" in done.stderr


def test_a_flipped_byte_in_a_versions_files_is_refused(library: Library) -> None:
    base = active_version(library)
    runtime = runtime_model_path(library, base)
    assert runtime.parent == library_models_dir(library)
    flip_a_byte(runtime)
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        runtime_model_path(library, base)
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        analyzer_for_library(library)


def test_a_converted_embedder_is_checked_against_the_database_too(library: Library, models_dir: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The converted ONNX file damaged and its manifest entry rewritten to match: the manifest check
    passes, the hash the library recorded does not."""
    import json

    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, MANIFEST_FILE

    folder = tampered_models(models_dir, tmp_path, BASE_EMBEDDER_FILE)
    manifest = json.loads((models_dir / MANIFEST_FILE).read_text())
    manifest[BASE_EMBEDDER_FILE]["sha256"] = sha256_file(folder / BASE_EMBEDDER_FILE)
    (folder / MANIFEST_FILE).unlink()
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    monkeypatch.setenv("FACEORG_MODELS_DIR", str(folder))
    assert require_model(BASE_EMBEDDER_FILE) == folder / BASE_EMBEDDER_FILE  # fooled
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        verified_model_path(library, active_version(library))


@pytest.mark.parametrize("column", ["runtime_file", "file_name"])
@pytest.mark.parametrize("outside", ["absolute", "parent"])
def test_a_version_naming_a_file_outside_its_folder_is_refused(library: Library, tmp_path: Path, column: str,
                                                               outside: str) -> None:
    """A version row pointing at a real, hash-matching model file outside the library's model folder."""
    base = active_version(library)
    stray_folder = tmp_path / "elsewhere"
    stray_folder.mkdir()
    stray = stray_folder / "embedder.onnx"
    shutil.copy(runtime_model_path(library, base), stray)
    shutil.copy(stray, library_models_dir(library) / "embedder-v2-head.onnx")  # the other file is in place
    name = str(stray) if outside == "absolute" else os.path.relpath(stray, library_models_dir(library))
    with library.transaction() as s:
        s.add(ModelVersion(name="v2-head", kind="head", parent_id=base.id, active=False, report={},
                           file_name=name if column == "file_name" else "embedder-v2-head.onnx",
                           sha256=sha256_file(stray),
                           runtime_file=name if column == "runtime_file" else None,
                           runtime_sha256=sha256_file(stray) if column == "runtime_file" else None))
    with library.session() as s:
        version = s.scalars(select(ModelVersion).where(ModelVersion.name == "v2-head")).one()
    with pytest.raises(FaceorgError, match="outside its model folder"):
        runtime_model_path(library, version)
    from faceorg.retrain.install import use_version

    with pytest.raises(FaceorgError, match="outside its model folder"):
        use_version(library, "v2-head")
    assert active_version(library).name == base.name


def test_a_damaged_checkpoint_is_refused(library: Library) -> None:
    pytest.importorskip("torch")
    from faceorg.retrain.candidate import start_module
    from faceorg.retrain.retrain import RetrainReport, install_model

    base = active_version(library)
    report = RetrainReport("thorough", False, True, None, base.name, {}, {}, {}, [], 0.0)
    new = install_model(library, base, "full", report, Progress(), module=start_module(library, base))
    start_module(library, new)  # intact: loads
    checkpoint = library_models_dir(library) / f"embedder-{new.name}.pt"
    flip_a_byte(checkpoint, offset=checkpoint.stat().st_size - 4000)
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        start_module(library, new)


def test_a_head_version_starts_from_its_parent_with_its_own_checked_head(library: Library) -> None:
    """A head version keeps no checkpoint: a deeper retraining starts from its parent's model with its head,
    read from its own ONNX file, which is checked like every model file."""
    pytest.importorskip("torch")
    from faceorg.retrain.candidate import start_files, start_module
    from faceorg.retrain.retrain import RetrainReport, install_model
    from faceorg.train.model_io import head_of

    base = active_version(library)
    weight = head_weight(library, base) + np.float32(0.001)
    report = RetrainReport("quick", False, True, None, base.name, {}, {}, {}, [], 0.0)
    new = install_model(library, base, "head", report, Progress(), weight=weight)
    assert not (library_models_dir(library) / f"embedder-{new.name}.pt").exists()
    assert start_files(library, new) == start_files(library, base)
    module = start_module(library, new)
    np.testing.assert_array_equal(head_of(module), weight)
    parent = start_module(library, base)
    body = [k for k in parent.state_dict() if not k.startswith("fc.")]
    assert body and all(np.array_equal(module.state_dict()[k].numpy(), parent.state_dict()[k].numpy()) for k in body)
    flip_a_byte(verified_model_path(library, new))
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        start_module(library, new)


def test_installing_a_head_version_needs_no_torch(library: Library) -> None:
    """The quick depth ships a head without importing PyTorch (seconds of the background learning)."""
    library.close()
    script = ("import sys, numpy as np\n"
              "from faceorg.store import open_library\nfrom faceorg.progress import Progress\n"
              "from faceorg.versions.records import active_version, head_weight\n"
              "from faceorg.retrain.retrain import RetrainReport, install_model\n"
              "with open_library(sys.argv[1]) as lib:\n"
              "    base = active_version(lib)\n"
              "    report = RetrainReport('quick', False, True, None, base.name, {}, {}, {}, [], 0.0)\n"
              "    new = install_model(lib, base, 'head', report, Progress(), weight=head_weight(lib, base) * 2)\n"
              "    assert active_version(lib).name == new.name\n"
              "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, str(library.path)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_leftovers_of_an_interrupted_save_are_removed_when_the_library_is_next_used(library: Library) -> None:
    folder = library_models_dir(library)
    old = time.time() - 2 * version_files.STALE_SECONDS
    killed_save = temp_sibling(folder / "embedder-v2-full.pt")  # the name DlibResNet.save writes first
    killed_save.write_bytes(b"\0" * 4096)
    full_disk = folder / "embedder-dlib-v1.int8.onnx.partial"
    full_disk.write_bytes(b"\0" * 4096)
    work = folder / f"{version_files.WORK_PREFIX}abc123"
    work.mkdir()
    (work / "model.onnx").write_bytes(b"\0" * 4096)
    for path in (killed_save, full_disk, work / "model.onnx", work):
        os.utime(path, (old, old))
    being_written = temp_sibling(folder / "embedder-v3-full.pt")  # another process's save, still fresh
    being_written.write_bytes(b"\0")
    own_file = folder / "notes.partial.txt"
    own_file.write_bytes(b"mine")
    os.utime(own_file, (old, old))
    library.close()
    script = ("import sys; from faceorg.store import open_library; from faceorg.versions import active_version, "
              "runtime_model_path\nwith open_library(sys.argv[1]) as lib: runtime_model_path(lib, active_version(lib))")
    done = subprocess.run([sys.executable, "-c", script, str(library.path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    left = {p.name for p in folder.iterdir()}
    assert killed_save.name not in left and full_disk.name not in left and work.name not in left
    assert being_written.name in left and own_file.name in left
    assert "removed 3 leftover temporary model file(s)" in done.stderr
