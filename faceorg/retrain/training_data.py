"""What the user taught the library, as a training set: confirmed faces per person and known negatives.

Classes are people with faces the user confirmed. Known negatives ("cannot-link" pairs) come from
"not this person" (the face against that person's confirmed faces), from splits (recorded as "not this
person"), from pairs the user said are different people, and from two faces of one ordinary photo.
Ignored faces, non-faces and poor-quality faces stay out. Unlabelled faces are sampled to keep the
geometry in place (distillation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from faceorg.errors import FaceorgError
from faceorg.pipeline.analyzer import decode_chip
from faceorg.store.chips import load_chips
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    FaceNotPerson,
    FaceStatus,
    Photo,
)
from faceorg.versions.records import active_version

MIN_PEOPLE = 2
MIN_FACES_PER_PERSON = 5
# Faces below this quality (see faceorg.detect.quality) are not trained on: blurred, doubtful or tiny.
# 0.3 keeps the small faces of old scans and group shots (25-40 px score about 0.3-0.5), which the user
# confirmed and which are what retraining is for; it drops heavily blurred or barely detected ones.
MIN_QUALITY = 0.3
MAX_UNLABELLED = 20_000
MAX_NEGATIVES_PER_REJECTION = 20


@dataclass
class LibraryTrainingData:
    """A TrainingSet's ingredients from the library, plus what is needed to judge and re-embed."""

    face_ids: np.ndarray
    labels: np.ndarray  # person index or -1
    person_ids: np.ndarray
    cannot_link: np.ndarray  # [k, 2] row indices
    features: np.ndarray  # [n, 256] under the active model
    vectors: np.ndarray  # [n, 128] under the active model
    model_version_id: int

    @property
    def n_labelled(self) -> int:
        return int(np.count_nonzero(self.labels >= 0))

    def summary(self) -> dict[str, int]:
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.person_ids))
        return {
            "people": int(np.count_nonzero(counts >= MIN_FACES_PER_PERSON)),
            "labelled_faces": self.n_labelled,
            "unlabelled_faces": int(np.count_nonzero(self.labels < 0)),
            "known_negative_pairs": len(self.cannot_link),
        }


