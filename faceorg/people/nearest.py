"""Which groups some faces look most like (Move To lists the unnamed groups nearest the chosen faces first)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select

from faceorg.store.db import Library
from faceorg.store.models import Assignment, Embedding
from faceorg.vectors import l2_normalize
from faceorg.versions.records import active_version

SAMPLE_PER_GROUP = 40  # faces of each group compared (the first by id): enough to find its nearest, and cheap
MAX_FACES = 500  # chosen faces compared


def _matrix(blobs: Sequence[bytes]) -> np.ndarray:
    return l2_normalize(np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), -1).astype(np.float32))


def likeness_to(library: Library, face_ids: Sequence[int], person_ids: Sequence[int]) -> dict[int, float]:
    """Each of ``person_ids`` with the highest cosine similarity between one of ``face_ids`` and one of the
    person's faces (a sample of them) under the active model; people without vectors are left out."""
    version = active_version(library)
    if version is None or not face_ids or not person_ids:
        return {}
    with library.session() as s:
        own = list(s.scalars(select(Embedding.vector).where(
            Embedding.model_version_id == version.id, Embedding.face_id.in_(list(face_ids)[:MAX_FACES]))))
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
