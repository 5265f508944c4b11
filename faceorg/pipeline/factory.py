"""Build the face analyser for a library (models, settings)."""

from __future__ import annotations

from faceorg.scan.analysis import FaceAnalyzer
from faceorg.store.db import Library


def analyzer_for_library(library: Library) -> FaceAnalyzer:
    """The face analyser configured by the library's settings; raises ModelsMissingError without models."""
    from faceorg.errors import ModelsMissingError

    raise ModelsMissingError("face analysis is not available yet")
