"""PersonBatchSampler and CannotLinkIndex, checked by counting."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from faceorg.train.samplers import CannotLinkIndex, PersonBatchSampler


def skewed_labels(seed: int = 0) -> np.ndarray:
    """People with 1..40 faces (one of them dominant), interleaved with unlabelled faces."""
    rng = np.random.default_rng(seed)
    counts = [1, 2, 3, 4, 5, 7, 9, 40] + rng.integers(1, 12, size=8).tolist()
    labels = np.repeat(np.arange(len(counts)), counts)
    labels = np.concatenate([labels, np.full(25, -1)])
    return rng.permutation(labels)


def expected_batches(labels: np.ndarray, people: int, faces: int) -> int:
    """Epoch length computed the slow way."""
    chunks = [math.ceil(np.count_nonzero(labels == p) / faces) for p in set(labels.tolist()) - {-1}]
    return max(math.ceil(sum(chunks) / people), max(chunks))


@pytest.mark.parametrize("people, faces", [(4, 4), (3, 2), (6, 5), (1, 3)])
def test_every_batch_has_the_promised_structure(people: int, faces: int) -> None:
    labels = skewed_labels()
    sampler = PersonBatchSampler(labels, people, faces, seed=1)
    for _ in range(3):
        batches = list(sampler)
        assert len(batches) == len(sampler) == expected_batches(labels, people, faces)
        for batch in batches:
            assert len(batch) == people * faces == sampler.batch_size
            per_person = Counter(labels[batch].tolist())
            assert -1 not in per_person
            assert len(per_person) == people
            assert set(per_person.values()) == {faces}


@pytest.mark.parametrize("people, faces", [(4, 4), (3, 2), (6, 5), (1, 3)])
def test_every_labelled_face_is_seen_every_epoch(people: int, faces: int) -> None:
    labels = skewed_labels(seed=3)
    sampler = PersonBatchSampler(labels, people, faces, seed=2)
    labelled = set(np.flatnonzero(labels >= 0).tolist())
    for _ in range(4):
        seen = [i for batch in sampler for i in batch]
        assert set(seen) == labelled


def test_faces_repeat_only_when_a_person_has_too_few() -> None:
    labels = skewed_labels()
    sampler = PersonBatchSampler(labels, 4, 4, seed=0)
    sizes = Counter(labels[labels >= 0].tolist())
    for batch in sampler:
        for person in set(labels[batch].tolist()):
            mine = [i for i in batch if labels[i] == person]
            if sizes[person] >= 4:
                assert len(set(mine)) == 4
            else:  # all of the person's faces, then repeats
                assert len(set(mine)) == sizes[person]


def test_a_single_face_person_is_repeated() -> None:
    labels = np.array([0, 1, 1, 1, 1, 2, 2])
    batches = PersonBatchSampler(labels, 3, 4, seed=0).epoch_batches(0)
    assert len(batches) == 1
    assert sorted(batches[0]).count(0) == 4


def test_people_per_batch_is_capped_by_the_number_of_people() -> None:
    labels = np.array([0, 0, 1, 1, 1, -1])
    sampler = PersonBatchSampler(labels, 10, 2, seed=0)
    assert sampler.people_per_batch == 2
    assert all(len(b) == 4 for b in sampler)


def test_deterministic_under_a_seed() -> None:
    labels = skewed_labels()
    a = PersonBatchSampler(labels, 4, 3, seed=7)
    b = PersonBatchSampler(labels, 4, 3, seed=7)
    first_a, second_a = list(a), list(a)
    assert first_a == list(b) and second_a == list(b)
    assert first_a != second_a  # a new epoch is a new shuffle
    a.set_epoch(1)
    assert list(a) == second_a
    assert list(PersonBatchSampler(labels, 4, 3, seed=8)) != first_a


def test_rejects_unusable_input() -> None:
    with pytest.raises(ValueError):
        PersonBatchSampler(np.full(5, -1), 2, 2, seed=0)
    with pytest.raises(ValueError):
        PersonBatchSampler(np.array([0.5, 1.0]), 2, 2, seed=0)
    with pytest.raises(ValueError):
        PersonBatchSampler(np.array([0, 1]), 0, 2, seed=0)


def test_cannot_link_pairs_in_a_batch_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    pairs = {tuple(sorted(p)) for p in rng.integers(0, 30, size=(60, 2)).tolist() if p[0] != p[1]}
    index = CannotLinkIndex(np.array(sorted(pairs)), 30)
    for _ in range(20):
        batch = rng.integers(0, 30, size=12)  # with repeats, as the sampler may produce
        expected = sorted({(a, b) for a in range(len(batch)) for b in range(a + 1, len(batch))
                           if tuple(sorted((batch[a], batch[b]))) in pairs})
        assert index.pairs_in_batch(batch).tolist() == [list(p) for p in expected]
        partners = {j for i, j in pairs if i in batch} | {i for i, j in pairs if j in batch}
        assert index.partners(batch).tolist() == sorted(partners)


def test_cannot_link_index_validates_and_deduplicates() -> None:
    index = CannotLinkIndex([(3, 1), (1, 3), (2, 0)], 4)
    assert index.pairs.tolist() == [[0, 2], [1, 3]]
    assert len(index) == 2
    assert CannotLinkIndex([], 4).pairs_in_batch([0, 1]).shape == (0, 2)
    with pytest.raises(ValueError):
        CannotLinkIndex([(1, 1)], 4)
    with pytest.raises(ValueError):
        CannotLinkIndex([(1, 4)], 4)
