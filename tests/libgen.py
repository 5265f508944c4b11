"""Libraries built directly in the database for tests that need faces but no models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from sqlalchemy import select

from faceorg.store import Library, open_library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    FaceNotPerson,
    LibraryFolder,
    ModelVersion,
    Person,
    Photo,
    PhotoStatus,
)


def make_library(
    path: Path | str, photos: list[list[np.ndarray]], *, qualities: list[list[float]] | None = None
) -> tuple[Library, list[list[int]]]:
    """A library with one photo per entry of ``photos``, each holding faces with the given embeddings;
    ``path`` an SQLite file or a PostgreSQL URL.

    Returns the library and the face ids per photo.
    """
    lib = open_library(path)
    face_ids: list[list[int]] = []
    with lib.transaction() as s:
        folder = LibraryFolder(path=str(path.parent / "photos") if isinstance(path, Path) else "/photos")
        model = ModelVersion(name="test-v1", kind="base", file_name="none.onnx", sha256="0" * 64, active=True)
        s.add_all([folder, model])
        s.flush()
        for i, vectors in enumerate(photos):
            photo = Photo(
                folder_id=folder.id,
                path=f"{folder.path}/p{i:05d}.jpg",
                size=1,
                mtime_ns=1,
                content_hash=f"{i:064x}",
                width=1000,
                height=800,
                status=PhotoStatus.OK,
                faces_key="test",
            )
            s.add(photo)
            s.flush()
            ids = []
            for j, v in enumerate(vectors):
                q = qualities[i][j] if qualities else 0.5
                face = Face(
                    photo_id=photo.id, x=100.0 * j, y=50.0, w=80.0, h=80.0, landmarks=[0.0] * 10, score=0.99, quality=q
                )
                s.add(face)
                s.flush()
                vec = np.asarray(v, np.float32)
                vec = vec / np.linalg.norm(vec)
                s.add(
                    Embedding(
                        face_id=face.id,
                        model_version_id=model.id,
                        vector=vec.tobytes(),
                        features=np.zeros(256, np.float32).tobytes(),
                    )
                )
                ids.append(face.id)
            face_ids.append(ids)
    return lib, face_ids


def decisions_snapshot(lib: Library) -> dict[str, object]:
    """Everything people operations change, as comparable plain data (for undo/redo tests)."""
    with lib.session() as s:
        return {
            "people": sorted((p.id, p.name, p.hidden, p.cover_face_id) for p in s.scalars(select(Person))),
            "assignments": sorted((a.face_id, a.person_id, a.source.value) for a in s.scalars(select(Assignment))),
            "faces": sorted((f.id, f.status.value) for f in s.scalars(select(Face))),
            "not_person": sorted((r.face_id, r.person_id) for r in s.scalars(select(FaceNotPerson))),
            "cannot_link": sorted((r.face_a, r.face_b) for r in s.scalars(select(CannotLink))),
            "collage": sorted((p.id, p.is_collage) for p in s.scalars(select(Photo))),
        }


def foreign_database(path: Path) -> bytes:
    """Write another application's SQLite file (one table, one row) at ``path``; returns its bytes."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    conn.close()
    return path.read_bytes()


def two_groups_library(path: Path | str, *, second: AssignmentSource = AssignmentSource.AUTO,
                       distance: float | None = None) -> tuple[Library, list[list[int]]]:
    """Eleven photos (the last with two faces) and two unnamed groups as grouping leaves them: faces 0-3
    (automatic) and 4-7 (``second``, at ``distance``), one face per photo; 8-9 and the pair unassigned."""
    rng = np.random.default_rng(0)
    photos = [[rng.normal(size=8)] for _ in range(10)] + [[rng.normal(size=8), rng.normal(size=8)]]
    library, ids = make_library(path, photos)
    with library.transaction() as s:
        a, b = Person(), Person()
        s.add_all([a, b])
        s.flush()
        for k in range(4):
            s.add(Assignment(face_id=ids[k][0], person_id=a.id, source=AssignmentSource.AUTO, strength=0.9))
            s.add(Assignment(face_id=ids[4 + k][0], person_id=b.id, source=second, strength=0.5,
                             distance=distance))
    return library, ids
