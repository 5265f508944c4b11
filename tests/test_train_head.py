"""The quick (head-only) trainer on synthetic features, and its pieces."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from faceorg.errors import CancelledError
from faceorg.progress import Progress
from faceorg.train.data import TrainingSet
from faceorg.train.head import (
    HeadRecipe,
    HeadTrainResult,
    embed_from_features,
    train_head,
)
from faceorg.train.holdout import HeldOutEvaluator, split_holdout


@dataclass
class Synthetic:
    """256-d features from a linear model, and an initial head that confuses look-alikes."""

    features: np.ndarray
    labels: np.ndarray  # -1 = unlabelled
    people: np.ndarray  # the true identity of every face
    weight: np.ndarray
    n_labelled_people: int


def make_synthetic(counts: list[int] | np.ndarray, *, n_unlabelled: int = 600, n_strangers: int = 40,
                   look_alike_pairs: int = 25, seed: int = 0) -> Synthetic:
    """People are centres in a 96-d "identity" and a 32-d "subtle" subspace; look-alike pairs
    (persons 2k and 2k+1) share their identity part and differ only in the subtle one. Faces add
    noise and a large 128-d nuisance ("pose") part. The initial head passes the nuisance and
    nearly ignores the subtle subspace, so it confuses look-alikes; everything is then rotated by
    a random orthogonal matrix. Unlabelled faces come from labelled people and from strangers
    (people ``>= n_labelled_people``)."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts)
    n_people = len(counts) + n_strangers
    centres = np.zeros((n_people, 256))
    centres[:, :96] = rng.normal(size=(n_people, 96)) / np.sqrt(96)
    centres[:, 96:128] = rng.normal(size=(n_people, 32)) / np.sqrt(32)
    for k in range(look_alike_pairs):
        centres[2 * k + 1, :96] = centres[2 * k, :96] + rng.normal(size=96) * 0.02
    labels = np.repeat(np.arange(len(counts)), counts)
    people = np.concatenate([labels, rng.integers(n_people, size=n_unlabelled)])
    x = centres[people]
    x[:, :128] += rng.normal(size=(len(people), 128)) * 0.04
    x[:, 128:] += rng.normal(size=(len(people), 128)) / np.sqrt(128) * 0.8
    rotation, _ = np.linalg.qr(rng.normal(size=(256, 256)))
    weight = rng.normal(size=(128, 256)) / 16
    weight[:, 96:128] *= 0.15
    return Synthetic(features=(x @ rotation.T).astype(np.float32),
                     labels=np.concatenate([labels, np.full(n_unlabelled, -1)]),
                     people=people, weight=(weight @ rotation.T).astype(np.float32),
                     n_labelled_people=len(counts))


@pytest.fixture(scope="module", autouse=True)
def two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def data() -> Synthetic:
    return make_synthetic(np.full(60, 12))


@pytest.fixture(scope="module")
def trained(data: Synthetic) -> HeadTrainResult:
    return train_head(data.features, data.labels, [], data.weight, HeadRecipe(seed=0), device="cpu")


def mean_drift(data: Synthetic, weight: np.ndarray, faces: np.ndarray) -> float:
    """Mean squared distance between faces' new and original normalised embeddings."""
    before = embed_from_features(data.features[faces], data.weight)
    after = embed_from_features(data.features[faces], weight)
    return float(((after - before) ** 2).sum(axis=1).mean())


# ------------------------------------------------------------------------------ re-embedding
def test_embed_from_features_is_the_normalised_linear_layer() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((50, 256), dtype=np.float32)
    weight = rng.normal(size=(128, 256)).astype(np.float32)
    linear = torch.nn.Linear(256, 128, bias=False)
    linear.weight.data = torch.from_numpy(weight)
    expected = torch.nn.functional.normalize(linear(torch.from_numpy(features)), dim=1)
    got = embed_from_features(features, weight)
    assert got.shape == (50, 128) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_embed_from_features_re_embeds_100k_faces_quickly() -> None:
    features = np.random.default_rng(0).random((100_000, 256), dtype=np.float32)
    weight = np.random.default_rng(1).normal(size=(128, 256)).astype(np.float32)
    started = time.perf_counter()
    out = embed_from_features(features, weight)
    assert time.perf_counter() - started < 10.0  # measured about 0.15 s on 2 cores
    assert out.shape == (100_000, 128)


