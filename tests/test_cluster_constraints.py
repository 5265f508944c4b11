"""Constraint rules on small hand-made embeddings (2-d / 3-d unit vectors), then on synthetic libraries."""

from __future__ import annotations

import numpy as np
import pytest

from faceorg.cluster.constraints import Constraints, apply_constraints
from faceorg.cluster.engine import cluster_embeddings
from faceorg.cluster.params import default_params
from faceorg.cluster.synthetic import make_faces


def on_circle(degrees: list[float]) -> np.ndarray:
    """Unit vectors in 2-d at the given angles (1 degree apart is a distance of about 0.0175)."""
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.column_stack([np.cos(a), np.sin(a)]).astype(np.float32)


# Two clusters as HDBSCAN would give them: faces 0-4 around 0 degrees, faces 5-9 around 90 degrees.
VECTORS = on_circle([0, 2, 4, 6, 8, 90, 92, 94, 96, 98])
BASE = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
STRENGTH = np.ones(10)


def apply(constraints: Constraints, vectors: np.ndarray = VECTORS, base: np.ndarray = BASE,
          attach: float = 0.32) -> tuple[np.ndarray, np.ndarray, object]:
    return apply_constraints(vectors, base, np.ones(len(base)), constraints, attach_distance=attach)


def no_fixed(n: int = 10) -> np.ndarray:
    return np.full(n, -1)


def test_clusters_without_people_get_fresh_labels_above_every_person() -> None:
    labels, _, report = apply(Constraints(fixed=no_fixed(), forbidden=[(0, 7)]))
    assert set(labels.tolist()) == {8, 9}  # above person 7 mentioned in forbidden
    assert labels[0] == 8 and labels[5] == 9  # numbered by lowest face index
    labels, _, _ = apply(Constraints(first_new_label=100))
    assert set(labels.tolist()) == {100, 101}


def test_cluster_with_one_persons_fixed_faces_takes_that_person() -> None:
    fixed = no_fixed()
    fixed[2] = 3
    labels, strengths, report = apply(Constraints(fixed=fixed))
    assert (labels[:5] == 3).all()
    assert (labels[5:] == 4).all()  # fresh: does not collide with person 3
    assert report.cluster_labels == {0: 3, 1: 4}
    assert strengths[2] == 1.0


def test_fixed_faces_never_move() -> None:
    fixed = no_fixed()
    fixed[[0, 6, 9]] = [5, 5, 2]  # face 6 and 9: fixed to people other than their cluster's majority
    base = BASE.copy()
    base[9] = -1  # a fixed face HDBSCAN called noise
    constraints = Constraints(
        fixed=fixed, forbidden=[(0, 5)], cannot_link=[(0, 6)], groups=np.array([1, 1, 1, -1, -1, -1, 1, -1, -1, -1])
    )
    labels, strengths, report = apply(constraints, base=base)
    assert labels[0] == 5 and labels[6] == 5 and labels[9] == 2
    assert (strengths[[0, 6, 9]] == 1.0).all()
    assert len(report.conflicts) == 3  # forbidden vs fixed, cannot-link between fixed, same photo between fixed


def test_cluster_with_two_people_is_split_between_them() -> None:
    # One HDBSCAN cluster holding two people 20 degrees apart plus a far face at 60 degrees.
    vectors = on_circle([0, 1, 2, 3, 20, 21, 22, 23, 60])
    base = np.zeros(9, dtype=int)
    fixed = np.full(9, -1)
    fixed[0], fixed[7] = 1, 2
    labels, _, report = apply(Constraints(fixed=fixed), vectors=vectors, base=base, attach=0.3)
    assert labels[:4].tolist() == [1, 1, 1, 1]
    assert labels[4:8].tolist() == [2, 2, 2, 2]
    assert labels[8] == -1  # 37 degrees (0.63) from the nearest face of either person: too far
    assert report.split_clusters == {0: (1, 2)}


def test_split_grows_along_chains_not_just_nearest_fixed_face() -> None:
    # Person 1 is a chain from 0 to 30 degrees; person 2 sits at 45-47. Face at 30 is nearer person 2's
    # fixed face (at 47) than person 1's (at 0), but belongs to the chain.
    vectors = on_circle([0, 6, 12, 18, 24, 30, 45, 46, 47])
    base = np.zeros(9, dtype=int)
    fixed = np.full(9, -1)
    fixed[0], fixed[8] = 1, 2
    labels, _, _ = apply(Constraints(fixed=fixed), vectors=vectors, base=base, attach=0.3)
    assert labels.tolist() == [1, 1, 1, 1, 1, 1, 2, 2, 2]


def test_forbidden_face_moves_to_next_allowed_cluster_within_reach() -> None:
    # Face 4 (8 degrees) is in cluster 0; a third cluster sits at 20 degrees, within reach.
    vectors = on_circle([0, 2, 4, 6, 8, 90, 92, 94, 96, 98, 20, 21, 22])
    base = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    fixed = np.full(13, -1)
    fixed[0] = 4
    labels, strengths, report = apply(Constraints(fixed=fixed, forbidden=[(4, 4)]), vectors=vectors, base=base)
    assert labels[0] == 4 and labels[4] != 4
    assert labels[4] == labels[10]  # went to the 20-degree cluster
    assert 0 < strengths[4] < 1
    assert [(m.face, m.rule, m.from_label, m.to_label) for m in report.moves] == [(4, "forbidden", 4, labels[10])]


