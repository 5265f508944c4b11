"""Folder-per-person training datasets (``faceorg train --dataset DIR``).

``DIR`` holds one subfolder per person, named after them, with photos of that person (nested folders
inside a person's folder are read too; hidden files and folders are ignored). Each photo gives one
aligned 150x150 chip through the app's own detect -> align path: the face nearest the photo's centre
among the large ones (see :func:`pick_face`). Photos that cannot be read, or where no face is found,
are skipped with the reason logged and listed in :attr:`FolderRead.skipped`.

No torch here: the chips are plain uint8 arrays, ready for :class:`faceorg.train.data.TrainingSet`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from faceorg.concurrency import bounded_map
from faceorg.detect.align import CHIP_SIZE, align_chip
from faceorg.detect.subject import central_face
from faceorg.errors import FaceorgError
from faceorg.imaging.decode import PhotoReadError, load_working_image
from faceorg.progress import Progress
from faceorg.scan.walker import PHOTO_EXTENSIONS
from faceorg.train.data import TrainingSet

if TYPE_CHECKING:
    from faceorg.detect.retinaface import Detection, RetinaFaceDetector

log = logging.getLogger(__name__)

# Photos are read at this long side, as the scanner does (faceorg.pipeline.factory.WORKING_SIDE).
WORKING_SIDE = 1024
# Faces smaller than this share of the largest face in a photo are passers-by, never the subject.
SUBJECT_MIN_SHARE = 0.5


class FolderDataset(NamedTuple):
    """``chips`` uint8 ``[n, 150, 150, 3]`` RGB, ``labels`` int64 ``[n]`` (indices into ``names``),
    ``names`` the people (folder names, sorted)."""

    chips: np.ndarray
    labels: np.ndarray
    names: list[str]


@dataclass
class FolderRead:
    """Everything :func:`read_folder_dataset` found: the dataset, where each chip came from, and the
    photos skipped with the reason."""

    chips: np.ndarray
    labels: np.ndarray
    names: list[str]
    sources: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def dataset(self) -> FolderDataset:
        return FolderDataset(self.chips, self.labels, self.names)


def list_people(root: Path) -> list[tuple[str, list[Path]]]:
    """``(person name, photo paths)`` per non-hidden subfolder of ``root``, sorted by name; photos are
    the files the scanner takes for photos (:data:`faceorg.scan.walker.PHOTO_EXTENSIONS`) anywhere
    under the subfolder, sorted. People without photos are left out."""
    root = Path(root)
    if not root.is_dir():
        raise FaceorgError(f"{root} is not a folder")
    people = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        photos = sorted(p for p in folder.rglob("*")
                        if p.is_file() and p.suffix.lower() in PHOTO_EXTENSIONS
                        and not any(part.startswith(".") for part in p.relative_to(folder).parts))
        if photos:
            people.append((folder.name, photos))
    return people


def pick_face(detections: Sequence[Detection], width: int, height: int) -> Detection | None:
    """The photo's subject: the only face; else, among faces at least ``SUBJECT_MIN_SHARE`` of the
    largest one's size, the one nearest the centre (a folder of someone's photos centres them, and a
    small face near the centre is usually a passer-by)."""
    if len(detections) <= 1:
        return detections[0] if detections else None
    largest = max(d.size for d in detections)
    large = [d for d in detections if d.size >= SUBJECT_MIN_SHARE * largest]
    return central_face(large, width, height)


def _read(path: Path) -> np.ndarray | str:
    """The photo's working image, or why it cannot be read."""
    try:
        return load_working_image(path, max_side=WORKING_SIDE).pixels
    except PhotoReadError as exc:
        return str(exc)


def read_folder_dataset(root: Path, detector: RetinaFaceDetector | None = None,
                        progress: Progress | None = None) -> FolderRead:
    """Read a folder-per-person dataset (see the module docstring). ``detector``: None builds the
    app's detector with default settings. Raises :class:`FaceorgError` when no chip could be made."""
    people = list_people(root)
    if not people:
        raise FaceorgError(f"{root} has no subfolders with photos (one subfolder per person)")
    if detector is None:
        detector = default_detector()
    progress = progress or Progress()
    jobs = [(label, path) for label, (_, photos) in enumerate(people) for path in photos]
    progress.start("Reading training photos", total=len(jobs))
    chips: list[np.ndarray] = []
    labels: list[int] = []
    result = FolderRead(np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8), np.zeros(0, np.int64),
                        [name for name, _ in people])
    with ThreadPoolExecutor(2) as pool:
        for (label, path), image in zip(jobs, bounded_map(pool, _read, [p for _, p in jobs], depth=16)):
            progress.check_cancelled()
            chip = image if isinstance(image, str) else _chip(image, detector)
            if isinstance(chip, str):
                log.info("skipped %s: %s", path, chip)
                result.skipped.append((path, chip))
            else:
                chips.append(chip)
                labels.append(label)
                result.sources.append(path)
            progress.advance()
    if not chips:
        raise FaceorgError(f"no face found in any photo under {root}")
    if result.skipped:
        log.warning("%d of %d photos skipped (unreadable, or no face found)", len(result.skipped), len(jobs))
    result.chips = np.stack(chips)
    result.labels = np.asarray(labels, dtype=np.int64)
    return result


def _chip(image: np.ndarray, detector: RetinaFaceDetector) -> np.ndarray | str:
    face = pick_face(detector.detect(image), image.shape[1], image.shape[0])
    if face is None:
        return "no face found"
    return align_chip(image, np.asarray(face.landmarks))


def load_folder_dataset(root: Path, detector: RetinaFaceDetector | None = None,
                        progress: Progress | None = None) -> FolderDataset:
    """``(chips uint8 [n,150,150,3], labels [n], names)`` of a folder-per-person dataset; see
    :func:`read_folder_dataset` for the skipped photos and each chip's source."""
    return read_folder_dataset(root, detector, progress).dataset


def default_detector() -> RetinaFaceDetector:
    """The app's detector with default settings (raises ``ModelsMissingError`` without the model)."""
    from faceorg.pipeline.factory import build_detector
    from faceorg.settings import Settings

    detector, _ = build_detector(Settings())
    return detector


def folder_training_set(dataset: FolderDataset) -> TrainingSet:
    """A :class:`TrainingSet` over the dataset's chips: every face labelled, no cannot-link pairs,
    ``load_chips`` indexing the in-memory chips."""
    chips = dataset.chips
    return TrainingSet(face_ids=np.arange(len(chips)), labels=dataset.labels,
                       person_ids=np.arange(len(dataset.names)), cannot_link=np.zeros((0, 2), np.int64),
                       load_chips=lambda rows: chips[np.asarray(rows, dtype=np.int64)])
