"""Which groups some faces look most like (Move To lists the unnamed groups nearest the chosen faces first), and
which faces look most like some chosen ones (Look-Alikes First in the face lists)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select

from faceorg.errors import FaceorgError
from faceorg.people.ops import require_faces
from faceorg.store.db import Library
from faceorg.store.models import Assignment, Embedding
from faceorg.vectors import l2_normalize, unit_distances
from faceorg.versions.records import active_version

SAMPLE_PER_GROUP = 40  # faces of each group compared (the first by id): enough to find its nearest, and cheap
MAX_FACES = 500  # chosen faces compared


def _matrix(blobs: Sequence[bytes]) -> np.ndarray:
    return l2_normalize(np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), -1).astype(np.float32))


_CHUNK = 1000  # face ids per query when reading vectors
_BLOCK = 20_000  # candidates compared at a time (bounds the distance block's memory)


def _vectors(library: Library, version_id: int, face_ids: Sequence[int]) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    ids = list(dict.fromkeys(face_ids))
    with library.session() as s:
        for start in range(0, len(ids), _CHUNK):
            rows = s.execute(select(Embedding.face_id, Embedding.vector).where(
                Embedding.model_version_id == version_id, Embedding.face_id.in_(ids[start:start + _CHUNK])))
            out.update((f, v) for f, v in rows)
    return out


def likeness_to(library: Library, face_ids: Sequence[int], person_ids: Sequence[int]) -> dict[int, float]:
    """Each of ``person_ids`` with the highest cosine similarity between one of ``face_ids`` and one of the
    person's faces (a sample of them) under the active model; people without vectors are left out."""
    version = active_version(library)
    if version is None or not face_ids or not person_ids:
        return {}
    own = list(_vectors(library, version.id, list(face_ids)[:MAX_FACES]).values())
    with library.session() as s:
        ranked = (select(Assignment.person_id, Assignment.face_id,
                         func.row_number().over(partition_by=Assignment.person_id,
                                                order_by=Assignment.face_id).label("k"))
                  .where(Assignment.person_id.in_(list(person_ids)), Assignment.face_id.not_in(list(face_ids)))
                  .subquery())
        rows = s.execute(select(ranked.c.person_id, Embedding.vector)
                         .join(Embedding, (Embedding.face_id == ranked.c.face_id)
                               & (Embedding.model_version_id == version.id))
                         .where(ranked.c.k <= SAMPLE_PER_GROUP)).all()
    if not own or not rows:
        return {}
    best = (_matrix([v for _p, v in rows]) @ _matrix(own).T).max(axis=1)
    out: dict[int, float] = {}
    for (person, _v), sim in zip(rows, best.tolist(), strict=True):
        out[person] = max(out.get(person, -1.0), sim)
    return out


def order_by_likeness(library: Library, seeds: Sequence[int], candidates: Sequence[int]
                      ) -> list[tuple[int, float | None]]:
    """``candidates`` (the seeds among them left out), nearest first to the nearest of ``seeds`` under the active
    model, each with that distance; faces without a vector (or with no seed vector at all) last, in their
    given order, with None."""
    if not seeds:
        raise FaceorgError("choose at least one face to compare with")
    with library.session() as s:
        require_faces(s, seeds)
    version = active_version(library)
    seed_set = set(seeds)
    rest = [f for f in dict.fromkeys(candidates) if f not in seed_set]
    if version is None or not rest:
        return [(f, None) for f in rest]
    own = list(_vectors(library, version.id, list(seeds)[:MAX_FACES]).values())
    if not own:
        return [(f, None) for f in rest]
    blobs = _vectors(library, version.id, rest)
    known = [f for f in rest if f in blobs]
    seed_matrix = _matrix(own)
    nearest = np.empty(len(known), np.float64)
    for start in range(0, len(known), _BLOCK):
        block = _matrix([blobs[f] for f in known[start:start + _BLOCK]])
        nearest[start:start + len(block)] = unit_distances(block, seed_matrix).min(axis=1)
    order = np.argsort(nearest, kind="stable")
    ranked: list[tuple[int, float | None]] = [(known[i], float(nearest[i])) for i in order.tolist()]
    return ranked + [(f, None) for f in rest if f not in blobs]
