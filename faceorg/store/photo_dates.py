"""A photo's date as stored for sorting: when it was taken (EXIF), else its file's modification time in
local time, as text ``YYYY-MM-DD HH:MM:SS`` (sorts as it reads).

Computed in Python when a photo is recorded, not by the database when photos are listed: SQLite refuses
``localtime`` in an index, and an indexed, stored key makes the first page of 100k photos a few rows
read in order instead of a sort of all of them.
"""

from __future__ import annotations

from datetime import datetime

DATE_KEY_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_KEY_LENGTH = 19


def photo_date_key(taken_at: datetime | None, mtime_ns: int | None) -> str | None:
    """The sort key of a photo taken at ``taken_at`` (None: unknown) whose file time is ``mtime_ns``."""
    if taken_at is not None:
        return taken_at.strftime(DATE_KEY_FORMAT)
    if mtime_ns is None:
        return None
    try:
        return datetime.fromtimestamp(mtime_ns // 1_000_000_000).strftime(DATE_KEY_FORMAT)
    except (OverflowError, OSError, ValueError):  # a file time outside what the platform's clock holds
        return None
