"""The shared base helpers: atomic writes leave nothing behind on failure; distances match brute force."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from faceorg.files import bytes_sha256, replacing, sha256_file, write_bytes_atomic
from faceorg.vectors import distance_from_similarity, l2_normalize, unit_distances, upper_pair_distances


def test_atomic_write_replaces_and_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    write_bytes_atomic(target, b"old")
    assert target.read_bytes() == b"old"
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sha256_file(target) == bytes_sha256(b"new") == hashlib.sha256(b"new").hexdigest()


def test_distances_match_a_loop() -> None:
    rng = np.random.default_rng(0)
    a = l2_normalize(rng.normal(size=(7, 5)))
    b = l2_normalize(rng.normal(size=(4, 5)))
    d = unit_distances(a, b)
    for i in range(7):
        for j in range(4):
            assert d[i, j] == pytest.approx(np.linalg.norm(a[i] - b[j]), abs=1e-9)
    pairs = upper_pair_distances(a)
    expected = [np.linalg.norm(a[i] - a[j]) for i in range(7) for j in range(i + 1, 7)]
    assert np.allclose(pairs, expected)
    assert float(distance_from_similarity(1.0000001)) == 0.0
