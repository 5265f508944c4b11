"""The acceptance gate: k-fold over people, verification at a false-accept rate, BCubed F of
re-clustering, and the decision."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from faceorg.cluster.metrics import bcubed
from faceorg.retrain.folds import kfold_embeddings, kfold_people
from faceorg.retrain.scores import (
    average_linkage,
    best_cluster_threshold,
    candidate_thresholds,
    cut,
    gate_report,
    threshold_cluster_fn,
    verification_at_far,
)


def people_embeddings(n_people: int = 40, per_person: int = 8, noise: float = 0.9, *, dim: int = 128,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person centres on the unit sphere, faces = centre + noise; returns (faces, labels, centres)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_people), per_person)
    faces = centres[labels] + rng.normal(size=(len(labels), dim)) * noise / np.sqrt(dim)
    return faces.astype(np.float32), labels, centres


def with_noise(vectors: np.ndarray, amount: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return vectors + rng.normal(size=vectors.shape).astype(np.float32) * amount / np.sqrt(vectors.shape[1])


# ------------------------------------------------------------------------------------------- folds
def test_kfold_people_splits_people_not_faces() -> None:
    labels = np.concatenate([np.repeat(np.arange(10), [30, 2, 3, 4, 5, 6, 7, 8, 9, 10]), [-1, -1]])
    folds = kfold_people(labels, 3, seed=1)
    assert len(folds) == 3
    assert not np.any(folds[0] & folds[1]) and not np.any(folds[1] & folds[2])
    covered = np.logical_or.reduce(folds)
    assert np.array_equal(covered, labels >= 0)
    for a, b in itertools.combinations(folds, 2):
        assert not set(labels[a]) & set(labels[b])
    assert kfold_people(labels, 3, seed=1)[0].tolist() == folds[0].tolist()
    with pytest.raises(ValueError):
        kfold_people(labels, 11)


def test_kfold_people_balances_faces() -> None:
    labels = np.repeat(np.arange(20), np.arange(1, 21))
    sizes = [int(f.sum()) for f in kfold_people(labels, 4, seed=0)]
    assert max(sizes) - min(sizes) <= 20


def test_kfold_embeddings_stitches_out_of_fold_rows() -> None:
    labels = np.repeat(np.arange(6), 3)
    folds = kfold_people(labels, 3, seed=0)
    seen = []

    def train_and_embed(train_mask: np.ndarray) -> np.ndarray:
        seen.append(train_mask.copy())
        return np.full((len(labels), 4), float(len(seen)), dtype=np.float32)

    out = kfold_embeddings(folds, train_and_embed)
    for i, fold in enumerate(folds):
        assert np.array_equal(seen[i], ~fold)
        assert np.all(out[fold] == i + 1)


# ------------------------------------------------------------------------------------ verification
def brute_force_rate(vectors: np.ndarray, labels: np.ndarray, far: float) -> float:
    x = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    genuine, impostor = {}, []
    for i, j in itertools.combinations(range(len(labels)), 2):
        s = float(x[i] @ x[j])
        if labels[i] == labels[j]:
            genuine.setdefault(labels[i], []).append(s)
        else:
            impostor.append(s)
    impostor.sort(reverse=True)
    threshold = impostor[math.floor(far * len(impostor))]
    return float(np.mean([np.mean(np.array(s) > threshold) for s in genuine.values()]))


@pytest.mark.parametrize("far", [1e-3, 0.01, 0.1])
def test_verification_matches_a_plain_loop(far: float) -> None:
    faces, labels, _ = people_embeddings(12, 5, noise=1.2, seed=3)
    got = verification_at_far(faces, labels, far)
    assert got.rate == pytest.approx(brute_force_rate(faces, labels, far))
    assert got.achieved_far <= far
    assert got.n_genuine == 12 * 10 and got.n_impostor == math.comb(60, 2) - 120


def test_verification_without_pairs_is_nan() -> None:
    assert math.isnan(verification_at_far(np.eye(3), np.array([0, 1, 2]), 1e-3).rate)


# -------------------------------------------------------------------------------------- clustering
def test_threshold_is_chosen_on_training_faces() -> None:
    faces, labels, _ = people_embeddings(20, 6, noise=0.6, seed=4)
    threshold = best_cluster_threshold([(faces, labels)])
    predicted = threshold_cluster_fn(threshold)(faces)
    assert len(np.unique(predicted)) == 20
    assert 0.0 < threshold < 2.0


# ------------------------------------------------------------------------------------------- gate
@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray]:
    """Hard enough in 16 dimensions that re-clustering is imperfect before training."""
    faces, labels, _ = people_embeddings(40, 8, noise=0.5, dim=16, seed=5)
    return faces, labels


def test_better_model_accepted_with_k_folds(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    before = with_noise(clean, 0.6, seed=1)
    folds = kfold_people(labels, 4, seed=0)
    report = gate_report(before, clean, labels, folds)
    assert report.accepted, report.reason
    assert report.after.verification_rate > report.before.verification_rate
    assert report.after.bcubed_f > report.before.bcubed_f
    assert len(report.folds) == 4 and report.n_faces == len(labels) and report.n_people == 40
    assert all(f.before.cluster_threshold is not None for f in report.folds)


def test_worse_model_refused(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    holdout = np.isin(labels, np.arange(0, 40, 3))
    report = gate_report(clean, with_noise(clean, 0.9, seed=2), labels, holdout)
    assert not report.accepted
    assert report.after.verification_rate < report.before.verification_rate
    assert report.after.bcubed_f < report.before.bcubed_f
    assert "fewer" in report.reason or "worse" in report.reason


def test_randomly_perturbed_linear_layer_refused(faces: tuple[np.ndarray, np.ndarray]) -> None:
    """A model whose final linear layer got random noise (embeddings = features @ W.T)."""
    features, labels = faces
    rng = np.random.default_rng(7)
    dim = features.shape[1]
    weight = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    perturbed = weight + rng.normal(size=weight.shape).astype(np.float32) * 0.15
    report = gate_report(features @ weight.T, features @ perturbed.T, labels, kfold_people(labels, 3))
    assert not report.accepted


def test_single_holdout_is_split_in_two_halves(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    holdout = labels < 10
    report = gate_report(clean, clean, labels, holdout)
    halves = kfold_people(np.where(holdout, labels, -1), 2, seed=0)
    assert len(report.folds) == 2 and report.n_faces == holdout.sum() and report.n_people == 10
    for fold, own, other in ((report.folds[0], halves[0], halves[1]), (report.folds[1], halves[1], halves[0])):
        assert fold.n_faces == own.sum()
        # chosen on the other half: it reaches the best BCubed F there
        tree = average_linkage(clean[other])
        best = max(bcubed(cut(tree, other.sum(), t), labels[other]).f
                   for t in candidate_thresholds([tree]))
        chosen = bcubed(cut(tree, other.sum(), fold.before.cluster_threshold), labels[other]).f
        assert chosen == pytest.approx(best)


def test_small_holdout_chooses_the_threshold_outside_it(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    holdout = labels < 3
    report = gate_report(clean, clean, labels, holdout)
    assert len(report.folds) == 1
    assert report.folds[0].before.cluster_threshold == pytest.approx(
        best_cluster_threshold([(clean[~holdout], labels[~holdout])]))
    everything = gate_report(clean[:24], clean[:24], labels[:24], np.ones(24, dtype=bool))  # 3 people
    assert everything.folds[0].before.cluster_threshold == pytest.approx(
        best_cluster_threshold([(clean[:24], labels[:24])]))


def test_same_model_refused_as_no_better(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    report = gate_report(clean, clean.copy(), labels, kfold_people(labels, 3))
    assert not report.accepted and "no better" in report.reason


def test_decision_rule() -> None:
    from faceorg.retrain.scores import ModelScores, decide

    def scores(ver: float, f: float) -> ModelScores:
        return ModelScores(ver, f, f, f)

    assert decide(scores(0.80, 0.90), scores(0.85, 0.897), 0.005, 0.005)[0]  # better, F within tolerance
    assert not decide(scores(0.80, 0.90), scores(0.85, 0.89), 0.005, 0.005)[0]  # F lost a point
    accepted, reason = decide(scores(0.80, 0.90), scores(0.803, 0.90), 0.005, 0.005)
    assert not accepted and "not clearly better" in reason
    assert decide(scores(0.80, 0.90), scores(0.80, 0.92), 0.005, 0.005)[0]  # grouping alone


def test_too_few_labels_refused() -> None:
    faces, labels, _ = people_embeddings(3, 1, seed=1)
    report = gate_report(faces, faces, labels, np.ones(3, dtype=bool))
    assert not report.accepted and "too few" in report.reason


def test_custom_cluster_fn_and_summary(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    before = with_noise(clean, 0.6, seed=1)
    calls = []

    def one_cluster_per_face(vectors: np.ndarray) -> np.ndarray:
        calls.append(len(vectors))
        return np.arange(len(vectors))

    report = gate_report(before, clean, labels, labels < 20, cluster_fn=one_cluster_per_face)
    assert calls == [80, 80, 80, 80]  # two halves (by people), two models
    assert report.before.bcubed_f == report.after.bcubed_f  # singletons score the same
    assert report.folds[0].before.cluster_threshold is None
    lines = report.summary_lines()
    assert any("at 1-in-1000 false matches" in line and "before" in line and "after" in line
               for line in lines)
    assert lines[-1].startswith("New model accepted" if report.accepted else "Current model kept")


def test_inputs_checked(faces: tuple[np.ndarray, np.ndarray]) -> None:
    clean, labels = faces
    with pytest.raises(ValueError):
        gate_report(clean, clean[:, :8], labels, labels < 5)
    with pytest.raises(ValueError):
        gate_report(clean, clean, labels, [labels < 10, labels < 5])  # overlapping folds
