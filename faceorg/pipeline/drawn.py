"""A face the user drew: its landmarks from the detector run on the box's region (with a relaxed threshold)
when it finds a face there, else from the box alone; then aligned and embedded like any detected face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceorg.detect.align import align_chip, chip_inside
from faceorg.detect.nms import nms
from faceorg.detect.quality import face_quality, sharpness, visible_share
from faceorg.detect.retinaface import RetinaFaceDetector, face_sizes
from faceorg.embed.embedder import Embedder
from faceorg.imaging.decode import WorkingImage
from faceorg.pipeline.analysis import AnalyzedFace
from faceorg.pipeline.analyzer import encode_chip

Box = tuple[float, float, float, float]  # x, y, width, height

# Where RetinaFace puts the five points inside its own box (fractions of the box's width and height; left
# eye, right eye, nose, mouth left, mouth right), measured on 100 LFW faces (mean, made left-right symmetric;
# spread about 0.09 across and 0.03 down).
BOX_LANDMARKS = np.array([[0.27, 0.39], [0.73, 0.39], [0.50, 0.58], [0.31, 0.745], [0.69, 0.745]])
DRAWN_SCORE = 1.0  # the score stored for a face the user drew: the user is sure it is a face
RELAXED_THRESHOLD = 0.3  # detector score enough on the drawn region (the scanner's default is 0.8)
REGION_MARGIN = 0.5  # the region searched: the box grown by this fraction of its size on every side
REGION_FACE_SIDE = 96.0  # the box is scaled to about this many network pixels (RetinaFace is surest at 32-400)
MIN_IOU = 0.3  # a detection overlapping the box at least this much is the drawn face


@dataclass(frozen=True)
class DrawnFace:
    """The analysed drawn face (box and landmarks in full-size upright pixels) and where its landmarks came
    from: the detector (with its score) or the box alone."""

    face: AnalyzedFace
    detected: bool
    detector_score: float | None


def landmarks_from_box(box: Box) -> np.ndarray:
    """The five points where a face filling ``box`` has them, as RetinaFace boxes hold them (5, 2)."""
    x, y, w, h = box
    return np.asarray(BOX_LANDMARKS * [w, h] + [x, y], np.float64)


def _iou(a: Box, b: np.ndarray) -> np.ndarray:
    """IoU of box ``a`` (x, y, w, h) with each of the x1, y1, x2, y2 boxes ``b``."""
    x1, y1, x2, y2 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    iw = np.clip(np.minimum(x2, b[:, 2]) - np.maximum(x1, b[:, 0]), 0, None)
    ih = np.clip(np.minimum(y2, b[:, 3]) - np.maximum(y1, b[:, 1]), 0, None)
    inter = iw * ih
    union = a[2] * a[3] + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.asarray(inter / np.maximum(union, 1e-9))


def detect_in_box(detector: RetinaFaceDetector, pixels: np.ndarray, box: Box) -> tuple[np.ndarray, float] | None:
    """The landmarks (5, 2) and score of the face the detector finds on ``box`` (pixels of ``pixels``),
    searching the box's grown region at a relaxed threshold; None when no detection overlaps the box."""
    height, width = pixels.shape[:2]
    x, y, w, h = box
    mx, my = w * REGION_MARGIN, h * REGION_MARGIN
    left, top = int(max(0, np.floor(x - mx))), int(max(0, np.floor(y - my)))
    right, bottom = int(min(width, np.ceil(x + w + mx))), int(min(height, np.ceil(y + h + my)))
    if right - left < 2 or bottom - top < 2:
        return None
    region = np.ascontiguousarray(pixels[top:bottom, left:right])
    scale = REGION_FACE_SIDE / max(1.0, float(np.sqrt(w * h)))
    scale = min(scale, detector.max_side / max(region.shape[:2]))
    found = detector.run_at_scale(region, scale, RELAXED_THRESHOLD)
    if not len(found.scores):
        return None
    found = found.select(nms(found.boxes, found.scores, detector.nms_iou))
    local: Box = (x - left, y - top, w, h)
    overlap = _iou(local, found.boxes)
    # Among the detections on the drawn face, the one that fits the box best (not a neighbour's face).
    best = int(np.argmax(overlap))
    if overlap[best] < MIN_IOU or face_sizes(found.boxes[best:best + 1])[0] <= 0:
        return None
    marks = np.asarray(found.landmarks[best], np.float64) + [left, top]
    return marks, float(found.scores[best])


def analyze_drawn_box(detector: RetinaFaceDetector, embedder: Embedder, image: WorkingImage, box: Box,
                      working_side: int) -> DrawnFace:
    """Align and embed the face the user drew at ``box`` (full-size upright pixels of ``image``'s photo).

    ``working_side``: the long side the scanner analyses photos at (quality is measured at that size, as
    for detected faces).
    """
    s = image.scale  # full-size pixels per pixel of ``image``
    local: Box = (box[0] / s, box[1] / s, box[2] / s, box[3] / s)
    hit = detect_in_box(detector, image.pixels, local)
    marks = hit[0] if hit is not None else landmarks_from_box(local)
    chip = align_chip(image.pixels, marks)
    vectors, features = embedder.embed(chip[None])
    height, width = image.pixels.shape[:2]
    inside = chip_inside(marks, width, height, chip.shape[0])
    sharp = sharpness(chip, inside)
    # Quality as the scanner measures it: the box in pixels of the photo at the working size.
    analysed = max(1.0, max(image.info.width, image.info.height) / working_side)
    face = AnalyzedFace(
        box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
        landmarks=tuple(float(v) * s for v in marks.reshape(-1)),
        score=DRAWN_SCORE,
        sharpness=float(sharp),
        quality=float(face_quality(box[2] / analysed, box[3] / analysed, DRAWN_SCORE, sharp,
                                     visible_share(inside))),
        chip=encode_chip(chip),
        vector=vectors[0],
        features=features[0],
    )
    return DrawnFace(face, hit is not None, hit[1] if hit is not None else None)
