"""Shared fixtures: an isolated data folder for every test, and the real face photos when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACEORG_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FACEORG_DATA_DIR at a fresh folder, so no test touches the user's library.

    The installed models are shared through FACEORG_MODELS_DIR when it is set (CI sets it).
    """
    path = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("FACEORG_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real face photos with ground truth); skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real face data not found at {SHARED_DATA} (set FACEORG_SHARED_DATA)")
    return SHARED_DATA
