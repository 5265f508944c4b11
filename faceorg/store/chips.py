"""Aligned face chips (encoded 150x150 images) kept for thumbnails and retraining."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from faceorg.store.db import Library
from faceorg.store.models import FaceChip

CHUNK = 500


def load_chips(library: Library, face_ids: Iterable[int]) -> dict[int, bytes]:
    """Encoded chips by face id (faces without a chip are left out)."""
    ids = list(dict.fromkeys(face_ids))
    out: dict[int, bytes] = {}
    with library.session() as s:
        for i in range(0, len(ids), CHUNK):
            rows = s.execute(select(FaceChip.face_id, FaceChip.image).where(FaceChip.face_id.in_(ids[i:i + CHUNK])))
            out.update({fid: bytes(img) for fid, img in rows})
    return out
