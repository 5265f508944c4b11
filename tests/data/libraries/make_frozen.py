"""Make the frozen library of each released schema: ``python tests/data/libraries/make_frozen.py``.

Each file is built by that revision's own migrations (never by today's models), holds a few rows of
every kind, and is committed, so that a test can open and migrate it as a user's old library. Run this
once when a schema is released (``make_frozen.py 0003``), never to refresh an existing file.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from faceorg.store.db import alembic_config

HERE = Path(__file__).resolve().parent
RELEASED = ("0001", "0002", "0004_prompts")
T = "2026-11-30 12:00:00.000000"

ROWS = [
    "INSERT INTO library_folders (id, path, added_at) VALUES (1, '/photos', '{T}')",
    ("INSERT INTO model_versions (id, name, kind, file_name, sha256, parent_id, active, created_at, report) "
     "VALUES (1, 'dlib-v1', 'base', 'embedder-dlib-v1.onnx', '{H}', NULL, 1, '{T}', NULL)"),
    ("INSERT INTO photos (id, folder_id, path, size, mtime_ns, content_hash, width, height, orientation, "
     "taken_at, status, error, scanned_at, faces_key, face_count, is_collage) VALUES "
     "(1, 1, '/photos/a.jpg', 1000, 1, '{H}', 640, 480, 1, NULL, 'ok', NULL, '{T}', 'k', 2, 0), "
     "(2, 1, '/photos/b.jpg', 2000, 2, NULL, NULL, NULL, 1, NULL, 'failed', 'not an image', '{T}', NULL, NULL, 0)"),
    ("INSERT INTO faces (id, photo_id, x, y, w, h, landmarks, score, blur, quality, status, manual, created_at) "
     "VALUES (1, 1, 10, 20, 30, 40, '[1,2,3,4,5,6,7,8,9,10]', 0.9, 5.0, 0.8, 'normal', 0, '{T}'), "
     "(2, 1, 100, 20, 30, 40, '[1,2,3,4,5,6,7,8,9,10]', 0.8, NULL, 0.5, 'ignored', 1, '{T}')"),
    ("INSERT INTO people (id, name, hidden, cover_face_id, created_at) VALUES (1, 'Ada', 0, 1, '{T}'), "
     "(2, NULL, 1, NULL, '{T}')"),
    ("INSERT INTO assignments (face_id, person_id, source, distance, runner_up_id, runner_up_distance, strength, "
     "updated_at) VALUES (1, 1, 'user', NULL, NULL, NULL, NULL, '{T}'), (2, 2, 'auto', 0.3, 1, 0.5, 0.7, '{T}')"),
    "INSERT INTO cannot_link (face_a, face_b, created_at) VALUES (1, 2, '{T}')",
    "INSERT INTO face_not_person (face_id, person_id, created_at) VALUES (2, 1, '{T}')",
    ("INSERT INTO embeddings (face_id, model_version_id, vector, features) VALUES (1, 1, zeroblob(512), NULL), "
     "(2, 1, zeroblob(512), NULL)"),
    "INSERT INTO face_chips (face_id, image) VALUES (1, x'ffd8ffd9')",
    "INSERT INTO settings (key, value) VALUES ('grouping', '{{\"strictness\": 0.5}}')",
    ("INSERT INTO operations (id, kind, label, changes, undone, created_at) VALUES "
     "(1, 'name', 'Name Ada', '{{\"people\": []}}', 0, '{T}')"),
]


def make(revision: str) -> Path:
    target = HERE / f"schema-{revision}.sqlite"
    target.unlink(missing_ok=True)
    with sqlite3.connect(target) as conn:
        conn.execute("PRAGMA page_size=1024")  # small files
        conn.execute("VACUUM")
    engine = create_engine(f"sqlite:///{target}")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()
    with sqlite3.connect(target) as conn:
        for row in ROWS:
            conn.execute(row.format(T=T, H="ab" * 32))
        if revision >= "0002":
            conn.execute("UPDATE model_versions SET runtime_file = 'embedder-dlib-v1.int8.onnx', "
                         "runtime_sha256 = ?", ("cd" * 32,))
        if revision >= "0003":
            conn.execute("INSERT INTO library_state (key, value, updated_at) VALUES "
                         "('grouping_pending', '{\"since\": 1}', ?)", (T,))
        if revision >= "0004":
            conn.execute("INSERT INTO prompt_answers (key, kind, answer, face_a, face_b, faces, created_at) "
                         "VALUES ('same:1:2', 'same', 'no', 1, 2, NULL, ?)", (T,))
    with sqlite3.connect(target) as conn:
        conn.execute("VACUUM")
    return target


if __name__ == "__main__":
    for rev in sys.argv[1:] or RELEASED:
        print(make(rev))