def test_forbidden_face_with_nothing_in_reach_becomes_unsorted() -> None:
    fixed = no_fixed()
    fixed[0] = 4
    labels, strengths, _ = apply(Constraints(fixed=fixed, forbidden=[(3, 4)]), attach=0.3)
    assert labels[3] == -1 and strengths[3] == 0.0
    assert (labels[[0, 1, 2, 4]] == 4).all()


def test_cannot_link_moves_the_weaker_match() -> None:
    # Face 0 (0 deg) is the cluster's edge, face 2 (4 deg) its centre: face 0 must leave.
    labels, _, report = apply(Constraints(cannot_link=[(0, 2)]), attach=0.3)
    assert labels[2] >= 0 and labels[0] != labels[2]
    assert labels[0] == -1
    assert report.moves[0].rule == "cannot_link"


def test_cannot_link_fixed_face_wins() -> None:
    fixed = no_fixed()
    fixed[0] = 1
    labels, _, _ = apply(Constraints(fixed=fixed, cannot_link=[(2, 0)]), attach=0.3)
    assert labels[0] == 1 and labels[2] != 1


def test_same_photo_keeps_only_the_better_match() -> None:
    groups = np.full(10, -1)
    groups[[2, 4, 7]] = 42  # faces 2 and 4 in cluster 0: face 2 is nearer its centre
    labels, _, report = apply(Constraints(groups=groups), attach=0.3)
    assert labels[2] >= 0 and labels[4] == -1
    assert labels[7] >= 0  # in another cluster: fine
    assert [m.rule for m in report.moves] == ["same_photo"]


def test_same_photo_fixed_face_wins_even_if_farther() -> None:
    groups = np.full(10, -1)
    groups[[2, 4]] = 42
    fixed = no_fixed()
    fixed[4] = 0
    labels, _, _ = apply(Constraints(fixed=fixed, groups=groups), attach=0.3)
    assert labels[4] == 0 and labels[2] != 0


def test_same_photo_loser_moves_to_another_cluster_in_reach() -> None:
    # Look-alikes: clusters at 0 and 12 degrees; a photo has faces at 6 and 5 degrees, both in cluster 0.
    vectors = on_circle([0, 1, 2, 5, 6, 11, 12, 13])
    base = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    groups = np.array([-1, -1, -1, 9, 9, -1, -1, -1])
    labels, _, _ = apply(Constraints(groups=groups), vectors=vectors, base=base)
    assert labels[3] == labels[0]
    assert labels[4] == labels[6]


def test_constraints_are_deterministic() -> None:
    constraints = Constraints(
        fixed=np.array([-1, -1, 1, -1, -1, -1, -1, 2, -1, -1]),
        forbidden=[(3, 1)],
        cannot_link=[(5, 6)],
        groups=np.array([1, 1, -1, 2, 2, 3, -1, -1, 3, -1]),
    )
    first = apply(constraints)
    second = apply(constraints)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_rejects_bad_indices() -> None:
    with pytest.raises(ValueError):
        apply(Constraints(forbidden=[(10, 1)]))
    with pytest.raises(ValueError):
        apply(Constraints(cannot_link=[(0, -1)]))
    with pytest.raises(ValueError):
        apply(Constraints(fixed=np.full(3, -1)))


@pytest.mark.parametrize("seed", [0, 1])
def test_every_rule_holds_on_a_synthetic_library(seed: int) -> None:
    faces = make_faces(3000, seed=seed)
    n = len(faces.vectors)
    rng = np.random.default_rng(seed)
    ids = faces.identities
    big = [p for p, c in zip(*np.unique(ids, return_counts=True)) if c >= 20][:6]
    fixed = np.full(n, -1)
    for person_label, identity in enumerate(big):  # confirm 3 faces of a few people
        fixed[rng.choice(np.flatnonzero(ids == identity), 3, replace=False)] = person_label
    free = np.flatnonzero(fixed < 0)
    forbidden = [(int(f), int(rng.integers(0, len(big)))) for f in rng.choice(free, 80, replace=False)]
    cannot = [tuple(int(v) for v in rng.choice(n, 2, replace=False)) for _ in range(200)]
    groups = rng.integers(-1, n // 3, size=n)  # about three faces per photo
    constraints = Constraints(fixed=fixed, forbidden=forbidden, cannot_link=cannot, groups=groups)

    result = cluster_embeddings(faces.vectors, default_params(n), constraints)
    labels = result.labels
    assert (labels[fixed >= 0] == fixed[fixed >= 0]).all()
    assert all(labels[f] != p for f, p in forbidden)
    violations = [(a, b) for a, b in cannot if labels[a] >= 0 and labels[a] == labels[b]]
    assert all(fixed[a] >= 0 and fixed[b] >= 0 for a, b in violations)
    seen: dict[tuple[int, int], int] = {}
    for face in np.flatnonzero((labels >= 0) & (groups >= 0)).tolist():
        key = (int(labels[face]), int(groups[face]))
        assert key not in seen or (fixed[face] >= 0 and fixed[seen[key]] >= 0)
        seen[key] = face
    fresh = set(labels[labels >= len(big)].tolist())
    assert fresh.isdisjoint(range(len(big)))
    assert ((result.strengths >= 0) & (result.strengths <= 1)).all()
    again = cluster_embeddings(faces.vectors, default_params(n), constraints)
    np.testing.assert_array_equal(labels, again.labels)
