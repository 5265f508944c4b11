"""The thin-evidence refusal says what is short: the faces held back, or the people they belong to."""

from __future__ import annotations

from faceorg.retrain import wording


def test_too_few_people_says_people_not_faces() -> None:
    """90 faces of 2 people, 60 faces of 8 people needed: it said "only 90 faces ... at least 60 are needed",
    which reads as a contradiction; what is short is people."""
    text = " ".join(wording.too_few_to_judge(90, 2, 60, 8))
    assert "too few to judge" in text
    assert "2 people" in text and "at least 8 people" in text
    assert "at least 60" not in text and "Only 90" not in text


def test_too_few_faces_says_faces() -> None:
    text = " ".join(wording.too_few_to_judge(30, 9, 60, 8))
    assert "too few to judge" in text and "Only 30 confirmed faces" in text and "at least 60" in text
    assert "at least 8 people" not in text


def test_both_short_says_both() -> None:
    text = " ".join(wording.too_few_to_judge(12, 1, 60, 8))
    assert "at least 60" in text and "at least 8 people" in text and "1 person" in text
