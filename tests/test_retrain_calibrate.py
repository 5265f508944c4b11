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


def crowded(seed: int, people: int = 12, per: int = 10, spread: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """People whose centres lie close together (a few dimensions), so that loose thresholds mix them up."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((people, 128))
    centres[:, :6] = rng.normal(size=(people, 6))
    centres[:, 6] = 6.0
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(people), per)
    x = centres[labels] + rng.normal(scale=spread / np.sqrt(128), size=(len(labels), 128))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_rule_counts_at_every_scale_count_like_a_loop() -> None:
    from faceorg.retrain.calibrate import NOBODY, rule_counts

    x, labels = crowded(3, spread=0.25)
    held = np.zeros(len(labels), bool)
    held[::3] = True
    truth = np.where(labels == 5, NOBODY, labels)  # person 5's faces should go to nobody
    index = ~held & (labels != 5)
    scales = np.array([0.6, 1.0, 2.5])
    counts = rule_counts(x[held], truth[held], x[index], labels[index], scales, 0.32, 0.03)
    for k, s in enumerate(scales):
        idx = build_person_index(x[index], labels[index])
        got = [int(match_to_people(x[q:q + 1], idx, margin=0.03 * s, max_distance=0.32 * s).labels[0])
               for q in np.flatnonzero(held)]
        right = sum(g >= 0 and g == t for g, t in zip(got, truth[held]))
        wrong = sum(g >= 0 and g != t for g, t in zip(got, truth[held]))
        assert (counts.right[k], counts.wrong[k]) == (right, wrong)
        assert right > 0 or s < 1.0  # the check has teeth: suggestions are made


def test_the_fold_scale_counts_strangers_and_keeps_suggestions_as_careful() -> None:
    """A new model that packs everyone tighter, the people it never saw too: the scale calibrated on the
    learned people alone would suggest those strangers; the fold scale does not."""
    from faceorg.retrain.calibrate import NOBODY, fold_calibrated_scale, rule_counts
    from faceorg.retrain.folds import GateFold

    before, labels = crowded(4, people=16, per=12, spread=0.3)
    after, _ = crowded(4, people=16, per=12, spread=0.2)
    folds = []
    for k in range(2):
        unseen = np.isin(labels, [k, k + 2, k + 4])
        known = (np.arange(len(labels)) % 3 == k) & ~unseen
        folds.append(GateFold(known=known, unseen=unseen))
    scale = fold_calibrated_scale(before, [after, after], labels, folds, 1.0, 0.32, 0.03)
    assert scale is not None
    scales = np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + 1e-9, SCALE_STEP)
    right, wrong, old_wrong = np.zeros(len(scales)), np.zeros(len(scales)), 0
    for fold in folds:
        index = (labels >= 0) & ~fold.held_out
        q = fold.held_out
        truth = np.where(fold.unseen, NOBODY, labels)[q]
        old_wrong += rule_counts(before[q], truth, before[index], labels[index], np.array([1.0]), 0.32, 0.03).wrong[0]
        new = rule_counts(after[q], truth, after[index], labels[index], scales, 0.32, 0.03)
        right, wrong = right + new.right, wrong + new.wrong
    allowed = max(old_wrong, 1)
    at = int(np.argmin(np.abs(scales - scale)))
    assert wrong[at] <= allowed
    assert all(wrong[k] > allowed or right[k] <= right[at] for k in range(len(scales)))
    assert wrong[-1] > allowed  # the loosest scale would suggest strangers: the limit matters
