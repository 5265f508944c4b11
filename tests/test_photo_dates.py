"""A photo's date (taken, else its file's time) is computed by the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from faceorg.people.photos import date_key
from faceorg.store import open_library
from faceorg.store.models import LibraryFolder, Photo


def test_the_date_is_the_date_taken_else_the_file_time(db_location: Path | str) -> None:
    filed_ns = int(datetime(2021, 6, 1, 9, 30, 0).timestamp()) * 1_000_000_000  # local time, as the key is
    with open_library(db_location) as lib:
        with lib.transaction() as s:
            folder = LibraryFolder(path="/photos")
            s.add(folder)
            s.flush()
            s.add_all([
                Photo(folder_id=folder.id, path="/photos/taken.jpg", size=1, mtime_ns=time.time_ns(),
                      taken_at=datetime(2019, 3, 4, 5, 6, 7)),
                Photo(folder_id=folder.id, path="/photos/filed.jpg", size=1, mtime_ns=filed_ns, taken_at=None),
            ])
        with lib.session() as s:
            rows = s.execute(select(Photo.path, date_key()).order_by(date_key())).all()
    assert [(str(p), d) for p, d in rows] == [("/photos/taken.jpg", "2019-03-04 05:06:07"),
                                              ("/photos/filed.jpg", "2021-06-01 09:30:00")]
