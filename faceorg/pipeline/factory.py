"""Build the face models and the face analyser from settings and the installed models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from faceorg.settings import Settings, load_settings
from faceorg.store.db import Library

if TYPE_CHECKING:
    from faceorg.detect.retinaface import RetinaFaceDetector
    from faceorg.embed.embedder import Embedder
    from faceorg.pipeline.analyzer import DetectionSettings, OnnxFaceAnalyzer

# Photos are analysed at this long side (pixels); smaller photos are upscaled by the detector.
WORKING_SIDE = 1024


def detection_settings(settings: Settings, detector_sha256: str) -> DetectionSettings:
    from faceorg.pipeline.analyzer import DetectionSettings

    return DetectionSettings(working_side=WORKING_SIDE, score_threshold=settings.score_threshold,
                             min_face_size=settings.min_face_size, detector_sha256=detector_sha256)


def build_detector(settings: Settings) -> tuple[RetinaFaceDetector, DetectionSettings]:
    """The RetinaFace detector as the settings configure it; raises ModelsMissingError without the model."""
    from faceorg.detect.retinaface import RetinaFaceDetector
    from faceorg.files import sha256_file
    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import DETECTOR_FILE

    path = require_model(DETECTOR_FILE)
    det = detection_settings(settings, sha256_file(path))
    detector = RetinaFaceDetector(path, use_gpu=settings.use_gpu, threads=settings.threads or None,
                                  score_threshold=det.score_threshold, min_face_size=det.min_face_size,
                                  working_size=det.working_side)
    return detector, det


def build_embedder(settings: Settings, model_path: Path | None = None, *, float32: bool = False,
                   mirror: bool = False) -> Embedder:
    """The embedder at ``model_path`` (default: the installed base model's int8 copy, or with
    ``float32`` the float32 model itself); ``mirror``: average each face with its mirror image."""
    from faceorg.embed.embedder import Embedder
    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE

    default = BASE_EMBEDDER_FILE if float32 else BASE_EMBEDDER_INT8_FILE
    return Embedder(model_path or require_model(default), use_gpu=settings.use_gpu, threads=settings.threads or None,
                    mirror=mirror)


def analyzer_for_library(library: Library) -> OnnxFaceAnalyzer:
    """The face analyser configured by the library's settings; raises ModelsMissingError without models."""
    from faceorg.pipeline.analyzer import OnnxFaceAnalyzer
    from faceorg.versions import ensure_base_version, runtime_model_path
    from faceorg.versions.records import averages_mirror

    settings = load_settings(library)
    detector, det = build_detector(settings)
    version = ensure_base_version(library)
    embedder = build_embedder(settings, runtime_model_path(library, version), mirror=averages_mirror(version))
    return OnnxFaceAnalyzer(detector, embedder, det, version.id)
