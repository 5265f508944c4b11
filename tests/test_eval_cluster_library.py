"""``faceorg eval cluster --library``: score a library scanned elsewhere instead of scanning into the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faceorg.cli.main import main
from faceorg.eval.cluster_eval import evaluate_clustering
from faceorg.paths import data_dir
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder

PEOPLE = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"]


def mini_lfw(shared: Path, root: Path) -> Path:
    for person in PEOPLE:
        (root / "images" / person).mkdir(parents=True)
        for src in sorted((shared / "lfw" / "images" / person).glob("*.jpg"))[:4]:
            shutil.copy(src, root / "images" / person / src.name)
    return root


def test_scores_a_given_library_without_scanning(tmp_path: Path, shared_data: Path, models_dir: Path) -> None:
    lfw = mini_lfw(shared_data, tmp_path / "lfw")
    path = tmp_path / "scanned.sqlite"
    with open_library(path) as lib:
        add_folder(lib, lfw / "images")
        scan_library(lib, analyzer=analyzer_for_library(lib))
    result = evaluate_clustering(lfw, library=path)
    assert result["photos"] == 12 and result["identities"] == 3
    assert not (data_dir() / "cache" / "eval-lfw.sqlite").exists()  # the cache was not built
    off = evaluate_clustering(lfw, library=path, recall_pass=False)
    assert off["photos"] == 12


def test_a_wrong_library_is_one_clear_error(tmp_path: Path, shared_data: Path, models_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    lfw = mini_lfw(shared_data, tmp_path / "lfw")
    assert main(["eval", "cluster", "--data", str(lfw), "--library", str(tmp_path / "none.sqlite")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"faceorg: error: no library at {tmp_path / 'none.sqlite'}"]
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(next((lfw / "images" / PEOPLE[0]).glob("*.jpg")), other / "a.jpg")
    with open_library(tmp_path / "other.sqlite") as lib:
        add_folder(lib, other)
        scan_library(lib, analyzer=analyzer_for_library(lib))
    assert main(["eval", "cluster", "--data", str(lfw), "--library", str(tmp_path / "other.sqlite")]) == 1
    assert "is not a scan of" in capsys.readouterr().err
