"""Where faceorg keeps its files: the user's data folder (platformdirs), overridable for tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "faceorg"
DATA_DIR_ENV = "FACEORG_DATA_DIR"
MODELS_DIR_ENV = "FACEORG_MODELS_DIR"


def data_dir() -> Path:
    """The folder for the default library database and the model files.

    ``$FACEORG_DATA_DIR`` overrides the platform's user data folder (tests and CI use it).
    """
    override = os.environ.get(DATA_DIR_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """The library database used when no ``--db`` is given."""
    return data_dir() / "library.sqlite"


def models_dir() -> Path:
    """The folder holding the installed model files (``$FACEORG_MODELS_DIR`` overrides)."""
    override = os.environ.get(MODELS_DIR_ENV)
    path = Path(override) if override else data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


CONFIG_DIR_ENV = "FACEORG_CONFIG_DIR"


def config_dir() -> Path:
    """The folder for this user's choices on this computer (graphics card use, threads).

    ``$FACEORG_CONFIG_DIR`` overrides; else ``$FACEORG_DATA_DIR`` when set (tests and portable setups keep
    everything in one folder); else the platform's user config folder.
    """
    override = os.environ.get(CONFIG_DIR_ENV) or os.environ.get(DATA_DIR_ENV)
    path = Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
