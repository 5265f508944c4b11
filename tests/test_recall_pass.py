"""The recall pass after grouping: joins and attaches only on strong evidence, never against a rule."""

from __future__ import annotations

import numpy as np
import pytest

from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.recall_pass import RecallSettings, recall_pass
from faceorg.vectors import l2_normalize, unit_distances

DIM = 128
LOOSE = RecallSettings(join_distance=0.45, join_spread=0.6, attach_distance=0.5, ratio=1.2, pool=1000)


def blob(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    return l2_normalize(centre + rng.normal(scale=spread / np.sqrt(DIM), size=(n, DIM)))


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def two_looks_and_a_stranger(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Person A in two groups (two looks, close), person B far away, and one unsorted face of A."""
    rng = np.random.default_rng(seed)
    a, b = unit(rng), unit(rng)
    look = l2_normalize(a + 0.25 * unit(rng))
    x = np.vstack([blob(rng, a, 6, 0.15), blob(rng, look, 6, 0.15), blob(rng, b, 6, 0.15),
                   blob(rng, a, 1, 0.15)]).astype(np.float32)
    labels = np.array([0] * 6 + [1] * 6 + [2] * 6 + [-1])
    return x, labels


def brute_attach(x: np.ndarray, labels: np.ndarray, s: RecallSettings) -> np.ndarray:
    """Every unsorted face against every group, the slow obvious way (no rules)."""
    out = labels.copy()
    d = unit_distances(x, x)
    for i in np.flatnonzero(labels < 0):
        scores = sorted((float(np.sort(d[i, labels == g])[:s.nearest].mean()), int(g))
                        for g in np.unique(labels[labels >= 0]))
        best, runner = scores[0], (scores[1][0] if len(scores) > 1 else np.inf)
        if best[0] <= s.attach_distance and runner >= s.ratio * best[0]:
            out[i] = best[1]
    return out


def brute_join(x: np.ndarray, labels: np.ndarray, s: RecallSettings) -> np.ndarray:
    """Repeatedly join the closest pair of groups that passes both tests (no rules)."""
    out = labels.copy()
    while True:
        best = None
        groups = np.unique(out[out >= 0])
        for i, g in enumerate(groups):
            for h in groups[i + 1:]:
                d = np.sort(unit_distances(x[out == g], x[out == h]).ravel())
                close, spread = d[:s.linkage_pairs].mean(), d.mean()
                if close <= s.join_distance and spread <= s.join_spread and (best is None or close < best[0]):
                    best = (close, g, h)
        if best is None:
            return out
        _, g, h = best
        keep, gone = (g, h) if (out == g).sum() >= (out == h).sum() else (h, g)
        out[out == gone] = keep


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs_a = {(i, j) for i in range(len(a)) for j in range(len(a)) if a[i] >= 0 and a[i] == a[j]}
    pairs_b = {(i, j) for i in range(len(b)) for j in range(len(b)) if b[i] >= 0 and b[i] == b[j]}
    return pairs_a == pairs_b and bool(np.array_equal(a < 0, b < 0))


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_brute_force_loop(seed: int) -> None:
    x, labels = two_looks_and_a_stranger(seed)
    graph = knn_exact(x, len(x) - 1)
    out, _, report = recall_pass(x, labels, np.ones(len(x)), graph, LOOSE)
    expected = brute_attach(x, brute_join(x, labels, LOOSE), LOOSE)
    assert same_partition(out, expected)
    assert out[0] == out[6] and out[12] != out[0] and out[18] == out[0]  # A joined and found; B apart
    assert report.as_dict() == {"groups_joined": 1, "faces_joined": 6, "faces_attached": 1}


def test_weak_evidence_changes_nothing() -> None:
    x, labels = two_looks_and_a_stranger(1)
    graph = knn_exact(x, len(x) - 1)
    strict = RecallSettings(join_distance=0.1, join_spread=0.3, attach_distance=0.1, ratio=1.2)
    out, strengths, report = recall_pass(x, labels, np.ones(len(x)), graph, strict)
    assert np.array_equal(out, labels) and report.as_dict() == {"groups_joined": 0, "faces_joined": 0,
                                                                 "faces_attached": 0}


def test_a_face_between_two_people_stays_unsorted() -> None:
    rng = np.random.default_rng(5)
    a, b = unit(rng), unit(rng)
    middle = l2_normalize(a + b)
    x = np.vstack([blob(rng, a, 5, 0.1), blob(rng, b, 5, 0.1), middle[None, :]]).astype(np.float32)
    labels = np.array([0] * 5 + [1] * 5 + [-1])
    settings = RecallSettings(join_distance=0.0, join_spread=0.0, attach_distance=2.0, ratio=1.2, pool=1000)
    out, _, _ = recall_pass(x, labels, np.ones(len(x)), knn_exact(x, 10), settings)
    assert out[-1] == -1  # near enough to both, but not clearly nearer one: the ratio test refuses
    assert np.array_equal(out, brute_attach(x, labels, settings))


def test_rules_block_joins_and_attachments() -> None:
    x, labels = two_looks_and_a_stranger(2)
    graph = knn_exact(x, len(x) - 1)
    ones = np.ones(len(x))
    n = len(x)
    # Same photo: a face of group 0 and a face of group 1 come from one photo, the stray shares a photo with
    # a face of group 0 too.
    photo = np.arange(n)
    photo[7] = photo[0]
    photo[18] = photo[1]
    out, _, report = recall_pass(x, labels, ones, graph, LOOSE, photo=photo)
    assert out[0] != out[6] and out[18] != out[0] and report.groups_joined == 0
    # Cannot-link between the two looks, and between the stray and a face of group 0.
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, cannot_link=[(2, 9), (18, 3)])
    assert out[0] != out[6] and out[18] != out[0]
    # Faces the user gave to two different people: the groups stay apart.
    fixed = np.full(n, -1)
    fixed[0], fixed[6] = 100, 101
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed)
    assert out[0] != out[6]
    # The user's own face is never moved or attached by the pass; a face ruled out for the person stays out.
    fixed = np.full(n, -1)
    fixed[18] = 100
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed)
    assert out[18] == -1
    fixed = np.full(n, -1)
    fixed[0] = 100
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed, forbidden=[(18, 100)])
    assert out[18] != out[0]
    # Without any rule the same inputs do join (the rules above are what stopped it).
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE)
    assert out[0] == out[6] == out[18]
