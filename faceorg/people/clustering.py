"""Clustering the library's faces into people (implementation lands with the clustering engine)."""

from __future__ import annotations

from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.store.db import Library


def recluster(library: Library, progress: Progress | None = None, *, full: bool = False) -> ChangeSet:
    """Match new faces to named people, then group the faces nobody claims; returns what changed."""
    raise NotImplementedError
