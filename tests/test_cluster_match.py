"""Matching new faces to named people, and carrying unnamed cluster ids over a re-clustering."""

from __future__ import annotations

import numpy as np
import pytest

from faceorg.cluster.match import (
    build_person_index,
    carry_over_labels,
    match_to_people,
    person_distances,
)
from faceorg.cluster.synthetic import make_faces
from faceorg.vectors import spherical_kmeans


def on_circle(degrees: list[float]) -> np.ndarray:
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.column_stack([np.cos(a), np.sin(a)]).astype(np.float32)


CONFIRMED = on_circle([0, 2, 4, 30, 32, 34])
PEOPLE = np.array([7, 7, 7, 9, 9, 9])


@pytest.mark.parametrize("method", ["centres", "nearest_face"])
def test_match_returns_person_distance_and_runner_up(method: str) -> None:
    index = build_person_index(CONFIRMED, PEOPLE, method=method)
    match = match_to_people(on_circle([3, 31, 17, 120]), index, margin=0.05, max_distance=0.3)
    assert match.labels.tolist() == [7, 9, -1, -1]  # 17 deg: a tie; 120 deg: too far
    assert match.runner_up_labels.tolist()[:2] == [9, 7]
    assert (match.distances <= match.runner_up_distances).all()
    assert match.distances[3] > 0.3


def test_nearest_face_distance_is_distance_to_closest_confirmed_face() -> None:
    index = build_person_index(CONFIRMED, PEOPLE, method="nearest_face")
    people, dist = person_distances(on_circle([5]), index)
    assert people.tolist() == [7, 9]
    expected = np.linalg.norm(on_circle([5])[0] - on_circle([4])[0])
    assert dist[0, 0] == pytest.approx(expected, abs=1e-6)


def test_person_with_two_looks_gets_two_centres() -> None:
    faces = on_circle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9] + [60, 61, 62, 63, 64, 65, 66, 67, 68, 69])
    index = build_person_index(faces, np.zeros(20, dtype=int), faces_per_centre=10, max_centres=3)
    assert len(index.vectors) == 2
    angles = np.sort(np.degrees(np.arctan2(index.vectors[:, 1], index.vectors[:, 0])))
    assert angles == pytest.approx([4.5, 64.5], abs=0.5)
    # A face at 64 degrees is near the second centre though far from the mean of all.
    assert match_to_people(on_circle([64]), index, max_distance=0.1).labels.tolist() == [0]


def test_single_person_and_empty_index() -> None:
    index = build_person_index(CONFIRMED[:3], PEOPLE[:3])
    match = match_to_people(on_circle([1]), index, margin=0.05, max_distance=0.3)
    assert match.labels.tolist() == [7] and match.runner_up_labels.tolist() == [-1]
    assert np.isinf(match.runner_up_distances[0])
    empty = build_person_index(np.empty((0, 2), np.float32), np.empty(0, int))
    assert match_to_people(on_circle([1]), empty).labels.tolist() == [-1]


def test_spherical_kmeans_is_deterministic() -> None:
    x = make_faces(300, seed=1).vectors
    np.testing.assert_array_equal(spherical_kmeans(x, 3), spherical_kmeans(x.copy(), 3))


def test_matching_on_synthetic_library_is_accurate() -> None:
    faces = make_faces(6000, seed=3)
    ids = faces.identities
    people, counts = np.unique(ids, return_counts=True)
    named = people[counts >= 15]
    rng = np.random.default_rng(0)
    confirmed, queries = [], []
    for person in named:
        members = rng.permutation(np.flatnonzero(ids == person))
        confirmed += members[:5].tolist()
        queries += members[5:].tolist()
    index = build_person_index(faces.vectors[confirmed], ids[confirmed])
    match = match_to_people(faces.vectors[queries], index)
    assert np.mean(match.labels == ids[queries]) > 0.9
    assert np.mean((match.labels >= 0) & (match.labels != ids[queries])) < 0.005
    strangers = np.flatnonzero(~np.isin(ids, named))
    assert np.mean(match_to_people(faces.vectors[strangers], index).labels >= 0) < 0.03


def test_carry_over_keeps_ids_of_mostly_unchanged_clusters() -> None:
    old = {f: 100 for f in range(10)} | {f: 200 for f in range(10, 20)} | {f: 300 for f in range(20, 24)}
    new = {
        0: list(range(1, 12)),  # 9 of 100's 10 faces plus 2 of 200: 100
        1: list(range(12, 20)) + [30, 31],  # 8 of 200's faces and 2 new faces: 200
        2: [20, 21, 40, 41, 42, 43],  # half of 300, but Jaccard 2/8: too different
        3: [50, 51],  # all new faces
    }
    assert carry_over_labels(old, new) == {0: 100, 1: 200}


def test_carry_over_matches_each_old_label_once_biggest_overlap_first() -> None:
    old = {f: 1 for f in range(10)}
    new = {5: list(range(6)), 6: list(range(6, 10))}  # 1 split in two: only the bigger half keeps it
    assert carry_over_labels(old, new) == {5: 1}
    assert carry_over_labels(old, new, min_jaccard=0.7) == {}
    assert carry_over_labels({}, new) == {}
