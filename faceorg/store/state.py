"""Small records the library's jobs keep between runs (the ``library_state`` table).

``GROUPING_PENDING``: faces were stored that no completed grouping has seen yet; set in the same
transaction as the faces, cleared when a grouping completes, so a grouping that was killed or
cancelled is resumed by the next scan.
``SCAN_PROBLEMS``: the folders and links the last complete walk could not read or did not follow.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from faceorg.store.db import Library
from faceorg.store.models import LibraryState

GROUPING_PENDING = "grouping_pending"
SCAN_PROBLEMS = "scan_problems"


def get_state(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(LibraryState, key)
    return default if row is None else row.value


def set_state(session: Session, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` (None removes it)."""
    row = session.get(LibraryState, key)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(LibraryState(key=key, value=value))
    else:
        row.value = value


def grouping_pending(library: Library) -> bool:
    """Whether stored faces wait for a grouping that never completed."""
    with library.session() as s:
        return bool(get_state(s, GROUPING_PENDING, False))


def set_grouping_pending(library: Library, pending: bool) -> None:
    with library.transaction() as s:
        set_state(s, GROUPING_PENDING, True if pending else None)