# ------------------------------------------------------------------------------ training
def test_zero_steps_returns_the_initial_weight(data: Synthetic) -> None:
    for result in (train_head(data.features, data.labels, [], data.weight, HeadRecipe(max_steps=0)),
                   train_head(data.features, data.labels, [], data.weight, HeadRecipe(epochs=0))):
        np.testing.assert_array_equal(result.weight, data.weight)
        assert result.weight is not data.weight
        assert result.steps == 0 and not result.changed and result.stop_reason == "no steps"
        assert result.before is not None and result.after == result.before


def test_held_out_verification_improves_on_look_alikes(trained: HeadTrainResult) -> None:
    before, after = trained.before, trained.after
    assert before is not None and after is not None
    assert before.verification_rate < 0.5  # the initial head confuses look-alikes
    assert after.verification_rate > before.verification_rate + 0.4
    assert after.rank1_accuracy > before.rank1_accuracy + 0.15
    assert trained.changed and trained.weight.shape == (128, 256)
    assert trained.weight.dtype == np.float32
    assert trained.device == "cpu" and trained.n_held_out == after.n_faces > 0


def test_early_stopping_returns_the_best_round(data: Synthetic, trained: HeadTrainResult) -> None:
    scored = [(r.held_out.verification_rate, r.held_out.rank1_accuracy, r.round)
              for r in trained.history if r.held_out is not None]
    best_score = max(s[:2] for s in scored)
    first_best = min(r for *s, r in scored if tuple(s) == best_score)
    assert trained.best_round == first_best
    assert trained.stop_reason == "patience"
    assert len(trained.history) - trained.best_round == 3  # patience
    # The reported metrics are those of the returned weight.
    holdout = split_holdout(data.labels, np.zeros((0, 2), dtype=np.int64), 0.2, seed=0)
    evaluator = HeldOutEvaluator(torch.from_numpy(data.features), data.labels, holdout, 1e-3,
                                 seed=0)
    assert evaluator(torch.from_numpy(trained.weight)) == trained.after


def test_training_is_deterministic_under_a_seed(data: Synthetic) -> None:
    a = train_head(data.features, data.labels, [], data.weight, HeadRecipe(seed=3, max_steps=20))
    b = train_head(data.features, data.labels, [], data.weight, HeadRecipe(seed=3, max_steps=20))
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.steps == 20 and a.stop_reason == "max_steps"


def test_distillation_keeps_unlabelled_faces_near_their_embeddings(data: Synthetic) -> None:
    strangers = np.flatnonzero(data.people >= data.n_labelled_people)
    drift = {}
    for weight in (0.0, 10.0):
        result = train_head(data.features, data.labels, [], data.weight,
                            HeadRecipe(seed=0, distill_weight=weight))
        assert result.after is not None and result.before is not None
        assert result.after.verification_rate > result.before.verification_rate + 0.2
        drift[weight] = mean_drift(data, result.weight, strangers)
    assert drift[10.0] < 0.3 * drift[0.0]
    assert drift[10.0] < 0.03  # squared distance between unit vectors (cosine > 0.985)


def test_cannot_link_pushes_an_unlabelled_look_alike_away(data: Synthetic) -> None:
    # Person 1 (a look-alike of person 0) is not labelled; the user said "not person 0" for face x.
    labels = data.labels.copy()
    labels[data.people[: len(labels)] == 1] = -1
    labels[data.labels < 0] = -1
    x = int(np.flatnonzero(data.people == 1)[0])
    person0 = np.flatnonzero(labels == 0)
    links = [(x, int(f)) for f in person0]

    def similarity_to_person0(weight: np.ndarray) -> float:
        e = embed_from_features(data.features, weight)
        return float((e[person0] @ e[x]).mean())

    holdout = np.zeros(len(labels), dtype=bool)  # no early stopping: compare equal training
    plain = train_head(data.features, labels, [], data.weight, HeadRecipe(seed=0, max_steps=150),
                       holdout=holdout)
    linked = train_head(data.features, labels, links, data.weight, HeadRecipe(seed=0, max_steps=150),
                        holdout=holdout)
    assert plain.before is None and plain.stop_reason == "max_steps"
    assert similarity_to_person0(linked.weight) < similarity_to_person0(plain.weight) - 0.1
    assert similarity_to_person0(linked.weight) < similarity_to_person0(data.weight) - 0.1


