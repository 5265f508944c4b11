"""The suggestion-scale calibration, checked against brute-force loops on small synthetic libraries."""

from __future__ import annotations

import numpy as np

from faceorg.cluster.match import build_person_index, match_to_people
from faceorg.retrain.calibrate import SCALE_RANGE, SCALE_STEP, calibrated_distance_scale, rule_rates


def library(seed: int, people: int = 12, per: int = 10, spread: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(people), per)
    x = centres[labels] + rng.normal(scale=spread / np.sqrt(128), size=(len(labels), 128))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def brute_rates(x: np.ndarray, labels: np.ndarray, index_rows: np.ndarray, query_rows: np.ndarray,
                s: float) -> tuple[float, float]:
    index = build_person_index(x[index_rows], labels[index_rows])
    right = wrong = 0
    queries = np.flatnonzero(query_rows)
    for q in queries:
        got = int(match_to_people(x[q:q + 1], index, margin=0.03 * s, max_distance=0.32 * s).labels[0])
        right += got >= 0 and got == labels[q]
        wrong += got >= 0 and got != labels[q]
    return right / len(queries), wrong / len(queries)


def test_rule_rates_count_like_a_loop() -> None:
    x, labels = library(0, spread=0.6)
    held = np.zeros(len(labels), bool)
    held[::4] = True
    for s, rates in zip([0.8, 1.0, 1.5], rule_rates(x, labels, ~held, held, np.array([0.8, 1.0, 1.5]), 0.32, 0.03)):
        assert (rates.right, rates.wrong) == brute_rates(x, labels, ~held, held, s)


def test_the_chosen_scale_is_the_best_one_no_less_careful_than_before() -> None:
    before, labels = library(1, spread=0.7)
    after, _ = library(1, spread=0.5)  # the same people, tighter: a better model
    after = np.where(np.arange(len(labels))[:, None] % 2 == 0, after, before)  # and not uniformly so
    after /= np.linalg.norm(after, axis=1, keepdims=True)
    held = np.zeros(len(labels), bool)
    held[1::3] = True
    held[labels == 11] = True  # a person the model never learned: not used for the calibration
    scale = calibrated_distance_scale(before, after, labels, held, 1.0, 0.32, 0.03)
    assert scale is not None
    index_rows = ~held
    queries = held & (labels != 11)
    _, old_wrong = brute_rates(before, labels, index_rows, queries, 1.0)
    allowed = max(old_wrong, 1 / queries.sum())
    chosen_right, chosen_wrong = brute_rates(after, labels, index_rows, queries, scale)
    assert chosen_wrong <= allowed
    for s in np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + 1e-9, 10 * SCALE_STEP):
        right, wrong = brute_rates(after, labels, index_rows, queries, float(s))
        assert wrong > allowed or right <= chosen_right + 1e-12


def test_too_few_held_out_faces_give_no_calibration() -> None:
    x, labels = library(2)
    held = np.zeros(len(labels), bool)
    held[:5] = True
    assert calibrated_distance_scale(x, x, labels, held, 1.0, 0.32, 0.03) is None
