"""Five-point alignment onto dlib's chip layout, and face quality."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faceorg.detect.align import CHIP_TEMPLATE, align_chip, apply_transform, chip_transform, similarity_transform
from faceorg.detect.quality import face_quality, sharpness


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[scale * math.cos(a), -scale * math.sin(a), tx],
                     [scale * math.sin(a), scale * math.cos(a), ty]])


@pytest.mark.parametrize("angle,scale,tx,ty", [(0, 1, 0, 0), (17, 1.7, 30, -12), (-80, 0.25, 5, 400),
                                               (179, 3.0, -7.5, 2.25)])
def test_known_similarity_is_recovered_exactly(angle: float, scale: float, tx: float, ty: float) -> None:
    matrix = _similarity(angle, scale, tx, ty)
    src = np.random.default_rng(0).uniform(-50, 200, (5, 2))
    estimated = similarity_transform(src, apply_transform(matrix, src))
    np.testing.assert_allclose(estimated, matrix, atol=1e-9)


def test_least_squares_fit_is_never_a_reflection() -> None:
    src = CHIP_TEMPLATE.copy()
    mirrored = src * [-1, 1]  # a left-right mirror: the best similarity must still be a rotation
    matrix = similarity_transform(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_noisy_fit_is_the_least_squares_optimum() -> None:
    rng = np.random.default_rng(1)
    src = CHIP_TEMPLATE * 1.3 + rng.normal(0, 4, (5, 2))
    matrix = similarity_transform(src, CHIP_TEMPLATE)
    a, b, tx, ty = matrix[0, 0], matrix[1, 0], matrix[0, 2], matrix[1, 2]
    assert matrix[0, 1] == pytest.approx(-b) and matrix[1, 1] == pytest.approx(a)
    best = np.sum((apply_transform(matrix, src) - CHIP_TEMPLATE) ** 2)
    for delta in rng.normal(0, [1e-3, 1e-3, 0.05, 0.05], (300, 4)):  # any nearby similarity fits worse
        a2, b2, tx2, ty2 = np.array([a, b, tx, ty]) + delta
        trial = np.array([[a2, -b2, tx2], [b2, a2, ty2]])
        assert np.sum((apply_transform(trial, src) - CHIP_TEMPLATE) ** 2) > best


def test_bad_point_sets_are_rejected() -> None:
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 2)), np.zeros((4, 2)))


def _dots_image(points: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A dark RGB image with a bright Gaussian dot (radius ~sigma) at each point."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    grey = np.zeros(shape)
    for x, y in points:
        grey += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))
    grey = np.clip(grey * 255, 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _dot_centres(chip: np.ndarray, near: np.ndarray, radius: int = 8) -> np.ndarray:
    """Intensity-weighted centroid of the chip around each expected point."""
    grey = chip[:, :, 0].astype(np.float64)
    ys, xs = np.mgrid[0:chip.shape[0], 0:chip.shape[1]]
    centres = []
    for x, y in near:
        window = (np.abs(xs - x) <= radius) & (np.abs(ys - y) <= radius)
        weights = grey * window
        centres.append([(weights * xs).sum() / weights.sum(), (weights * ys).sum() / weights.sum()])
    return np.array(centres)


@pytest.mark.parametrize("angle,scale", [(0.0, 1.0), (25.0, 0.6), (-40.0, 1.9), (10.0, 0.2)])
def test_chip_puts_the_landmarks_on_the_template(angle: float, scale: float) -> None:
    # Place the template in a synthetic image by a known similarity (scale < 0.5 takes the reduce path).
    to_image = _similarity(angle, 1 / scale, 300, 200)
    landmarks = apply_transform(to_image, CHIP_TEMPLATE - 75)
    image = _dots_image(landmarks, (700, 700), sigma=2.5 / scale)
    chip = align_chip(image, landmarks)
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    np.testing.assert_allclose(_dot_centres(chip, CHIP_TEMPLATE), CHIP_TEMPLATE, atol=0.6)


def test_chip_size_scales_the_template() -> None:
    landmarks = CHIP_TEMPLATE * 2 + 40
    image = _dots_image(landmarks, (400, 400), sigma=5)
    chip = align_chip(image, landmarks, size=112)
    assert chip.shape == (112, 112, 3)
    expected = CHIP_TEMPLATE * 112 / 150
    np.testing.assert_allclose(_dot_centres(chip, expected, radius=6), expected, atol=0.6)
    np.testing.assert_allclose(apply_transform(chip_transform(landmarks, 112), landmarks), expected, atol=1e-9)


def test_outside_the_image_is_black() -> None:
    image = np.full((60, 60, 3), 200, np.uint8)
    chip = align_chip(image, CHIP_TEMPLATE * 0.2 + 40)  # the chip covers image pixels 40..70
    assert chip[-1, -1].tolist() == [0, 0, 0]
    assert chip[0, 0].tolist() == [200, 200, 200]


# -- quality ----------------------------------------------------------------------------------------


def _texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)


def test_sharpness_of_a_flat_chip_is_zero() -> None:
    assert sharpness(np.full((150, 150, 3), 128, np.uint8)) == 0.0
    assert sharpness(np.zeros((2, 2, 3), np.uint8)) == 0.0


def test_sharpness_falls_as_blur_grows() -> None:
    chip = Image.fromarray(_texture())
    values = [sharpness(np.asarray(chip.filter(ImageFilter.GaussianBlur(r)))) for r in (0, 0.5, 1, 2, 4)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_sharpness_matches_a_direct_laplacian() -> None:
    grey = np.random.default_rng(3).uniform(0, 255, (20, 30))
    lap = np.array([[grey[i - 1, j] + grey[i + 1, j] + grey[i, j - 1] + grey[i, j + 1] - 4 * grey[i, j]
                     for j in range(1, 29)] for i in range(1, 19)])
    assert sharpness(grey) == pytest.approx(lap.var())


def test_face_quality_is_bounded_and_monotonic() -> None:
    sizes = [10, 16, 20, 40, 80, 100, 400]
    scores = [0.4, 0.6, 0.8, 0.95, 1.0]
    sharps = [0.0, 5, 30, 100, 1000]
    for s in sizes:
        for sc in scores:
            for sh in sharps:
                assert 0.0 <= face_quality(s, s, sc, sh) <= 1.0
    by_size = [face_quality(s, s, 0.9, 50) for s in sizes]
    by_score = [face_quality(60, 60, sc, 50) for sc in scores]
    by_sharp = [face_quality(60, 60, 0.9, sh) for sh in sharps]
    for series in (by_size, by_score, by_sharp):
        assert all(a <= b for a, b in zip(series, series[1:]))
        assert series[-1] > series[0]
    assert face_quality(10, 10, 0.99, 500) == 0.0  # too small to be any use
    assert face_quality(200, 200, 1.0, 1e9) == pytest.approx(1.0, abs=1e-6)
