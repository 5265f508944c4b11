"""Shared fixtures: an isolated data folder for every test, and the real face photos when present."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

REPO = Path(__file__).resolve().parents[1]

# db_location (SQLite and PostgreSQL), postgres_database, postgres_server
pytest_plugins = ["tests.backends"]


def _shared_data() -> Path:
    """``$FACEORG_SHARED_DATA``, else ``../shared/data`` beside the checkout (no machine's own path)."""
    if os.environ.get("FACEORG_SHARED_DATA"):
        return Path(os.environ["FACEORG_SHARED_DATA"])
    return REPO.parent / "shared" / "data"


SHARED_DATA = _shared_data()
# The models installed by `faceorg models fetch` (in the user's data folder unless overridden), shared by
# all tests even though each test gets its own data folder.
INSTALLED_MODELS = Path(os.environ.get("FACEORG_MODELS_DIR")
                        or Path(platformdirs.user_data_dir("faceorg", appauthor=False)) / "models")


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FACEORG_DATA_DIR at a fresh folder, so no test touches the user's library.

    The installed models stay shared: FACEORG_MODELS_DIR points at them.
    """
    path = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("FACEORG_DATA_DIR", str(path))
    monkeypatch.setenv("FACEORG_MODELS_DIR", str(INSTALLED_MODELS))
    return path


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The installed models; skip when absent, unless FACEORG_REQUIRE_MODELS=1 (CI) makes that a failure."""
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE, DETECTOR_FILE

    missing = [f for f in (DETECTOR_FILE, BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE)
               if not (INSTALLED_MODELS / f).is_file()]
    if missing:
        message = f"models {missing} not installed in {INSTALLED_MODELS}: run `faceorg models fetch`"
        if os.environ.get("FACEORG_REQUIRE_MODELS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return INSTALLED_MODELS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real face photos with ground truth); skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real face data not found at {SHARED_DATA} (set FACEORG_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def real_detector():  # type: ignore[no-untyped-def]
    """The real RetinaFace detector on the CPU (2 threads); needs only the detector model file."""
    from faceorg.detect.retinaface import RetinaFaceDetector
    from faceorg.weights.registry import DETECTOR_FILE

    path = INSTALLED_MODELS / DETECTOR_FILE
    if not path.is_file():
        message = f"{DETECTOR_FILE} not installed in {INSTALLED_MODELS}: run `faceorg models fetch`"
        if os.environ.get("FACEORG_REQUIRE_MODELS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return RetinaFaceDetector(path, use_gpu=False, threads=2)
