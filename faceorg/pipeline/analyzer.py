"""Detect, align and embed the faces of decoded photos: the scanner's face analyser."""

from __future__ import annotations

import io
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from faceorg.detect.align import align_chip, chip_inside
from faceorg.detect.quality import face_quality, sharpness, visible_share
from faceorg.detect.retinaface import Detection, RetinaFaceDetector
from faceorg.embed.embedder import Embedder
from faceorg.files import bytes_sha256
from faceorg.imaging.decode import WorkingImage
from faceorg.pipeline.analysis import AnalyzedFace

if TYPE_CHECKING:
    from faceorg.pipeline.drawn import DrawnFace

CHIP_JPEG_QUALITY = 92


def encode_chip(chip: np.ndarray) -> bytes:
    """A chip as JPEG bytes (about 7 KB)."""
    out = io.BytesIO()
    Image.fromarray(chip).save(out, "JPEG", quality=CHIP_JPEG_QUALITY)
    return out.getvalue()


def decode_chip(data: bytes) -> np.ndarray:
    """JPEG/PNG chip bytes back to uint8 RGB."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class DetectionSettings:
    """What decides which faces are found; part of the analyser's key."""

    working_side: int
    score_threshold: float
    min_face_size: int  # pixels of the working image
    detector_sha256: str

    def key(self) -> str:
        text = (f"retinaface:{self.detector_sha256[:16]}:{self.working_side}:{self.score_threshold:.3f}:"
                f"{self.min_face_size}")
        return bytes_sha256(text.encode())[:24]


class OnnxFaceAnalyzer:
    """RetinaFace detection, 5-point alignment to 150x150 chips and the ONNX embedder, batched.

    Thread-safe: calls are serialised (the sessions use all cores themselves).
    """

    def __init__(
        self, detector: RetinaFaceDetector, embedder: Embedder, settings: DetectionSettings, model_version_id: int
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.settings = settings
        self._model_version_id = model_version_id
        self._lock = threading.Lock()
        self._key = settings.key()
        self.timings: dict[str, float] = defaultdict(float)  # seconds spent per stage, accumulated

    @property
    def key(self) -> str:
        return self._key

    @property
    def working_side(self) -> int:
        return self.settings.working_side

    @property
    def model_version_id(self) -> int:
        return self._model_version_id

    def analyze(self, images: list[WorkingImage]) -> list[list[AnalyzedFace]]:
        with self._lock:
            t0 = time.perf_counter()
            detections = [self.detector.detect(img.pixels) for img in images]
            t1 = time.perf_counter()
            chips, owners = [], []
            for i, (img, found) in enumerate(zip(images, detections)):
                for det in found:
                    chips.append(align_chip(img.pixels, det.landmarks))
                    owners.append((i, det))
            t2 = time.perf_counter()
            vectors, features = self.embedder.embed(np.stack(chips)) if chips else (None, None)
            t3 = time.perf_counter()
            result: list[list[AnalyzedFace]] = [[] for _ in images]
            for k, (i, det) in enumerate(owners):
                assert vectors is not None and features is not None
                result[i].append(self._face(images[i], det, chips[k], vectors[k], features[k]))
            t4 = time.perf_counter()
            for stage, seconds in (
                ("detect", t1 - t0),
                ("align", t2 - t1),
                ("embed", t3 - t2),
                ("quality+encode", t4 - t3),
            ):
                self.timings[stage] += seconds
        return result

    def analyze_drawn(self, image: WorkingImage, box: tuple[float, float, float, float]) -> DrawnFace:
        """The face the user drew at ``box`` (pixels of the full-size upright photo) in ``image``, aligned
        and embedded (see :mod:`faceorg.pipeline.drawn`)."""
        from faceorg.pipeline.drawn import analyze_drawn_box

        with self._lock:
            return analyze_drawn_box(self.detector, self.embedder, image, box, self.settings.working_side)

    def _face(
        self, image: WorkingImage, det: Detection, chip: np.ndarray, vector: np.ndarray, features: np.ndarray
    ) -> AnalyzedFace:
        s = image.scale  # working-image pixels -> full-size upright photo pixels
        x, y, w, h = det.box
        height, width = image.pixels.shape[:2]
        inside = chip_inside(det.landmarks, width, height, chip.shape[0])
        sharp = sharpness(chip, inside)
        return AnalyzedFace(
            box=(x * s, y * s, w * s, h * s),
            landmarks=tuple(float(v) * s for v in np.asarray(det.landmarks).reshape(-1)),
            score=float(det.score),
            sharpness=float(sharp),
            quality=float(face_quality(w, h, det.score, sharp, visible_share(inside))),
            chip=encode_chip(chip),
            vector=vector,
            features=features,
        )
