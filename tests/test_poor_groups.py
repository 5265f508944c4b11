"""Groups of poor faces (tiny, blurred, cut off) are left unsorted, relative to the library's own quality,
unless the user placed one of their faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceorg.cluster.poor_groups import poor_groups
from faceorg.people import ops
from faceorg.people.clustering import recluster
from tests.libgen import make_library
from tests.test_people_clustering import groups, identity_vectors, person_of


def test_poor_groups_are_those_far_below_the_library() -> None:
    labels = np.array([0] * 6 + [1, 1, 1, 2, 2, -1, -1, -1, 3])
    quality = np.array([0.9] * 6 + [0.3, 0.35, 0.4, 0.3, 0.3, 0.85, 0.85, 0.85, 0.2])  # median 0.85
    held = np.zeros(len(labels), bool)
    assert poor_groups(labels, quality, held, margin=0.25) == [1, 2]  # a single face is no group
    assert poor_groups(labels, quality, held, margin=0.6) == []
    held[9] = True  # the user placed a face of group 2
    assert poor_groups(labels, quality, held, margin=0.25) == [1]
    assert poor_groups(labels, quality, held, margin=0.0) == []
    assert poor_groups(labels, np.full(len(labels), 0.35), np.zeros(len(labels), bool)) == []  # all alike
    assert poor_groups(np.array([], np.int64), np.array([]), np.array([], bool)) == []


def test_grouping_leaves_a_group_of_poor_faces_unsorted_but_not_one_the_user_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    vecs = identity_vectors(rng, 4, 6)
    photos = [[v] for v in vecs]
    qualities = [[0.2 if k >= 18 else 0.9] for k in range(len(vecs))]  # the 4th person: tiny, blurred faces
    lib, ids = make_library(tmp_path / "lib.sqlite", photos, qualities=qualities)
    with lib:
        recluster(lib, full=True)
        faces = [f for (f,) in ids]
        good, poor = faces[:18], faces[18:]
        assert sorted(len(g) for g in groups(lib)) == [6, 6, 6]
        assert all(person_of(lib, f) == (None, None) for f in poor)
        assert all(person_of(lib, f)[0] is not None for f in good)
        ops.assign_faces_to_name(lib, poor[:2], "Grandma")  # old scans, named by the user
        recluster(lib, full=True)
        grandma = person_of(lib, poor[0])[0]
        assert grandma is not None and person_of(lib, poor[1]) == (grandma, "user")
