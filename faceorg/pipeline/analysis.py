"""What the scanner hands to face analysis and gets back (plain data, safe across threads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from faceorg.imaging.decode import WorkingImage


@dataclass(frozen=True)
class AnalyzedFace:
    """One face found in a photo, ready to store. Coordinates are pixels of the full-size upright photo."""

    box: tuple[float, float, float, float]  # x, y, width, height
    landmarks: tuple[float, ...]  # x0, y0, ..., x4, y4
    score: float
    sharpness: float
    quality: float
    chip: bytes  # encoded 150x150 aligned chip
    vector: np.ndarray  # float32[128], L2-normalised
    features: np.ndarray  # float32[256]


class FaceAnalyzer(Protocol):
    """Detects, aligns and embeds the faces of decoded photos, in batches."""

    @property
    def key(self) -> str:
        """Fingerprint of the detector settings and model: photos analysed with another key are redone."""

    @property
    def working_side(self) -> int:
        """Long side, in pixels, the photos should be decoded to for analysis."""

    @property
    def model_version_id(self) -> int:
        """The embedder version the vectors belong to."""

    def analyze(self, images: list[WorkingImage]) -> list[list[AnalyzedFace]]:
        """The faces of each image, in order."""
