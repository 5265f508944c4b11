"""Counting the ORM objects code makes (for tests that a path over a big library builds none per row)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from faceorg.store.models import Base


@contextmanager
def orm_objects() -> Iterator[Counter[str]]:
    """Count the ORM objects made (constructed or loaded from the database), by class."""
    made: Counter[str] = Counter()

    def count(target: object, *_: object) -> None:
        made[type(target).__name__] += 1

    event.listen(Base, "load", count, propagate=True)
    event.listen(Base, "init", count, propagate=True)
    try:
        yield made
    finally:
        event.remove(Base, "load", count)
        event.remove(Base, "init", count)
