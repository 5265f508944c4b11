"""Measurements: grouping of photos' central faces, right-person shares, the classifier-head baseline, and
LFW verification on the pairs of people outside the benchmark.

Definitions (the benchmark's docstring repeats them for the reader):

- **BCubed F of a set of photos**: each photo's central face (see :func:`oracle.central_faces`) is
  labelled by the person it is assigned to (named person or unnamed group, any source); a face left
  unsorted, and a photo where no face was found, count as singletons. Truth: the photo's folder.
- **right person**: share of the photos whose central face is assigned (suggested or automatic: the
  user has not seen these photos) to the person whose name is the photo's identity. Denominator: all
  the photos, photos without a detected face included (they count as not right).
- **nearest centre**: for each photo's central face, the nearest (Euclidean, unit vectors) centre of
  the named people, a centre being the normalised mean of the person's user-confirmed faces under the
  active model; no threshold. Same denominator. With it, the app's suggestion rule applied alone to the
  embeddings, and the median distance to the right person (see :func:`embedding_rules`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from corrections.oracle import central_faces
from faceorg.cluster.match import build_person_index, match_to_people, person_distances
from faceorg.cluster.metrics import bcubed
from faceorg.detect.retinaface import Detection, RetinaFaceDetector
from faceorg.embed.embedder import Embedder
from faceorg.eval.lfw import Pair, embed_images, image_path, read_pairs, ten_fold_accuracy
from faceorg.files import write_text_atomic
from faceorg.people.clustering import SUGGEST_MARGIN, SUGGEST_MAX_DISTANCE, active_distance_scale, load_library_faces
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, Person


# ----------------------------------------------------------------------------------- photos' faces
@dataclass(frozen=True)
class PhotoScores:
    """Scores of one set of photos (see the module docstring)."""

    photos: int
    no_face: int
    bcubed_p: float
    bcubed_r: float
    bcubed_f: float
    right_person: float
    wrong_person: float  # assigned to another named person
    unnamed_or_unsorted: float
    nearest_centre: float
    suggest_rule_right: float
    suggest_rule_none: float
    right_distance_median: float
    named_identities: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def score_photos(library: Library, folder: Path) -> PhotoScores:
    """Score the photos under ``folder`` in the library as it is now."""
    photos = central_faces(library, folder)
    with library.session() as s:
        owner = {f: (p, src) for f, p, src in s.execute(
            select(Assignment.face_id, Assignment.person_id, Assignment.source))}
        names = dict(s.execute(select(Person.id, Person.name)).all())
    identities = sorted({identity for identity, _ in photos.values()})
    index = {name: i for i, name in enumerate(identities)}
    truth, predicted = [], []
    right = wrong = 0
    for _pid, (identity, face) in sorted(photos.items()):
        truth.append(index[identity])
        a = owner.get(face) if face is not None else None
        predicted.append(a[0] if a is not None else -1)
        if a is not None and names.get(a[0]):
            if names[a[0]] == identity and a[1] is not AssignmentSource.USER:
                right += 1
            elif names[a[0]] != identity:
                wrong += 1
    n = max(1, len(photos))
    score = bcubed(np.array(predicted, np.int64), np.array(truth, np.int64))
    faces = [face for _, face in photos.values()]
    return PhotoScores(
        photos=len(photos), no_face=sum(f is None for f in faces), bcubed_p=score.precision,
        bcubed_r=score.recall, bcubed_f=score.f, right_person=right / n, wrong_person=wrong / n,
        unnamed_or_unsorted=1.0 - (right + wrong) / n,
        **embedding_rules(library, photos),
        named_identities=len({v for v in names.values() if v} & set(identities)))


def embedding_rules(library: Library, photos: dict[int, tuple[str, int | None]]) -> dict[str, float]:
    """Rules applied directly to the active model's embeddings of ``photos``' central faces, against the
    user-confirmed faces of named people (shares over all ``photos``):

    - ``nearest_centre``: the nearest centre (normalised mean of a person's confirmed faces) is right;
    - ``suggest_rule_right`` / ``suggest_rule_none``: the app's suggestion rule alone
      (``match_to_people`` on ``build_person_index`` with the app's ``SUGGEST_MAX_DISTANCE`` and
      ``SUGGEST_MARGIN`` times the active model's distance scale) picks the right person / nobody;
    - ``right_distance_median``: median distance to the right person (its nearest index row), which
      shows the model's distance scale against the app's fixed thresholds.
    """
    out = {"nearest_centre": 0.0, "suggest_rule_right": 0.0, "suggest_rule_none": 1.0,
           "right_distance_median": float("nan")}
    data = load_library_faces(library)
    if data is None or not len(data.face_ids):
        return out
    row = data.index()
    confirmed = [(f, p) for f, (p, src) in data.assignment.items()
                 if src is AssignmentSource.USER and data.names.get(p) and f in row]
    faces = [(identity, face) for identity, face in photos.values() if face is not None and face in row]
    if not confirmed or not faces:
        return out
    owners = np.array([p for _, p in confirmed], np.int64)
    confirmed_vectors = data.vectors[[row[f] for f, _ in confirmed]]
    people = np.unique(owners)
    centres = np.stack([confirmed_vectors[owners == p].mean(axis=0) for p in people])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    queries = data.vectors[[row[f] for _, f in faces]]
    truth = [identity for identity, _ in faces]
    d = np.linalg.norm(queries[:, None, :] - centres[None, :, :], axis=2)
    n = max(1, len(photos))
    out["nearest_centre"] = float(sum(data.names[int(people[k])] == t for k, t in zip(d.argmin(axis=1), truth)) / n)
    index = build_person_index(confirmed_vectors, owners)
    scale = active_distance_scale(library)
    match = match_to_people(queries, index, margin=SUGGEST_MARGIN * scale, max_distance=SUGGEST_MAX_DISTANCE * scale)
    out["suggest_rule_right"] = float(sum(p >= 0 and data.names[int(p)] == t for p, t in zip(match.labels, truth)) / n)
    out["suggest_rule_none"] = (int(np.count_nonzero(match.labels < 0)) + len(photos) - len(faces)) / n
    index_people, dist = person_distances(queries, index)
    column = {data.names[int(p)]: k for k, p in enumerate(index_people)}
    right = [dist[i, column[t]] for i, t in enumerate(truth) if t in column]
    out["right_distance_median"] = float(np.median(right)) if right else float("nan")
    return out


def confirmed_and_later(library: Library, later: Path) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Active-model vectors and names of the user-confirmed faces of named people, and vectors and
    identities of the later photos' central faces (photos without a face left out)."""
    data = load_library_faces(library)
    assert data is not None
    row = data.index()
    rows, labels = [], []
    for f, (p, src) in sorted(data.assignment.items()):
        name = data.names.get(p)
        if src is AssignmentSource.USER and name and f in row:
            rows.append(row[f])
            labels.append(name)
    test_rows, test_truth = [], []
    for identity, face in central_faces(library, later).values():
        if face is not None and face in row:
            test_rows.append(row[face])
            test_truth.append(identity)
    return data.vectors[rows], labels, data.vectors[test_rows], test_truth


# ---------------------------------------------------------------------------- classifier head
@dataclass(frozen=True)
class ClassifierScores:
    threshold: float
    right_person: float
    bcubed_f: float
    right_person_no_threshold: float
    bcubed_f_no_threshold: float
    train_faces: int
    classes: int
    seconds: float


def classifier_head(train_x: np.ndarray, train_names: Sequence[str], test_x: np.ndarray,
                    test_truth: Sequence[str], n_photos: int, *, threshold: float = 0.5,
                    hidden: int = 100, epochs: int = 200, seed: int = 0) -> ClassifierScores:
    """LibrePhotos' recipe on frozen embeddings: an MLP (one hidden layer of ``hidden`` ReLU units,
    Adam, L2 1e-5, minibatches of 200; scikit-learn's ``MLPClassifier`` defaults) trained on the
    user-confirmed faces, predicting the later photos' central faces; a face whose top probability is
    below ``threshold`` stays unknown (a singleton). ``n_photos``: all later photos, the ones without a
    detected face counting as unknown singletons and not right."""
    import time

    import torch

    start = time.perf_counter()
    classes = sorted(set(train_names))
    cls = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([cls[n] for n in train_names])
    x = torch.from_numpy(np.ascontiguousarray(train_x, np.float32))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only spin on a busy machine
    try:
        return _classifier_head(torch, x, y, classes, test_x, test_truth, n_photos, threshold, hidden, epochs,
                                seed, start)
    finally:
        torch.set_num_threads(threads)


def _classifier_head(torch: Any, x: Any, y: Any, classes: list[str], test_x: np.ndarray, test_truth: Sequence[str],
                     n_photos: int, threshold: float, hidden: int, epochs: int, seed: int,
                     start: float) -> ClassifierScores:
    import time

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, len(classes)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    gen = torch.Generator().manual_seed(seed)
    best, stale = float("inf"), 0
    for _ in range(epochs):  # scikit-learn stops when the loss improves by < 1e-4 for 10 epochs
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 200):
            idx = order[i:i + 200]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        total /= len(x)
        stale = stale + 1 if total > best - 1e-4 else 0
        best = min(best, total)
        if stale >= 10:
            break
    with torch.no_grad():
        prob = torch.softmax(model(torch.from_numpy(np.ascontiguousarray(test_x, np.float32))), dim=1).numpy()
    top, p = prob.argmax(axis=1), prob.max(axis=1)
    truth_index = {name: i for i, name in enumerate(sorted(set(test_truth)))}
    missing = n_photos - len(test_truth)

    def scores(accept: np.ndarray) -> tuple[float, float]:
        predicted = np.where(accept, top, -1)
        right = sum(bool(a) and classes[t] == name for a, t, name in zip(accept, top, test_truth))
        truth = [truth_index[n] for n in test_truth] + [len(truth_index) + k for k in range(missing)]
        labels = np.concatenate([predicted, -np.ones(missing, np.int64)]).astype(np.int64)
        return right / max(1, n_photos), bcubed(labels, np.array(truth, np.int64)).f

    right_t, f_t = scores(p >= threshold)
    right_all, f_all = scores(np.ones(len(p), bool))
    return ClassifierScores(threshold=threshold, right_person=right_t, bcubed_f=f_t,
                            right_person_no_threshold=right_all, bcubed_f_no_threshold=f_all,
                            train_faces=len(x), classes=len(classes),
                            seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------- LFW other pairs
class CachingDetector:
    """The app's detector, remembering each image's central detection (keyed by the pixels' hash).

    ``embed_images`` keeps only the face nearest the centre, so handing back just that one gives it
    exactly the same chips; a second model then costs decoding and embedding only. The memory is kept in
    a JSON file between runs.
    """

    def __init__(self, detector: RetinaFaceDetector, cache_file: Path | None) -> None:
        self.detector = detector
        self.cache_file = cache_file
        self.memory: dict[str, list[float] | None] = {}
        if cache_file is not None and cache_file.is_file():
            self.memory = json.loads(cache_file.read_text())
        self._dirty = False

    def detect(self, image: np.ndarray) -> list[Detection]:
        from faceorg.eval.lfw import central_face

        key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        if key not in self.memory:
            det = central_face(self.detector.detect(image), image.shape[1], image.shape[0])
            self.memory[key] = None if det is None else [*map(float, det.box), *map(float, np.ravel(det.landmarks)),
                                                         float(det.score)]
            self._dirty = True
        v = self.memory[key]
        if v is None:
            return []
        return [Detection(box=(v[0], v[1], v[2], v[3]), landmarks=np.array(v[4:14], np.float32).reshape(5, 2),
                          score=v[14])]

    def save(self) -> None:
        if self._dirty and self.cache_file is not None:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.cache_file, json.dumps(self.memory))
            self._dirty = False


def other_pairs(lfw: Path, excluded: set[str]) -> list[Pair]:
    """The view-2 pairs in which neither person is in ``excluded``."""
    return [p for p in read_pairs(lfw / "pairs.txt") if p.a[0] not in excluded and p.b[0] not in excluded]


def pairs_accuracy(lfw: Path, pairs: list[Pair], detector: CachingDetector, embedder: Embedder, model_sha: str,
                   cache_dir: Path | None) -> dict[str, Any]:
    """10-fold accuracy (threshold chosen on 9 folds, tested on the 10th) on ``pairs``, clean photos,
    central face through ``embed_images``; embeddings cached per model file hash."""
    keys = sorted({p.a for p in pairs} | {p.b for p in pairs})
    index = {k: i for i, k in enumerate(keys)}
    digest = hashlib.sha256(("|".join(f"{n}:{i}" for n, i in keys) + model_sha).encode()).hexdigest()[:20]
    cache = cache_dir / f"lfw-other-{digest}.npy" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        vectors = np.load(cache)
        fallbacks = -1
    else:
        paths = [image_path(lfw / "images", n, i) for n, i in keys]
        embedded = embed_images(paths, detector, embedder)  # type: ignore[arg-type]
        detector.save()
        vectors, fallbacks = embedded.vectors, embedded.fallbacks
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
    a = np.array([index[p.a] for p in pairs])
    b = np.array([index[p.b] for p in pairs])
    distances = np.linalg.norm(vectors[a] - vectors[b], axis=1)
    accs, _ = ten_fold_accuracy(distances, np.array([p.same for p in pairs]), np.array([p.fold for p in pairs]))
    return {"accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)), "pairs": len(pairs),
            "photos": len(keys), "no_face_fallbacks": fallbacks}