def test_progress_is_reported_and_cancel_stops(data: Synthetic) -> None:
    calls: list[tuple[int, int, str]] = []
    train_head(data.features, data.labels, [], data.weight, HeadRecipe(seed=0, max_steps=12, eval_every=5),
               progress=lambda done, total, message: calls.append((done, total, message)))
    done = [c[0] for c in calls]  # a round ends after 5 steps or at the end of an epoch
    assert done[-1] == 12 and all(0 < b - a <= 5 for a, b in zip([0, *done], done))
    assert all(c[1] == 12 for c in calls) and "verification" in calls[0][2]
    with pytest.raises(CancelledError):
        train_head(data.features, data.labels, [], data.weight, cancel=lambda: True)
    progress = Progress()
    progress.cancel()
    with pytest.raises(CancelledError):
        train_head(data.features, data.labels, [], data.weight, cancel=progress.check_cancelled)


def test_cpu_thread_setting_is_restored(data: Synthetic) -> None:
    torch.set_num_threads(2)
    train_head(data.features, data.labels, [], data.weight, HeadRecipe(max_steps=2), cpu_threads=1)
    assert torch.get_num_threads() == 2


def test_rejects_inputs_of_the_wrong_shape(data: Synthetic) -> None:
    with pytest.raises(ValueError):
        train_head(data.features[:, :128], data.labels, [], data.weight)
    with pytest.raises(ValueError):
        train_head(data.features, data.labels[:-1], [], data.weight)
    with pytest.raises(ValueError):
        train_head(data.features, data.labels, [], data.weight.T)
    with pytest.raises(ValueError):
        train_head(data.features, data.labels, [(0, 0)], data.weight)