def _vectors(
    library: Library, version_id: int, features_version_id: int, face_ids: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Embeddings under the active version and 256-d features under the version that stores them."""
    vec, feat = {}, {}
    with library.session() as s:
        for i in range(0, len(face_ids), 900):
            part = face_ids[i : i + 900]
            for fid, v in s.execute(
                select(Embedding.face_id, Embedding.vector).where(
                    Embedding.model_version_id == version_id, Embedding.face_id.in_(part)
                )
            ):
                vec[fid] = np.frombuffer(v, np.float32)
            for fid, f in s.execute(
                select(Embedding.face_id, Embedding.features).where(
                    Embedding.model_version_id == features_version_id, Embedding.face_id.in_(part)
                )
            ):
                if f is not None:
                    feat[fid] = np.frombuffer(f, np.float32)
    return vec, {f: v for f, v in feat.items() if f in vec}


def not_enough(confirmed_per_person: Iterable[int]) -> str | None:
    """What is missing to learn from people with these numbers of usable confirmed faces (None: enough)."""
    sizes = sorted(confirmed_per_person, reverse=True)
    people = sum(1 for n in sizes if n >= MIN_FACES_PER_PERSON)
    if people >= MIN_PEOPLE:
        return None
    have = sizes[:5]
    return (
        f"not enough confirmed faces to learn from: need at least {MIN_PEOPLE} people with "
        f"{MIN_FACES_PER_PERSON} confirmed faces each (good-quality faces only); the library has "
        f"{people} such {'person' if people == 1 else 'people'}"
        + (f" (largest confirmed groups: {', '.join(map(str, have))})" if have else "")
        + ". Name people and confirm their faces, then try again."
    )


def too_few_to_learn(library: Library, *, min_quality: float = MIN_QUALITY) -> str | None:
    """Why the user's confirmed faces are too few to learn from (None when they are enough): one grouped
    count, the same rule :func:`collect_training_data` applies, for asking before starting a run."""
    with library.session() as s:
        counts = s.execute(
            select(Assignment.person_id, func.count())
            .join(Face, Face.id == Assignment.face_id)
            .where(Assignment.source == AssignmentSource.USER, Face.status == FaceStatus.NORMAL,
                   Face.quality >= min_quality)
            .group_by(Assignment.person_id)
        ).all()
    return not_enough(int(n) for _p, n in counts)


def collect_training_data(library: Library, *, seed: int = 0, min_quality: float = MIN_QUALITY) -> LibraryTrainingData:
    """Gather the user's labels; raises FaceorgError saying what is missing when there is not enough."""
    version = active_version(library)
    if version is None:
        raise FaceorgError("no faces have been analysed yet: scan a folder first")
    rng = np.random.default_rng(seed)
    with library.session() as s:
        usable = select(Face.id).where(Face.status == FaceStatus.NORMAL, Face.quality >= min_quality)
        confirmed = s.execute(
            select(Assignment.face_id, Assignment.person_id).where(
                Assignment.source == AssignmentSource.USER, Assignment.face_id.in_(usable)
            )
        ).all()
        unlabelled = list(
            s.scalars(
                select(Face.id)
                .outerjoin(Assignment, Assignment.face_id == Face.id)
                .where(
                    Face.status == FaceStatus.NORMAL,
                    Face.quality >= min_quality,
                    (Assignment.face_id.is_(None)) | (Assignment.source != AssignmentSource.USER),
                )
            )
        )
        rejections = s.execute(select(FaceNotPerson.face_id, FaceNotPerson.person_id)).all()
        pairs = s.execute(select(CannotLink.face_a, CannotLink.face_b)).all()
        photo_of = dict(
            s.execute(
                select(Face.id, Face.photo_id)
                .join(Photo, Photo.id == Face.photo_id)
                .where(Face.status == FaceStatus.NORMAL, Photo.is_collage.is_(False))
            ).all()
        )
    by_person: dict[int, list[int]] = defaultdict(list)
    for fid, pid in confirmed:
        by_person[pid].append(fid)
    people = sorted(p for p, faces in by_person.items() if len(faces) >= MIN_FACES_PER_PERSON)
    short = not_enough([len(f) for f in by_person.values()])
    if short is not None:
        raise FaceorgError(short)
    if len(unlabelled) > MAX_UNLABELLED:
        unlabelled = sorted(rng.choice(unlabelled, MAX_UNLABELLED, replace=False).tolist())
    person_index = {p: i for i, p in enumerate(people)}
    rows = [(f, person_index[p]) for p in people for f in by_person[p]]
    # Confirmed faces of people below the minimum still help as negatives: keep them unlabelled.
    rows += [(f, -1) for p, faces in by_person.items() if p not in person_index for f in faces]
    rows += [(f, -1) for f in unlabelled]
    face_ids = [f for f, _ in rows]
    from faceorg.versions.records import feature_version

    vec, feat = _vectors(library, version.id, feature_version(library, version).id, face_ids)
    rows = [(f, label) for f, label in rows if f in feat]
    face_ids = [f for f, _ in rows]
    index = {f: i for i, f in enumerate(face_ids)}
    negatives = _negative_pairs(index, by_person, rejections, pairs, photo_of, rng)
    return LibraryTrainingData(
        face_ids=np.array(face_ids, np.int64),
        labels=np.array([label for _, label in rows], np.int64),
        person_ids=np.array(people, np.int64),
        cannot_link=negatives,
        features=np.stack([feat[f] for f in face_ids]).astype(np.float32),
        vectors=np.stack([vec[f] for f in face_ids]).astype(np.float32),
        model_version_id=version.id,
    )


def _negative_pairs(
    index: dict[int, int],
    by_person: dict[int, list[int]],
    rejections: Iterable[tuple[int, int]],
    pairs: Iterable[tuple[int, int]],
    photo_of: Mapping[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    out: set[tuple[int, int]] = set()

    def add(a: int, b: int) -> None:
        if a in index and b in index and a != b:
            i, j = index[a], index[b]
            out.add((min(i, j), max(i, j)))

    for fid, pid in rejections:
        others = by_person.get(pid, [])
        if len(others) > MAX_NEGATIVES_PER_REJECTION:
            others = rng.choice(others, MAX_NEGATIVES_PER_REJECTION, replace=False).tolist()
        for other in others:
            add(fid, other)
    for a, b in pairs:
        add(a, b)
    by_photo: dict[int, list[int]] = defaultdict(list)
    for fid in index:
        if fid in photo_of:
            by_photo[photo_of[fid]].append(fid)
    for faces in by_photo.values():
        for i in range(len(faces)):
            for j in range(i + 1, min(len(faces), i + 10)):
                add(faces[i], faces[j])
    return np.array(sorted(out), np.int64).reshape(-1, 2)


def chip_loader(library: Library, face_ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Rows -> float32 [k, 3, 150, 150] RGB chips, read from the library (for the thorough trainer)."""

    def load(rows: np.ndarray) -> np.ndarray:
        ids = [int(face_ids[r]) for r in rows]
        chips = load_chips(library, ids)
        return np.stack([decode_chip(chips[i]) for i in ids]).astype(np.float32).transpose(0, 3, 1, 2)

    return load
