"""``faceorg eval detect``: face detection against the hand-marked photos in ``photos-annotated``.

Box-annotated photos come from ``training.xml`` and ``testing.xml`` (``<box top left width height>``,
boxes with ``ignore='1'`` are left out of the count and never make a false positive). Detections are
matched to boxes greedily, highest IoU first, at IoU >= 0.3. Photos without boxes are checked by count:
``dogs.jpg`` (no face), ``bald_guys.jpg`` (24 faces), ``Tom_Cruise_avp_2014_4.jpg`` (one face); there,
detections beyond the expected count are false positives.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps

from faceorg.detect.nms import iou_matrix
from faceorg.detect.retinaface import Detection
from faceorg.errors import FaceorgError

ANNOTATION_FILES = ("training.xml", "testing.xml")
COUNTED_PHOTOS = {"dogs.jpg": 0, "bald_guys.jpg": 24, "Tom_Cruise_avp_2014_4.jpg": 1}
IOU_THRESHOLD = 0.3


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]: ...


def annotated_dir(data_dir: Path) -> Path:
    """``data_dir`` itself or its ``photos-annotated`` subfolder, whichever holds the annotations."""
    data_dir = Path(data_dir)
    for candidate in (data_dir, data_dir / "photos-annotated"):
        if (candidate / ANNOTATION_FILES[0]).is_file():
            return candidate
    raise FaceorgError(f"no {ANNOTATION_FILES[0]} in {data_dir} or {data_dir / 'photos-annotated'}")


def load_annotations(folder: Path) -> dict[str, np.ndarray]:
    """Photo name -> (N, 4) boxes x1, y1, x2, y2 (ignored boxes left out), from the annotation files."""
    boxes: dict[str, list[list[float]]] = {}
    for name in ANNOTATION_FILES:
        path = folder / name
        if not path.is_file():
            continue
        for image in ET.parse(path).getroot().iter("image"):
            entry = boxes.setdefault(image.get("file", ""), [])
            for box in image.iter("box"):
                if box.get("ignore", "0") not in ("0", ""):
                    continue
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                entry.append([left, top, left + float(box.get("width", 0)), top + float(box.get("height", 0))])
    return {name: np.array(b, dtype=np.float64).reshape(-1, 4) for name, b in boxes.items()}


def load_rgb(path: Path) -> np.ndarray:
    """A photo as an upright RGB uint8 array (EXIF orientation applied)."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def match_boxes(truth: np.ndarray, found: np.ndarray, iou_threshold: float = IOU_THRESHOLD) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, highest IoU first: (truth index, found index) pairs at >= threshold."""
    overlaps = iou_matrix(truth, found)
    pairs: list[tuple[int, int]] = []
    used_truth: set[int] = set()
    used_found: set[int] = set()
    for flat in np.argsort(-overlaps, axis=None, kind="stable"):
        t, f = np.unravel_index(flat, overlaps.shape)
        if overlaps[t, f] < iou_threshold:
            break
        if t not in used_truth and f not in used_found:
            used_truth.add(int(t))
            used_found.add(int(f))
            pairs.append((int(t), int(f)))
    return pairs


def _xyxy(detections: Sequence[Detection]) -> np.ndarray:
    return np.array([[d.box[0], d.box[1], d.box[0] + d.box[2], d.box[1] + d.box[3]] for d in detections],
                    dtype=np.float64).reshape(-1, 4)


def _detection_json(detection: Detection) -> dict[str, Any]:
    return {"box": [round(v, 1) for v in detection.box], "score": round(detection.score, 4),
            "landmarks": np.round(detection.landmarks, 1).tolist()}


def evaluate_detection(data_dir: Path, detector: Detector, *, iou_threshold: float = IOU_THRESHOLD) -> dict[str, Any]:
    """Run ``detector`` on every annotated photo and the counted ones; a JSON-able summary.

    Keys: ``found`` / ``annotated`` (box-annotated faces), ``false_positives`` (all photos),
    ``counts_ok`` (every counted photo got exactly its expected count), ``ms_per_photo``, and
    ``photos``: per photo ``name``, ``kind`` ("boxes" or "count"), ``annotated``, ``found``,
    ``false_positives``, ``ms`` and ``detections`` (box x, y, w, h; score; landmarks).
    """
    folder = annotated_dir(data_dir)
    truth = load_annotations(folder)
    photos: list[dict[str, Any]] = []
    names = sorted(truth) + [name for name in COUNTED_PHOTOS if name not in truth]
    for name in names:
        path = folder / name
        if not path.is_file():
            raise FaceorgError(f"annotated photo missing: {path}")
        image = load_rgb(path)
        started = time.perf_counter()
        detections = detector.detect(image)
        ms = (time.perf_counter() - started) * 1000.0
        if name in truth:
            kind, annotated = "boxes", len(truth[name])
            found = len(match_boxes(truth[name], _xyxy(detections), iou_threshold))
            false_positives = len(detections) - found
        else:
            kind, annotated = "count", COUNTED_PHOTOS[name]
            found = min(len(detections), annotated)
            false_positives = len(detections) - found
        photos.append({"name": name, "kind": kind, "annotated": annotated, "found": found,
                       "false_positives": false_positives, "ms": round(ms, 1),
                       "detections": [_detection_json(d) for d in detections]})
    boxed = [p for p in photos if p["kind"] == "boxes"]
    return {
        "found": sum(p["found"] for p in boxed),
        "annotated": sum(p["annotated"] for p in boxed),
        "false_positives": sum(p["false_positives"] for p in photos),
        "counts_ok": all(p["found"] == p["annotated"] and p["false_positives"] == 0
                         for p in photos if p["kind"] == "count"),
        "iou_threshold": iou_threshold,
        "ms_per_photo": round(sum(p["ms"] for p in photos) / max(1, len(photos)), 1),
        "photos": photos,
    }


def format_detect_table(result: dict[str, Any]) -> str:
    """The evaluation as a plain-text table for the terminal."""
    width = max([len("photo")] + [len(p["name"]) for p in result["photos"]])
    lines = [f"{'photo':<{width}}  kind   expected  found  false+  detections      ms"]
    for p in result["photos"]:
        lines.append(f"{p['name']:<{width}}  {p['kind']:<5}  {p['annotated']:>8}  {p['found']:>5}  "
                     f"{p['false_positives']:>6}  {len(p['detections']):>10}  {p['ms']:>6.0f}")
    lines.append("")
    lines.append(f"annotated faces found: {result['found']}/{result['annotated']} (IoU >= {result['iou_threshold']})")
    lines.append(f"false positives: {result['false_positives']}")
    lines.append(f"counted photos as expected: {'yes' if result['counts_ok'] else 'NO'}")
    lines.append(f"mean time per photo: {result['ms_per_photo']:.0f} ms")
    return "\n".join(lines)
