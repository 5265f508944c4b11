"""An analyser sent to another process as a recipe (model bytes and their SHA-256) finds the same faces."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from faceorg.errors import FaceorgError
from faceorg.imaging.decode import load_working_image
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.pipeline.recipe import build_analyzer, recipe_of
from faceorg.store import open_library


def test_a_rebuilt_analyser_finds_the_same_faces(models_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        local = analyzer_for_library(library)
    recipe = recipe_of(local, use_gpu=False)
    remote = build_analyzer(recipe, threads=1, folder=tmp_path / "cache")
    assert (remote.key, remote.working_side, remote.model_version_id) == (local.key, local.working_side,
                                                                          local.model_version_id)
    image = load_working_image((shared_data / "photos-annotated" / "bald_guys.jpg").read_bytes(),
                               max_side=local.working_side)
    here, there = local.analyze([image])[0], remote.analyze([image])[0]
    assert len(here) == len(there) >= 20
    for a, b in zip(here, there):
        assert (a.box, a.landmarks, a.score, a.chip) == (b.box, b.landmarks, b.score, b.chip)
        np.testing.assert_array_equal(a.vector, b.vector)


def test_models_are_checked_by_sha256(models_dir: Path, tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        recipe = recipe_of(analyzer_for_library(library), use_gpu=False)
    cache = tmp_path / "cache"
    damaged = dataclasses.replace(recipe.embedder, data=recipe.embedder.data[:-10] + bytes(10))
    with pytest.raises(FaceorgError, match="arrived damaged"):
        build_analyzer(dataclasses.replace(recipe, embedder=damaged), folder=cache)
    other = dataclasses.replace(recipe, detector=recipe.embedder)  # not the detector the settings name
    with pytest.raises(FaceorgError, match="does not match"):
        build_analyzer(other, folder=cache)
    # A cached copy changed on the worker's disk is replaced by the bytes sent.
    path = recipe.detector.checked_path(cache)
    path.write_bytes(b"tampered")
    assert recipe.detector.checked_path(cache) == path and path.read_bytes() == recipe.detector.data
