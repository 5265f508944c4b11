"""RetinaFace (MobileNet-0.25) face detection on onnxruntime: pre-processing, passes, decoding, NMS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceorg.detect.nms import iou_matrix, nms
from faceorg.detect.priors import decode_boxes, decode_landmarks, prior_boxes
from faceorg.embed.runtime import RuntimeSession, create_session
from faceorg.errors import ModelsMissingError
from faceorg.paths import models_dir
from faceorg.weights.registry import DETECTOR_FILE

# Detected face sizes vary around the true size (measured on the annotated photos: 0.8x-1.1x), so the size
# filter keeps faces down to this fraction of ``min_face_size``.
SIZE_TOLERANCE = 0.9

# The biubug6 recipe: BGR input with these per-channel means subtracted, no scaling.
BGR_MEANS = np.array([104.0, 117.0, 123.0], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Detection:
    """One face: box (x, y, width, height) and landmarks (5, 2) in pixels of the given image.

    Landmarks are, in the image's left/right sense: left eye, right eye, nose, mouth left, mouth right.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Face size in pixels: the geometric mean of the box's width and height (see ``face_sizes``)."""
        return float(np.sqrt(self.box[2] * self.box[3]))


@dataclass(frozen=True)
class Candidates:
    """Raw detections of one or more passes: boxes x1, y1, x2, y2 (N, 4), scores (N,), landmarks (N, 5, 2)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    @staticmethod
    def empty() -> Candidates:
        return Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    @staticmethod
    def join(parts: list[Candidates]) -> Candidates:
        if not parts:
            return Candidates.empty()
        return Candidates(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                          np.concatenate([p.landmarks for p in parts]))

    def select(self, index: np.ndarray) -> Candidates:
        return Candidates(self.boxes[index], self.scores[index], self.landmarks[index])


def to_network_input(images: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) or (N, H, W, 3) -> float32 (N, 3, H, W) BGR with the recipe's means subtracted."""
    batch = images[None] if images.ndim == 3 else images
    out = np.empty((batch.shape[0], 3, batch.shape[1], batch.shape[2]), np.float32)
    for plane, channel in enumerate((2, 1, 0)):  # B, G, R planes, written one contiguous plane at a time
        np.subtract(batch[..., channel], BGR_MEANS[plane], out=out[:, plane], dtype=np.float32)
    return out


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an RGB uint8 array with Pillow (bilinear, antialiased when shrinking)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


def decode_outputs(loc: np.ndarray, conf: np.ndarray, landmarks: np.ndarray, height: int, width: int,
                   score_threshold: float) -> Candidates:
    """Decode one image's raw outputs (N, 4), (N, 2), (N, 10) above ``score_threshold`` (input pixels)."""
    scores = conf[:, 1]
    keep = np.flatnonzero(scores >= score_threshold)
    priors = prior_boxes(height, width)[keep]
    return Candidates(decode_boxes(loc[keep], priors).astype(np.float32), scores[keep].astype(np.float32),
                      decode_landmarks(landmarks[keep], priors).astype(np.float32))


def face_sizes(boxes: np.ndarray) -> np.ndarray:
    """Face size of x1, y1, x2, y2 boxes: the geometric mean of width and height.

    RetinaFace boxes are narrower and taller than the square boxes of dlib-style annotations
    (measured on the annotated photos: width x0.9, height x1.2); their geometric mean matches the
    annotated size.
    """
    return np.sqrt(np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None))


