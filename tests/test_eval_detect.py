"""``faceorg eval detect``: annotation reading, greedy matching, the summary, and the real targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorg.detect.retinaface import Detection, RetinaFaceDetector
from faceorg.errors import FaceorgError
from faceorg.eval.detect import (
    COUNTED_PHOTOS,
    annotated_dir,
    evaluate_detection,
    format_detect_table,
    load_annotations,
    match_boxes,
)

TRAINING_XML = """<?xml version='1.0' encoding='ISO-8859-1'?>
<dataset><images>
  <image file='a.jpg' width='100' height='80'>
    <box top='10' left='20' width='30' height='30'/>
    <box top='40' left='60' width='20' height='20'/>
  </image>
</images></dataset>
"""
TESTING_XML = """<?xml version='1.0' encoding='ISO-8859-1'?>
<dataset><images>
  <image file='b.jpg' width='100' height='80'>
    <box top='5' left='5' width='40' height='40'/>
    <box top='50' left='50' width='10' height='10' ignore='1'/>
  </image>
</images></dataset>
"""


@pytest.fixture()
def fake_data(tmp_path: Path) -> Path:
    folder = tmp_path / "photos-annotated"
    folder.mkdir()
    (folder / "training.xml").write_text(TRAINING_XML, encoding="iso-8859-1")
    (folder / "testing.xml").write_text(TESTING_XML, encoding="iso-8859-1")
    for name in ["a.jpg", "b.jpg", *COUNTED_PHOTOS]:
        Image.new("RGB", (100, 80), (120, 120, 120)).save(folder / name)
    return tmp_path


class ScriptedDetector:
    """Returns prepared detections, in the order the photos are evaluated."""

    def __init__(self, boxes: list[list[tuple[float, float, float, float]]]) -> None:
        self.boxes = list(boxes)

    def detect(self, image: np.ndarray) -> list[Detection]:
        assert image.dtype == np.uint8 and image.shape == (80, 100, 3)
        return [Detection(b, np.zeros((5, 2)), 0.9) for b in self.boxes.pop(0)]


def test_annotations_are_read_and_ignored_boxes_left_out(fake_data: Path) -> None:
    boxes = load_annotations(annotated_dir(fake_data))
    np.testing.assert_array_equal(boxes["a.jpg"], [[20, 10, 50, 40], [60, 40, 80, 60]])
    np.testing.assert_array_equal(boxes["b.jpg"], [[5, 5, 45, 45]])


def test_data_dir_may_be_the_root_or_the_folder(fake_data: Path, tmp_path: Path) -> None:
    assert annotated_dir(fake_data) == annotated_dir(fake_data / "photos-annotated")
    with pytest.raises(FaceorgError):
        annotated_dir(tmp_path / "nowhere")


def test_matching_is_greedy_and_one_to_one() -> None:
    truth = np.array([[0, 0, 10, 10], [8, 0, 18, 10]], dtype=float)
    found = np.array([[7, 0, 17, 10], [1, 0, 11, 10], [100, 100, 110, 110]], dtype=float)
    assert sorted(match_boxes(truth, found)) == [(0, 1), (1, 0)]
    assert match_boxes(truth, found, iou_threshold=0.95) == []
    assert match_boxes(truth, np.zeros((0, 4))) == []
    # one detection covering two faces counts once
    assert len(match_boxes(truth, np.array([[4, 0, 14, 10]], dtype=float))) == 1


def test_summary_counts(fake_data: Path) -> None:
    detector = ScriptedDetector([
        [(20, 10, 30, 30), (0, 60, 10, 10)],  # a.jpg: one of two faces, one false positive
        [(6, 6, 38, 38), (50, 50, 10, 10)],  # b.jpg: found; the second sits on an ignored box: false+
        [(1, 1, 20, 20)],  # dogs.jpg: one where none is
        [(1, 1, 20, 20)] * 25,  # bald_guys.jpg: 25 for 24
        [(1, 1, 20, 20)],  # Tom_Cruise: one
    ])
    result = evaluate_detection(fake_data, detector)
    assert json.loads(json.dumps(result)) == result
    assert (result["found"], result["annotated"], result["false_positives"]) == (2, 3, 1 + 1 + 1 + 1)
    assert result["counts_ok"] is False
    photos = {p["name"]: p for p in result["photos"]}
    assert [p["name"] for p in result["photos"]] == ["a.jpg", "b.jpg", "dogs.jpg", "bald_guys.jpg",
                                                      "Tom_Cruise_avp_2014_4.jpg"]
    assert (photos["a.jpg"]["found"], photos["a.jpg"]["false_positives"]) == (1, 1)
    assert (photos["bald_guys.jpg"]["annotated"], photos["bald_guys.jpg"]["found"],
            photos["bald_guys.jpg"]["false_positives"]) == (24, 24, 1)
    assert photos["dogs.jpg"]["kind"] == "count" and photos["dogs.jpg"]["false_positives"] == 1
    assert photos["b.jpg"]["detections"][0]["box"] == [6, 6, 38, 38]
    table = format_detect_table(result)
    assert "annotated faces found: 2/3" in table and "false positives: 4" in table
    assert "bald_guys.jpg" in table and "counted photos as expected: NO" in table


def test_missing_photo_is_a_user_error(fake_data: Path) -> None:
    (fake_data / "photos-annotated" / "dogs.jpg").unlink()
    with pytest.raises(FaceorgError):
        evaluate_detection(fake_data, ScriptedDetector([[], [], [], []]))


# -- the real detector on the shared photos -------------------------------------------------------

@pytest.fixture(scope="module")
def detector(real_detector):  # type: ignore[no-untyped-def]
    """The real detector (shared fixture in conftest)."""
    return real_detector


def test_detection_targets_on_the_annotated_photos(detector: RetinaFaceDetector, shared_data: Path) -> None:
    result = evaluate_detection(shared_data, detector)
    photos = {p["name"]: p for p in result["photos"]}
    assert (result["found"], result["annotated"]) == (43, 43)
    assert photos["dogs.jpg"]["detections"] == []
    assert len(photos["bald_guys.jpg"]["detections"]) == 24
    assert len(photos["Tom_Cruise_avp_2014_4.jpg"]["detections"]) == 1
    assert result["false_positives"] == 0
    assert result["counts_ok"] is True
