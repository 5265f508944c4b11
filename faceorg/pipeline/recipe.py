"""A face analyser as plain data (model bytes, their SHA-256, detector options), to rebuild it in another
process or on another machine, with the models checked by SHA-256 as they are locally."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceorg.errors import FaceorgError
from faceorg.files import bytes_sha256, sha256_file, write_bytes_atomic
from faceorg.pipeline.analyzer import DetectionSettings, OnnxFaceAnalyzer

# The detector's constructor options that decide which faces are found (copied from the analyser's detector).
_DETECTOR_OPTIONS = ("score_threshold", "min_face_size", "nms_iou", "working_size", "max_upscale",
                     "detector_min_face", "max_side", "verify_above", "verify_size", "verify_threshold")


@dataclass(frozen=True)
class ModelBytes:
    """One model file: its name, content and the SHA-256 it must have."""

    name: str
    sha256: str
    data: bytes = field(repr=False)

    @classmethod
    def read(cls, path: Path) -> ModelBytes:
        data = path.read_bytes()
        return cls(path.name, bytes_sha256(data), data)

    def checked_path(self, folder: Path) -> Path:
        """The model as a file in ``folder`` (written once per content), SHA-256 checked."""
        if bytes_sha256(self.data) != self.sha256:
            raise FaceorgError(f"model {self.name} arrived damaged: its SHA-256 is not {self.sha256[:12]}…")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.sha256[:16]}-{self.name}"
        if not path.is_file() or sha256_file(path) != self.sha256:
            write_bytes_atomic(path, self.data)
        return path


@dataclass(frozen=True)
class AnalyzerRecipe:
    """What rebuilds an :class:`OnnxFaceAnalyzer` elsewhere: same models, same detector options, same key."""

    detector: ModelBytes
    embedder: ModelBytes
    detector_options: dict[str, Any]
    settings: DetectionSettings
    model_version_id: int
    use_gpu: bool = True
    mirror: bool = False  # the embedder averages each face with its mirror image


def recipe_of(analyzer: OnnxFaceAnalyzer, *, use_gpu: bool = True) -> AnalyzerRecipe:
    """The recipe of a local analyser (its model files are read and hashed here)."""
    det_path, emb_path = analyzer.detector.runtime.model_path, analyzer.embedder.runtime.model_path
    if det_path is None or emb_path is None:
        raise FaceorgError("this face analyser was not built from model files; it cannot be sent to workers")
    detector = ModelBytes.read(det_path)
    if detector.sha256 != analyzer.settings.detector_sha256:
        raise FaceorgError(f"the detector model {det_path} changed since it was loaded")
    return AnalyzerRecipe(detector=detector, embedder=ModelBytes.read(emb_path),
                          detector_options={k: getattr(analyzer.detector, k) for k in _DETECTOR_OPTIONS},
                          settings=analyzer.settings, model_version_id=analyzer.model_version_id, use_gpu=use_gpu,
                          mirror=analyzer.embedder.mirror)


def models_cache_dir() -> Path:
    """Where a worker keeps the model files it was sent (per user, in the temporary folder)."""
    path = Path(tempfile.gettempdir()) / f"faceorg-models-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_analyzer(recipe: AnalyzerRecipe, *, threads: int | None = None,
                   folder: Path | None = None) -> OnnxFaceAnalyzer:
    """The analyser a recipe describes, its models checked against the recipe's SHA-256."""
    from faceorg.detect.retinaface import RetinaFaceDetector
    from faceorg.embed.embedder import Embedder

    folder = folder or models_cache_dir()
    if recipe.detector.sha256 != recipe.settings.detector_sha256:
        raise FaceorgError("the detector model sent does not match the detection settings' SHA-256")
    detector = RetinaFaceDetector(recipe.detector.checked_path(folder), use_gpu=recipe.use_gpu, threads=threads,
                                  **recipe.detector_options)
    embedder = Embedder(recipe.embedder.checked_path(folder), use_gpu=recipe.use_gpu, threads=threads,
                        mirror=recipe.mirror)
    return OnnxFaceAnalyzer(detector, embedder, recipe.settings, recipe.model_version_id)
