"""Which detected face is a photo's subject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from faceorg.detect.retinaface import Detection

D = TypeVar("D", bound=Detection)


def central_face(detections: Sequence[D], width: int, height: int) -> D | None:
    """The detection whose box centre is nearest the image centre (None when there is none)."""
    if not detections:
        return None
    cx, cy = width / 2, height / 2
    return min(detections, key=lambda d: (d.box[0] + d.box[2] / 2 - cx) ** 2 + (d.box[1] + d.box[3] / 2 - cy) ** 2)
