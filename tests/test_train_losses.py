"""TripletLoss and the distillation terms against plain Python loops."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from faceorg.train.distill import EmbeddingDistillation, RelationalDistillation
from faceorg.train.losses import TripletLoss
from faceorg.train.miners import Triplets


def normalised(row: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in row))
    return [v / norm for v in row]


def squared_distance(a: list[float], b: list[float]) -> float:
    return sum((u - v) ** 2 for u, v in zip(a, b))


def all_triplets(n: int) -> Triplets:
    rows = list(itertools.permutations(range(n), 3))
    a, p, m = (torch.tensor(c) for c in zip(*rows))
    return Triplets(a, p, m)


@pytest.mark.parametrize("margin", [0.2, 0.5])
def test_triplet_loss_matches_brute_force(margin: float) -> None:
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    triplets = all_triplets(6)
    out = TripletLoss(margin)(x, triplets)
    rows = [normalised(r) for r in x.tolist()]
    losses = [max(0.0, squared_distance(rows[a], rows[p]) - squared_distance(rows[a], rows[n])
                  + margin) for a, p, n in zip(*(t.tolist() for t in triplets))]
    active = [v for v in losses if v > 0]
    assert 0 < len(active) < len(losses)
    assert out.n_active == len(active) and out.n_triplets == len(losses)
    assert float(out.loss) == pytest.approx(sum(active) / len(active), abs=1e-12)


def test_triplet_loss_is_scale_invariant_and_differentiable() -> None:
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(2), requires_grad=True)
    triplets = all_triplets(5)
    loss = TripletLoss()(x, triplets)
    assert float(TripletLoss()(x.detach() * 7.0, triplets).loss) == pytest.approx(loss.loss.item())
    loss.loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_no_active_triplet_gives_a_differentiable_zero() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0]], requires_grad=True)
    out = TripletLoss(0.2)(x, Triplets(torch.tensor([0]), torch.tensor([1]), torch.tensor([2])))
    assert out.n_active == 0 and out.n_triplets == 1 and out.loss.item() == 0.0
    out.loss.backward()
    assert x.grad is not None and float(x.grad.abs().sum()) == 0.0
    empty = Triplets(*(torch.zeros(0, dtype=torch.long) for _ in range(3)))
    assert TripletLoss()(x, empty).loss.item() == 0.0


def test_embedding_distillation_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(3)
    new, old = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(7, 5, generator=g,
                                                                                dtype=torch.float64)
    expected = sum(squared_distance(normalised(a), normalised(b))
                   for a, b in zip(new.tolist(), old.tolist())) / 7
    assert float(EmbeddingDistillation()(new, old)) == pytest.approx(expected, abs=1e-12)
    assert float(EmbeddingDistillation()(new * 3.0, new)) == pytest.approx(0.0, abs=1e-12)


def test_relational_distillation_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(4)
    new, old = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g,
                                                                                dtype=torch.float64)
    a, b = [normalised(r) for r in new.tolist()], [normalised(r) for r in old.tolist()]
    terms = [(sum(u * v for u, v in zip(a[i], a[j])) - sum(u * v for u, v in zip(b[i], b[j]))) ** 2
             for i, j in itertools.permutations(range(6), 2)]
    assert float(RelationalDistillation()(new, old)) == pytest.approx(sum(terms) / len(terms),
                                                                      abs=1e-12)


def test_relational_distillation_ignores_rotations_but_pointwise_does_not() -> None:
    x = torch.randn(8, 4, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))
    assert float(RelationalDistillation()(x @ rotation, x)) == pytest.approx(0.0, abs=1e-12)
    assert float(EmbeddingDistillation()(x @ rotation, x)) > 0.01


def test_distillation_gradients_reach_only_the_new_embeddings() -> None:
    new = torch.randn(4, 3, requires_grad=True)
    old = torch.randn(4, 3, requires_grad=True)
    for term in (EmbeddingDistillation(), RelationalDistillation()):
        term(new, old).backward()
    assert new.grad is not None and old.grad is None


def test_distillation_of_nothing_is_zero_and_shapes_must_match() -> None:
    empty = torch.zeros(0, 3, requires_grad=True)
    assert EmbeddingDistillation()(empty, empty).item() == 0.0
    one = torch.randn(1, 3)
    assert float(RelationalDistillation()(one, one)) == 0.0
    with pytest.raises(ValueError):
        EmbeddingDistillation()(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError):
        RelationalDistillation()(torch.zeros(2, 3), torch.zeros(2, 4))