def test_nothing_to_train_without_labels(data: Synthetic) -> None:
    result = train_head(data.features, np.full(len(data.labels), -1), [], data.weight)
    assert result.stop_reason == "nothing to train" and result.before is None
    np.testing.assert_array_equal(result.weight, data.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_trains_on_cuda(data: Synthetic) -> None:
    result = train_head(data.features, data.labels, [], data.weight, HeadRecipe(seed=0))
    assert result.device.startswith("cuda")
    assert result.after is not None and result.before is not None
    assert result.after.verification_rate > result.before.verification_rate + 0.4


@pytest.mark.slow
def test_five_thousand_labelled_faces_train_within_a_minute() -> None:
    rng = np.random.default_rng(1)
    counts = np.maximum(3, (rng.pareto(1.5, 300) * 8).astype(int))
    counts = (counts * 5000 / counts.sum()).astype(int) + 1  # skewed: one person has ~1,800
    data = make_synthetic(counts, n_unlabelled=20_000, n_strangers=200, look_alike_pairs=60, seed=1)
    n = int(counts.sum())
    links = list(zip(rng.integers(0, n, 300).tolist(), rng.integers(n, len(data.labels), 300).tolist()))
    started = time.perf_counter()
    result = train_head(data.features, data.labels, links, data.weight, HeadRecipe(seed=0), device="cpu")
    assert time.perf_counter() - started < 60.0  # measured 10-15 s on a busy 2-core machine
    assert result.after is not None and result.before is not None
    assert result.after.verification_rate > result.before.verification_rate


# ------------------------------------------------------------------------ held-out split, metrics
def test_split_holdout_is_stratified_and_spares_cannot_linked_faces() -> None:
    labels = np.repeat(np.arange(6), [1, 2, 3, 5, 10, 40])
    labels = np.concatenate([labels, np.full(10, -1)])
    links = np.array([[61, 0], [20, 21]])  # faces 20, 21 belong to person 5
    mask = split_holdout(labels, links, 0.2, seed=0)
    held = labels[mask]
    assert not mask[labels < 0].any() and not mask[[0, 20, 21]].any()
    counts = {p: int((held == p).sum()) for p in range(6)}
    assert counts == {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 8}
    np.testing.assert_array_equal(mask, split_holdout(labels, links, 0.2, seed=0))
    assert split_holdout(labels, links, 0.2, seed=0, max_faces=5).sum() == 5
    assert not split_holdout(labels, links, 0.0, seed=0).any()


def test_held_out_metrics_match_brute_force() -> None:
    rng = np.random.default_rng(5)
    labels = np.concatenate([np.repeat(np.arange(5), [3, 4, 6, 2, 5]), [-1, -1]])
    features = rng.normal(size=(len(labels), 256)).astype(np.float32)
    features[labels >= 0] += rng.normal(size=(5, 256))[labels[labels >= 0]].astype(np.float32)
    weight = rng.normal(size=(128, 256)).astype(np.float32)
    holdout = np.zeros(len(labels), dtype=bool)
    holdout[[0, 3, 4, 9, 10, 15]] = True
    far = 0.05
    metrics = HeldOutEvaluator(torch.from_numpy(features), labels, holdout, far, seed=0)(
        torch.from_numpy(weight))

    e = embed_from_features(features, weight).astype(np.float64)
    held = [int(i) for i in np.flatnonzero(holdout)]
    reference = [int(i) for i in np.flatnonzero((labels >= 0) & ~holdout)]
    pairs = [(h, r) for h in held for r in reference]
    pairs += [(h, g) for h, g in itertools.combinations(held, 2)]
    impostor = sorted((e[i] @ e[j] for i, j in pairs if labels[i] != labels[j]), reverse=True)
    threshold = impostor[int(far * len(impostor))]
    assert sum(s > threshold for s in impostor) <= far * len(impostor)
    per_person: dict[int, list[bool]] = {}
    for i, j in pairs:
        if labels[i] == labels[j]:
            per_person.setdefault(int(labels[i]), []).append(e[i] @ e[j] > threshold)
    tar = np.mean([np.mean(v) for v in per_person.values()])
    hits: dict[int, list[bool]] = {}
    for h in held:
        nearest = max(reference, key=lambda r: e[h] @ e[r])
        hits.setdefault(int(labels[h]), []).append(labels[nearest] == labels[h])
    rank1 = np.mean([np.mean(v) for v in hits.values()])

    assert metrics.threshold == pytest.approx(threshold, abs=1e-5)
    assert metrics.verification_rate == pytest.approx(tar)
    assert metrics.rank1_accuracy == pytest.approx(rank1)
    assert metrics.n_faces == 6 and metrics.n_people == len(hits)
    assert metrics.n_genuine_pairs + metrics.n_impostor_pairs == len(pairs)


# ------------------------------------------------------------------------------ training set
def test_training_set_validates_its_arrays() -> None:
    def training_set(labels: list[int], links: list[tuple[int, int]],
                     features: np.ndarray | None = None) -> TrainingSet:
        return TrainingSet(face_ids=np.arange(10, 10 + len(labels)), labels=np.array(labels),
                           person_ids=np.array([7, 8]), cannot_link=np.array(links),
                           features=features)

    ts = training_set([0, -1, 1], [(0, 1)], np.zeros((3, 256)))
    assert len(ts) == 3 and ts.n_people == 2 and ts.n_labelled == 2
    assert ts.features is not None and ts.features.dtype == np.float32
    assert ts.cannot_link.shape == (1, 2) and ts.cannot_link_pairs() == [(0, 1)]
    assert training_set([0, 1], []).cannot_link.shape == (0, 2)
    with pytest.raises(ValueError):
        training_set([0, 2], [])  # no person 2
    with pytest.raises(ValueError):
        training_set([0, 1], [(0, 2)])  # no face 2
    with pytest.raises(ValueError):
        training_set([0, 1], [(1, 1)])
    with pytest.raises(ValueError):
        training_set([0, 1], [], np.zeros((3, 256)))
