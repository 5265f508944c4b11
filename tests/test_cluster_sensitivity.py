"""The grouping setting: "Sort more faces" sorts more faces than "Balanced", and "Only sure groups" fewer,
on a small library too (below 2,000 faces, where the engine's own knob has no room left)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from faceorg.people.clustering import cluster_params, recluster
from faceorg.settings import Settings, load_settings, save_settings
from faceorg.store.models import Assignment
from tests.libgen import make_library


def test_the_three_settings_give_three_different_groupings() -> None:
    params = {s: cluster_params(replace(Settings(), cluster_sensitivity=s), 300) for s in ("fewer", "balanced", "more")}
    assert len(set(params.values())) == 3, params


def test_more_sorts_more_faces_and_fewer_fewer(tmp_path: Path) -> None:
    # 60 people seen 1-6 times each (190 faces); one person's faces lie ~0.35 apart, about the median
    # distance between two faces of one person in our vectors.
    rng = np.random.default_rng(3)
    photos = []
    for _ in range(60):
        centre = rng.normal(size=128)
        centre /= np.linalg.norm(centre)
        photos += [[centre + rng.normal(size=128) * 0.25 / np.sqrt(128)] for _ in range(int(rng.integers(1, 7)))]
    library, _ids = make_library(tmp_path / "lib.sqlite", photos)
    sorted_faces = {}
    try:
        for sensitivity in ("fewer", "balanced", "more"):
            save_settings(library, replace(load_settings(library), cluster_sensitivity=sensitivity))
            recluster(library, full=True)
            with library.session() as s:
                sorted_faces[sensitivity] = s.scalar(select(func.count()).select_from(Assignment))
    finally:
        library.close()
    assert sorted_faces["fewer"] < sorted_faces["balanced"] < sorted_faces["more"], sorted_faces
