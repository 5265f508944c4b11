"""Settings: a versioned library part migrated step by step, values checked on load, and this computer's
choices (graphics card, threads) kept in a per-user file rather than in the library."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from faceorg.errors import FaceorgError
from faceorg.people.clustering import cluster_params
from faceorg.settings import (
    SCHEMA_VERSION,
    VERSION_KEY,
    Settings,
    computer_settings_path,
    load_settings,
    load_settings_report,
    save_settings,
    update_settings,
)
from faceorg.store import open_library
from faceorg.store.db import Library
from faceorg.store.models import Setting


def stored_rows(library: Library) -> dict[str, Any]:
    with library.session() as s:
        return {row.key: row.value for row in s.query(Setting)}


def put_rows(library: Library, rows: dict[str, Any]) -> None:
    """Rows as an older faceorg (or a damaged file) left them, bypassing the settings code."""
    with library.transaction() as s:
        for key, value in rows.items():
            s.merge(Setting(key=key, value=value))


def test_unversioned_settings_are_migrated_and_the_gpu_choice_moves_to_this_computer(tmp_path: Path) -> None:
    with open_library(tmp_path / "old.sqlite") as library:
        put_rows(library, {"use_gpu": False, "min_face_size": 30, "cluster_sensitivity": "more"})
        report = load_settings_report(library)
        assert report.migrated_from == 1 and report.resets == []
        assert (report.settings.use_gpu, report.settings.min_face_size, report.settings.cluster_sensitivity) == (
            False, 30, "more")
        rows = stored_rows(library)
        assert rows[VERSION_KEY] == SCHEMA_VERSION and "use_gpu" not in rows and rows["min_face_size"] == 30
        assert json.loads(computer_settings_path().read_text())["use_gpu"] is False
        assert load_settings_report(library).migrated_from == SCHEMA_VERSION  # once only
    with open_library(tmp_path / "other.sqlite") as other:  # the choice belongs to this computer now
        assert load_settings(other).use_gpu is False


def test_migration_keeps_this_computers_own_choice(tmp_path: Path) -> None:
    computer_settings_path().write_text(json.dumps({"use_gpu": True, "threads": 3}))
    with open_library(tmp_path / "moved.sqlite") as library:
        put_rows(library, {"use_gpu": False})
        settings = load_settings(library)
        assert (settings.use_gpu, settings.threads) == (True, 3)
        assert "use_gpu" not in stored_rows(library)


def test_computer_choices_are_not_stored_in_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        save_settings(library, Settings(use_gpu=False, threads=2, min_face_size=40))
        rows = stored_rows(library)
        assert "use_gpu" not in rows and "threads" not in rows and rows["min_face_size"] == 40
        assert json.loads(computer_settings_path().read_text()) == {"threads": 2, "use_gpu": False, "ray_address": ""}
    monkeypatch.setenv("FACEORG_CONFIG_DIR", str(tmp_path / "another-computer"))
    with open_library(tmp_path / "lib.sqlite") as library:  # the same library on another computer
        settings = load_settings(library)
        assert (settings.use_gpu, settings.threads, settings.min_face_size) == (True, 0, 40)


@pytest.mark.parametrize(("key", "bad"), [("cluster_sensitivity", "sometimes"), ("min_face_size", "big"),
                                          ("min_face_size", 3), ("score_threshold", True), ("min_group_size", 1)])
def test_a_bad_stored_value_is_reset_logged_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         key: str, bad: object) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        update_settings(library, min_face_size=25, cluster_sensitivity="fewer")
        put_rows(library, {key: bad})
        with caplog.at_level(logging.WARNING, logger="faceorg.settings"):
            report = load_settings_report(library)
        assert getattr(report.settings, key) == getattr(Settings(), key)
        assert len(report.resets) == 1 and key in report.resets[0] and repr(bad) in report.resets[0]
        assert report.resets[0] in caplog.text
        assert key not in stored_rows(library)  # written back: reported once, not on every load
        assert load_settings_report(library).resets == []
        kept = {"min_face_size": 25, "cluster_sensitivity": "fewer"}
        kept.pop(key, None)
        assert {k: getattr(report.settings, k) for k in kept} == kept


def test_a_bad_computer_file_is_reset_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    computer_settings_path().write_text(json.dumps({"use_gpu": "yes", "threads": 4}))
    with open_library(tmp_path / "lib.sqlite") as library:
        with caplog.at_level(logging.WARNING, logger="faceorg.settings"):
            report = load_settings_report(library)
        assert (report.settings.use_gpu, report.settings.threads) == (True, 4)
        assert len(report.resets) == 1 and "use_gpu" in report.resets[0] and "use_gpu" in caplog.text
        computer_settings_path().write_text("{not json")
        report = load_settings_report(library)
        assert report.settings.threads == 0 and "could not be read" in report.resets[0]


def test_settings_of_a_newer_faceorg_are_refused(tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        put_rows(library, {VERSION_KEY: SCHEMA_VERSION + 1, "min_face_size": 30})
        with pytest.raises(FaceorgError, match="newer faceorg"):
            load_settings(library)


def test_saving_bad_values_is_a_clear_error(tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.sqlite") as library:
        with pytest.raises(FaceorgError, match="cluster sensitivity must be one of fewer, balanced, more"):
            update_settings(library, cluster_sensitivity="sometimes")
        with pytest.raises(FaceorgError, match="threads must be"):
            update_settings(library, threads=-1)
        with pytest.raises(FaceorgError, match="use gpu must be true or false"):
            update_settings(library, use_gpu="no")
        with pytest.raises(FaceorgError, match="unknown setting"):
            update_settings(library, colour="red")
        assert load_settings(library) == Settings()


def test_grouping_refuses_an_unknown_sensitivity_instead_of_guessing() -> None:
    assert cluster_params(Settings(cluster_sensitivity="more"), 5000).min_samples == 1
    with pytest.raises(FaceorgError, match="cluster sensitivity"):
        cluster_params(Settings(cluster_sensitivity="sometimes"), 5000)
