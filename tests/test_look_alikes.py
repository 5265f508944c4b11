"""Look-alikes first: faces ordered by their distance to the nearest of some chosen faces (core and CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete

from faceorg.cli.main import main
from faceorg.errors import FaceorgError
from faceorg.people.nearest import order_by_likeness
from faceorg.store.models import Embedding
from faceorg.vectors import unit_distances
from tests.libgen import make_library


def _unit(angle: float) -> np.ndarray:
    v = np.zeros(8)
    v[0], v[1] = np.cos(angle), np.sin(angle)
    return v


def _library(path: Path):  # type: ignore[no-untyped-def]
    """Faces at 0 (the seed), 0.9, 0.2, 0.5 and 1.4 radians from the seed; the last one without a vector."""
    angles = [0.0, 0.9, 0.2, 0.5, 1.4]
    library, ids = make_library(path, [[_unit(a)] for a in angles])
    faces = [row[0] for row in ids]
    with library.transaction() as s:
        s.execute(delete(Embedding).where(Embedding.face_id == faces[4]))
    return library, faces, angles


def test_faces_nearest_to_the_chosen_ones_first(tmp_path: Path) -> None:
    library, faces, angles = _library(tmp_path / "lib.sqlite")
    seed, far, near, middle, no_vector = faces
    ranked = order_by_likeness(library, [seed], faces)
    assert [f for f, _ in ranked] == [near, middle, far, no_vector]  # the seed itself is left out
    expected = unit_distances(np.array([_unit(a) for a in (0.2, 0.5, 0.9)]), np.array([_unit(0.0)]))[:, 0]
    assert np.allclose([d for _, d in ranked[:3]], expected, atol=1e-5) and ranked[3][1] is None
    # two seeds: each face is as near as its nearest seed (0.9 is 0.4 from 0.5)
    assert [f for f, _ in order_by_likeness(library, [seed, middle], faces)] == [near, far, no_vector]
    with pytest.raises(FaceorgError, match="no face with id 999"):
        order_by_likeness(library, [999], faces)
    with pytest.raises(FaceorgError, match="at least one face"):
        order_by_likeness(library, [], faces)
    library.close()


def test_faces_list_like_puts_the_chosen_face_then_its_look_alikes_first(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite"
    library, faces, _ = _library(db)
    library.close()
    seed, far, near, middle, no_vector = faces
    assert main(["--db", str(db), "faces", "list", "--unassigned", "--like", str(seed), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [f["id"] for f in listed] == [seed, near, middle, far, no_vector]
    distances = [f["like_distance"] for f in listed]
    assert distances[0] == 0.0 and distances[1] < distances[2] < distances[3] and distances[4] is None
    assert main(["--db", str(db), "faces", "list", "--unassigned", "--json"]) == 0  # no --like: as before
    assert all(f["like_distance"] is None for f in json.loads(capsys.readouterr().out))
    assert main(["--db", str(db), "faces", "list", "--unassigned", "--like", "12345"]) == 1
    assert "no face with id 12345" in capsys.readouterr().err