class RetinaFaceDetector:
    """Finds faces in upright RGB uint8 images with RetinaFace-MobileNet-0.25.

    Passes (all scales are network pixels per given-image pixel):

    1. Overview: the long side at ``working_size``; small images are scaled up, by at most
       ``max_upscale``.
    2. Small faces, only when the overview would see a ``min_face_size`` face below
       ``detector_min_face`` network pixels: the whole image again at the scale that brings it there
       (long side capped at ``max_side``). Only faces the overview sees below twice
       ``detector_min_face`` are taken from it.
    3. Verification of large faces: a candidate the network saw larger than ``verify_above`` pixels
       must be found again (IoU >= 0.3, score >= ``verify_threshold``) with the image scaled so that it
       measures ``verify_size`` pixels. Measured: real faces score >= 0.97 at 32-400 px, while animal
       faces that the model takes for faces at 200-400 px score below 0.2 at 48-96 px.

    Then greedy NMS at ``nms_iou`` and a size filter: faces below ``SIZE_TOLERANCE * min_face_size``
    given-image pixels (see ``face_sizes``) are dropped.
    """

    def __init__(self, model_path: Path | None = None, *, use_gpu: bool = True, threads: int | None = None,
                 score_threshold: float = 0.8, min_face_size: float = 20.0, nms_iou: float = 0.4,
                 working_size: int = 1024, max_upscale: float = 1.5, detector_min_face: float = 24.0,
                 max_side: int = 2048, verify_above: float = 128.0, verify_size: float = 80.0,
                 verify_threshold: float = 0.5, session: RuntimeSession | None = None) -> None:
        if session is None:
            if model_path is None:
                raise ValueError("RetinaFaceDetector needs a model_path or a session")
            session = create_session(Path(model_path), use_gpu=use_gpu, threads=threads)
        self.runtime = session
        self.score_threshold = score_threshold
        self.min_face_size = min_face_size
        self.nms_iou = nms_iou
        self.working_size = working_size
        self.max_upscale = max_upscale
        self.detector_min_face = detector_min_face
        self.max_side = max_side
        self.verify_above = verify_above
        self.verify_size = verify_size
        self.verify_threshold = verify_threshold

    # -- scales -------------------------------------------------------------------------------------

    def overview_scale(self, height: int, width: int) -> float:
        """Scale of the first pass: long side at ``working_size``, upscaling by at most ``max_upscale``."""
        return min(self.working_size / max(height, width), self.max_upscale)

    def small_face_scale(self, height: int, width: int) -> float | None:
        """Scale of the second pass for small faces, or None when the first pass already sees them well.

        It brings ``min_face_size`` to ``detector_min_face`` network pixels, with the long side capped
        at ``max_side``; it is skipped unless it is at least 1.25x the overview's scale.
        """
        first = self.overview_scale(height, width)
        second = min(self.detector_min_face / self.min_face_size, self.max_side / max(height, width))
        return second if second >= first * 1.25 else None

    # -- running ------------------------------------------------------------------------------------

    def run_at_scale(self, image: np.ndarray, scale: float, score_threshold: float | None = None) -> Candidates:
        """One network pass on ``image`` resized by ``scale``; candidates in given-image pixels."""
        height, width = image.shape[:2]
        net_w, net_h = max(1, round(width * scale)), max(1, round(height * scale))
        outputs = self.runtime.run({self.runtime.input_name: to_network_input(resize(image, net_w, net_h))})
        return self._to_image_pixels(outputs, 0, net_h, net_w, height, width, score_threshold)

    def _to_image_pixels(self, outputs: list[np.ndarray], index: int, net_h: int, net_w: int,
                         height: int, width: int, score_threshold: float | None) -> Candidates:
        loc, conf, marks = (output[index] for output in outputs)
        found = decode_outputs(loc, conf, marks, net_h, net_w,
                               self.score_threshold if score_threshold is None else score_threshold)
        sx, sy = width / net_w, height / net_h
        return Candidates(found.boxes * np.array([sx, sy, sx, sy], np.float32), found.scores,
                          found.landmarks * np.array([sx, sy], np.float32))

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an upright RGB uint8 (H, W, 3) image, best score first."""
        image = _as_rgb(image)
        overview = self.run_at_scale(image, self.overview_scale(*image.shape[:2]))
        return self._complete(image, overview)

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """``detect`` for several images; overview passes of equally sized images share one network run.

        Worth it on a GPU; on a CPU it is about as fast as one image at a time. The caller chooses the
        batch size by how many images it hands in.
        """
        images = [_as_rgb(image) for image in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            scale = self.overview_scale(*image.shape[:2])
            groups.setdefault((max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))),
                              []).append(i)
        overviews: dict[int, Candidates] = {}
        for (net_h, net_w), members in groups.items():
            batch = to_network_input(np.stack([resize(images[i], net_w, net_h) for i in members]))
            outputs = self.runtime.run({self.runtime.input_name: batch})
            for k, i in enumerate(members):
                height, width = images[i].shape[:2]
                overviews[i] = self._to_image_pixels(outputs, k, net_h, net_w, height, width, None)
        return [self._complete(image, overviews[i]) for i, image in enumerate(images)]

    def _complete(self, image: np.ndarray, overview: Candidates) -> list[Detection]:
        """The passes after the overview: small faces, NMS, verification of large faces, size filter."""
        height, width = image.shape[:2]
        first = self.overview_scale(height, width)
        found = [overview]
        second = self.small_face_scale(height, width)
        if second is not None:
            small = self.run_at_scale(image, second)
            # Only for faces the overview sees too small to be sure of: at high resolution, large
            # non-faces (animal faces blown up) turn into confident false positives.
            found.append(small.select(face_sizes(small.boxes) * first < 2 * self.detector_min_face))
        merged = Candidates.join(found)
        merged = merged.select(nms(merged.boxes, merged.scores, self.nms_iou))
        merged = merged.select(face_sizes(merged.boxes) >= self.min_face_size * SIZE_TOLERANCE)
        merged = self._verify_large(image, merged, first)
        return _to_detections(merged, height, width)

    def _verify_large(self, image: np.ndarray, found: Candidates, first: float) -> Candidates:
        """Keep large candidates only when they are found again with the image scaled down (see class doc)."""
        sizes = face_sizes(found.boxes)
        pending = np.flatnonzero(sizes * first > self.verify_above)
        keep = np.ones(len(sizes), dtype=bool)
        keep[pending] = False
        # Candidates whose wanted scales are within a factor 1.5 share one pass (the largest face's scale).
        pending = pending[np.argsort(sizes[pending])[::-1]]
        while pending.size:
            scale = self.verify_size / sizes[pending[0]]
            group = pending[self.verify_size / sizes[pending] <= scale * 1.5]
            pending = np.setdiff1d(pending, group, assume_unique=True)
            pending = pending[np.argsort(sizes[pending])[::-1]]
            check = self.run_at_scale(image, scale, self.verify_threshold)
            if len(check.boxes):
                overlaps = iou_matrix(found.boxes[group], check.boxes)
                keep[group] = overlaps.max(axis=1) >= 0.3
        return found.select(keep)


def load_detector(folder: Path | None = None, **options: Any) -> RetinaFaceDetector:
    """The detector from the installed models (``models_dir()`` unless ``folder``); options as for the class.

    Raises ``ModelsMissingError`` when the model file is not installed.
    """
    path = (folder or models_dir()) / DETECTOR_FILE
    if not path.is_file():
        raise ModelsMissingError(DETECTOR_FILE)
    return RetinaFaceDetector(path, **options)


def _to_detections(found: Candidates, height: int, width: int) -> list[Detection]:
    """Clip boxes to the image and wrap candidates (already best first) as ``Detection``s."""
    detections = []
    for box, score, marks in zip(found.boxes, found.scores, found.landmarks):
        x1, y1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
        x2, y2 = min(float(width), float(box[2])), min(float(height), float(box[3]))
        if x2 <= x1 or y2 <= y1:
            continue
        points = marks.astype(np.float64)
        points.setflags(write=False)
        detections.append(Detection((x1, y1, x2 - x1, y2 - y1), points, float(score)))
    return detections


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {getattr(image, 'dtype', type(image))} "
                         f"{getattr(image, 'shape', '')}")
    return image
