"""Folder-per-person datasets: listing, choosing the subject's face, and reading real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceorg.datasets.folder import (
    folder_training_set,
    list_people,
    load_folder_dataset,
    pick_face,
    read_folder_dataset,
)
from faceorg.detect.retinaface import Detection
from faceorg.errors import FaceorgError
from faceorg.progress import Progress


def face(x: float, y: float, size: float) -> Detection:
    return Detection((x, y, size, size), np.zeros((5, 2)), 0.99)


def test_pick_face_prefers_a_large_face_near_the_centre() -> None:
    assert pick_face([], 100, 100) is None
    only = face(0, 0, 10)
    assert pick_face([only], 100, 100) is only
    central_small = face(45, 45, 10)  # a passer-by in the middle
    subject = face(10, 10, 40)
    other = face(40, 48, 36)  # nearly as large, and nearer the centre than the subject
    assert pick_face([central_small, subject], 100, 100) is subject
    assert pick_face([central_small, subject, other], 100, 100) is other


def test_list_people_reads_subfolders_and_skips_hidden(tmp_path: Path) -> None:
    for rel in ["Bob/a.jpg", "Bob/2019/b.JPG", "Bob/.hidden.jpg", "Bob/notes.txt", "Alice/x.png",
                ".trash/y.jpg", "Empty/readme.txt", "loose.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    people = list_people(tmp_path)
    assert [name for name, _ in people] == ["Alice", "Bob"]
    assert [p.relative_to(tmp_path).as_posix() for p in people[1][1]] == ["Bob/2019/b.JPG", "Bob/a.jpg"]
    with pytest.raises(FaceorgError):
        list_people(tmp_path / "missing")


def test_list_people_takes_every_photo_type_the_scanner_takes(tmp_path: Path) -> None:
    from faceorg.scan.walker import PHOTO_EXTENSIONS

    for suffix in [".heic", ".HEIF", ".jfif", ".jpe"]:
        (tmp_path / "Ann" / f"photo{suffix}").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "Ann" / f"photo{suffix}").write_bytes(b"")
    names = [p.name for p in list_people(tmp_path)[0][1]]
    assert sorted(names) == ["photo.HEIF", "photo.heic", "photo.jfif", "photo.jpe"]
    assert {".heic", ".heif"} <= PHOTO_EXTENSIONS


def test_folder_without_people_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FaceorgError, match="no subfolders"):
        read_folder_dataset(tmp_path, detector=object())  # type: ignore[arg-type]


def test_training_set_over_the_chips() -> None:
    from faceorg.datasets.folder import FolderDataset

    chips = np.arange(3 * 150 * 150 * 3, dtype=np.uint8).reshape(3, 150, 150, 3)
    training = folder_training_set(FolderDataset(chips, np.array([0, 0, 1]), ["A", "B"]))
    assert training.n_people == 2 and training.n_labelled == 3 and len(training.cannot_link) == 0
    assert training.load_chips is not None
    assert np.array_equal(training.load_chips(np.array([2, 0])), chips[[2, 0]])


@pytest.fixture(scope="module")
def detector(models_dir: Path):  # type: ignore[no-untyped-def]
    from faceorg.datasets.folder import default_detector

    return default_detector()


def test_reads_real_photos_and_skips_bad_ones(tmp_path: Path, shared_data: Path, models_dir: Path,
                                              detector) -> None:  # type: ignore[no-untyped-def]
    images = shared_data / "lfw" / "images"
    for name in ["Colin_Powell", "Serena_Williams"]:
        (tmp_path / name).mkdir()
        for path in sorted((images / name).glob("*.jpg"))[:3]:
            shutil.copy(path, tmp_path / name / path.name)
    (tmp_path / "Serena_Williams" / "broken.jpg").write_bytes(b"not a photo")
    shutil.copy(shared_data / "photos-annotated" / "dogs.jpg", tmp_path / "Colin_Powell" / "dogs.jpg")
    progress = Progress()
    read = read_folder_dataset(tmp_path, detector, progress)
    assert read.names == ["Colin_Powell", "Serena_Williams"]
    assert read.chips.shape == (6, 150, 150, 3) and read.chips.dtype == np.uint8
    assert read.labels.tolist() == [0, 0, 0, 1, 1, 1]
    reasons = {p.name: why for p, why in read.skipped}
    assert reasons["dogs.jpg"] == "no face found" and "broken.jpg" in reasons
    assert progress.state.done == progress.state.total == 8
    assert all(p.parent.name == read.names[label] for p, label in zip(read.sources, read.labels))
    chips, labels, names = load_folder_dataset(tmp_path, detector)
    assert np.array_equal(chips, read.chips) and names == read.names


def test_chips_are_aligned_like_the_lfw_path(tmp_path: Path, shared_data: Path, models_dir: Path,
                                             detector) -> None:  # type: ignore[no-untyped-def]
    """Two photos of one person give chips whose eyes sit where dlib's template puts them: the
    mean of the chips is brighter at the face centre than the background varies."""
    images = shared_data / "lfw" / "images" / "George_W_Bush"
    (tmp_path / "George_W_Bush").mkdir()
    for path in sorted(images.glob("*.jpg"))[:4]:
        shutil.copy(path, tmp_path / "George_W_Bush" / path.name)
    chips, labels, _ = load_folder_dataset(tmp_path, detector)
    assert len(chips) == 4 and set(labels.tolist()) == {0}
    spread = chips.astype(np.float32).std(axis=0).mean(axis=2)
    # An aligned face varies less across photos around the nose than in the corners (background).
    assert spread[60:90, 60:90].mean() < spread[:20, :20].mean()
