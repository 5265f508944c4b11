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
    assert poor_groups(np.array([-1, -1]), np.array([0.9, 0.1]), np.zeros(2, bool)) == []


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


def test_a_group_the_user_hid_is_left_as_it_is(tmp_path: Path) -> None:
    """Hidden (to keep it out of sight), a group stays a group when its faces later count as poor."""
    import sqlalchemy as sa

    from faceorg.store.models import Face

    rng = np.random.default_rng(6)
    photos = [[v] for v in identity_vectors(rng, 4, 6)]
    lib, ids = make_library(tmp_path / "lib.sqlite", photos, qualities=[[0.9]] * len(photos))
    with lib:
        recluster(lib, full=True)
        faces = [f for (f,) in ids]
        last = faces[18:]
        group = person_of(lib, last[0])[0]
        assert group is not None and all(person_of(lib, f)[0] == group for f in last)
        ops.hide_person(lib, group)
        with lib.transaction() as s:  # e.g. measured again by a newer quality
            s.execute(sa.update(Face).where(Face.id.in_(last)).values(quality=0.2))
        recluster(lib, full=True)
        assert {person_of(lib, f)[0] for f in last} == {group}
