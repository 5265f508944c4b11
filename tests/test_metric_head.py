"""The quick depth's closed-form head: it learns which directions tell the library's people apart."""

from __future__ import annotations

import numpy as np
import pytest

from faceorg.train.metric_head import blend_metrics, fit_metric_head
from faceorg.vectors import l2_normalize


def faces(rng: np.random.Generator, people: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    """256-d features: identity in the first 32 directions, strong nuisance (lighting, pose) in the rest."""
    centres = np.zeros((people, 256))
    centres[:, :32] = rng.normal(size=(people, 32))
    x = np.repeat(centres, per, axis=0) + rng.normal(scale=0.3, size=(people * per, 256))
    x[:, 32:] += rng.normal(scale=1.5, size=(people * per, 224))
    return x.astype(np.float32), np.repeat(np.arange(people), per)


def nearest_right(weight: np.ndarray, x: np.ndarray, y: np.ndarray, probe: np.ndarray) -> float:
    v = l2_normalize(x @ weight.T)
    sims = v[probe] @ v[~probe].T
    return float(np.mean(y[~probe][sims.argmax(1)] == y[probe]))


def test_the_head_separates_people_the_current_layer_confuses() -> None:
    rng = np.random.default_rng(0)
    x, y = faces(rng, 30, 10)
    initial = rng.normal(size=(128, 256)).astype(np.float32)  # a layer that knows nothing of these people
    probe = np.zeros(len(y), bool)
    probe[::5] = True
    train = np.where(probe, -1, y)
    head = fit_metric_head(x, train, None, initial, share=0.75)
    assert head.weight.shape == (128, 256) and head.weight.dtype == np.float32 and head.people == 30
    before, after = nearest_right(initial, x, y, probe), nearest_right(head.weight, x, y, probe)
    assert after > before + 0.2, (before, after)


def test_blending_moves_from_one_metric_to_the_other() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(128, 256)), rng.normal(size=(128, 256))
    x = rng.normal(size=(50, 256))

    def sq(w: np.ndarray) -> np.ndarray:
        d = (x @ w.T)[:, None] - (x @ w.T)[None]
        return (d ** 2).sum(-1)

    ma, mb = a.T @ a, b.T @ b
    mixed = blend_metrics(a, b, 0.5, dim=256)
    want = 0.5 * sq(a) / np.trace(ma) + 0.5 * sq(b) / np.trace(mb)
    assert np.allclose(sq(mixed), want, rtol=1e-6, atol=1e-9)


def test_too_few_people_is_an_error() -> None:
    x = np.zeros((4, 256), np.float32)
    with pytest.raises(ValueError, match="two people"):
        fit_metric_head(x, np.array([0, 0, 0, -1]))
