"""Housekeeping shared by every step that can leave an unnamed group without faces."""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from faceorg.store.models import Assignment, FaceNotPerson, Person


def empty_unnamed_people() -> Select[int]:
    """Unnamed people with no faces and no "not this person" rule pointing at them.

    An empty unnamed group that faces were rejected from is kept (dormant, not listed) so that the
    user's rule keeps its meaning.
    """
    return select(Person.id).where(Person.name.is_(None), ~Person.id.in_(select(Assignment.person_id)),
                                   ~Person.id.in_(select(FaceNotPerson.person_id)))


def drop_empty_unnamed(session: Session) -> list[int]:
    """Delete the empty unnamed groups; returns their ids."""
    session.flush()
    empty = list(session.scalars(empty_unnamed_people()))
    if empty:
        session.execute(delete(Person).where(Person.id.in_(empty)))
    return empty
