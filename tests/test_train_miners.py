"""SemiHardTripletMiner against a plain Python loop on tiny batches."""

from __future__ import annotations

import itertools

import pytest
import torch

from faceorg.train.miners import SemiHardTripletMiner, Triplets, pairwise_squared_distances


def brute_force_triplets(x: torch.Tensor, labels: list[int], cannot: set[frozenset[int]],
                         margin: float, fallback: str) -> set[tuple[int, int, int]]:
    """The mining rules of faceorg.train.miners, one pair at a time."""
    x = x / x.norm(dim=1, keepdim=True)
    n = len(labels)

    def d(i: int, j: int) -> float:
        return sum((float(x[i, k]) - float(x[j, k])) ** 2 for k in range(x.shape[1]))

    out: set[tuple[int, int, int]] = set()
    for a, p in itertools.permutations(range(n), 2):
        if labels[a] < 0 or labels[a] != labels[p] or frozenset((a, p)) in cannot:
            continue
        negatives = [m for m in range(n) if frozenset((a, m)) in cannot
                     or (labels[m] >= 0 and labels[m] != labels[a])]
        d_ap = d(a, p)
        semi_hard = [m for m in negatives if d_ap < d(a, m) < d_ap + margin]
        hard = [m for m in negatives if d(a, m) <= d_ap]
        if semi_hard:
            out.add((a, p, min(semi_hard, key=lambda m: (d(a, m), m))))
        elif hard and fallback == "easiest_hard":
            out.add((a, p, max(hard, key=lambda m: (d(a, m), -m))))
        for m in range(n):
            if frozenset((a, m)) in cannot:
                out.add((a, p, m))
    return out


def random_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(4, 13, (1,), generator=g))
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    labels = torch.randint(-1, 4, (n,), generator=g)
    k = int(torch.randint(0, 4, (1,), generator=g))
    pairs = [p for p in torch.randint(0, n, (k, 2), generator=g).tolist() if p[0] != p[1]]
    return x, labels, torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)


@pytest.mark.parametrize("fallback", ["easiest_hard", "skip"])
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_miner_matches_brute_force(fallback: str, margin: float) -> None:
    miner = SemiHardTripletMiner(margin, fallback=fallback)  # type: ignore[arg-type]
    nonempty = 0
    for seed in range(150):
        x, labels, pairs = random_batch(seed)
        cannot = {frozenset(p) for p in pairs.tolist()}
        expected = brute_force_triplets(x, labels.tolist(), cannot, margin, fallback)
        got = miner(x, labels, pairs)
        assert got.as_set() == expected, f"seed {seed}"
        assert len(got) == len(expected)  # no duplicates
        nonempty += bool(expected)
    assert nonempty > 100


def test_triplets_are_sorted_index_tensors() -> None:
    x, labels, pairs = random_batch(5)
    t = SemiHardTripletMiner()(x, labels, pairs)
    assert isinstance(t, Triplets) and t.anchors.dtype == torch.long
    rows = list(zip(t.anchors.tolist(), t.positives.tolist(), t.negatives.tolist()))
    assert rows == sorted(rows)


def test_cannot_link_partner_is_always_a_negative_even_when_easy() -> None:
    # Faces 0 and 1 are person 0, face 2 is unlabelled and far away (an easy negative).
    x = torch.tensor([[1.0, 0.0], [0.99, 0.14], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, -1])
    miner = SemiHardTripletMiner(0.2)
    assert len(miner(x, labels)) == 0
    got = miner(x, labels, torch.tensor([[2, 0]])).as_set()
    assert got == {(0, 1, 2)}  # only face 0 is linked to face 2; face 2 is never an anchor


def test_cannot_link_overrides_equal_labels() -> None:
    x = torch.tensor([[1.0, 0.0], [0.9, 0.44], [0.8, 0.6]])
    labels = torch.tensor([0, 0, 0])
    got = SemiHardTripletMiner(0.2)(x, labels, torch.tensor([[0, 1]])).as_set()
    assert (0, 1, 2) not in got and (1, 0, 2) not in got  # 0-1 is never a positive pair
    assert {(0, 2, 1), (1, 2, 0)} <= got  # ... and always a negative one


def test_unlabelled_faces_are_never_anchors_or_positives() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10, 4, generator=g)
    labels = torch.tensor([0, 0, 1, 1, -1, -1, 2, -1, 2, 0])
    pairs = torch.tensor([[4, 0], [5, 7], [2, 6]])
    t = SemiHardTripletMiner(2.0)(x, labels, pairs)
    assert len(t) > 0
    assert (labels[t.anchors] >= 0).all() and (labels[t.positives] == labels[t.anchors]).all()
    unlabelled_negatives = set(t.negatives[labels[t.negatives] < 0].tolist())
    assert unlabelled_negatives == {4}  # only through its cannot-link pair with face 0


def test_no_positive_pairs_gives_no_triplets() -> None:
    x = torch.randn(4, 3)
    t = SemiHardTripletMiner()(x, torch.tensor([0, 1, 2, -1]), torch.tensor([[0, 3]]))
    assert len(t) == 0 and t.anchors.shape == (0,)


def test_pairwise_squared_distances_match_a_loop() -> None:
    x = torch.randn(6, 5, dtype=torch.float64)
    d = pairwise_squared_distances(x)
    for i, j in itertools.product(range(6), repeat=2):
        assert float(d[i, j]) == pytest.approx(float(((x[i] - x[j]) ** 2).sum()), abs=1e-12)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SemiHardTripletMiner(0.0)
    with pytest.raises(ValueError):
        SemiHardTripletMiner(0.2, fallback="hardest")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SemiHardTripletMiner()(torch.randn(3, 2), torch.tensor([0, 0, 1]), torch.tensor([[1, 1]]))
