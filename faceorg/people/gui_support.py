"""Lean queries for big grids: person cards and face ids with what a card shows, nothing more.

``queries.list_people`` computes every person's best face in one pass, which costs about half a
second on 100k faces; the app instead loads the first page of cards (:func:`first_cards`: the stored
counts of ``people.face_count``, no face counted), then every card, and finds the best faces for the
people on screen first, the rest afterwards.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from faceorg.people.queries import (
    doubt_of_faces,
    face_present,
    least_sure_first,
    missing_photos,
    valid_covers,
    with_status,
)
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus, Person

CHUNK = 500


@dataclass(frozen=True)
class PersonCard:
    """What a person's card shows. ``cover_face_id`` is the chosen cover, or None until resolved."""

    id: int
    name: str | None
    face_count: int
    cover_face_id: int | None
    hidden: bool


SortKey = tuple[bool, str, int, int]


def card_sort_key(card: PersonCard) -> SortKey:
    """Named people first (by name), then unnamed groups by size, largest first."""
    return (card.name is None, (card.name or "").casefold(), -card.face_count, card.id)


def person_cards(library: Library, person_ids: Iterable[int] | None = None) -> list[PersonCard]:
    """Cards of all people (hidden ones included) or of the given ones, in display order.

    Faces of missing photos are not counted; an unnamed group left with none is not shown. A chosen
    cover that is no longer one of the person's present faces is dropped (the best face shows instead).
    """
    return person_cards_keyed(library, person_ids)[0]


def person_cards_keyed(library: Library, person_ids: Iterable[int] | None = None
                       ) -> tuple[list[PersonCard], list[SortKey]]:
    """:func:`person_cards` and each card's :func:`card_sort_key` (the People view takes both from its
    worker: computing the keys of 50k cards again would hold the GUI thread)."""
    ids = None if person_ids is None else sorted(set(person_ids))
    with library.session() as s:
        people: list[Row[int, str | None, int | None, bool, int]] = []
        conn = s.connection()  # Core rows: no ORM bookkeeping per person
        for chunk in _chunks(ids):
            p = _people_query()
            people.extend(conn.execute(p if chunk is None else p.where(Person.id.in_(chunk))).all())
        return _keyed_cards(s, people)


def first_cards(library: Library, limit: int) -> tuple[list[PersonCard], bool]:
    """The first ``limit`` shown cards (hidden people left out) in display order, and whether they are all
    the cards there are (hidden ones included): the People view's first screen, without reading every person.

    Named people come first, and are few: all of them are read and sorted here; the biggest unnamed groups
    follow, by their stored count. With faces of missing photos in the library, counts need correcting and
    every card is listed (:func:`person_cards`).
    """
    with library.session() as s:
        conn = s.connection()  # Core rows: no ORM bookkeeping per person
        if s.scalar(missing_photos().limit(1)) is not None:
            cards = _cards(s, conn.execute(_people_query()).all())
            shown = [c for c in cards if not c.hidden]
            return shown[:limit], len(shown) <= limit and len(shown) == len(cards)
        shown_named = _people_query().where(Person.name.is_not(None), Person.hidden.is_(False))
        named = _cards(s, conn.execute(shown_named).all())[:limit]
        rows: Sequence[Row[int, str | None, int | None, bool, int]] = []
        if len(named) < limit:
            unnamed = (_people_query().where(Person.name.is_(None), Person.hidden.is_(False), Person.face_count > 0)
                       .order_by(Person.face_count.desc(), Person.id).limit(limit - len(named)))
            rows = conn.execute(unnamed).all()
        cards = named + _cards(s, rows)
        complete = False
        if len(cards) < limit:  # all shown: is anyone hidden?
            complete = s.scalar(select(Person.id).where(Person.hidden.is_(True), (Person.name.is_not(None)) |
                                                        (Person.face_count > 0)).limit(1)) is None
    return cards, complete


def _people_query() -> Select[int, str | None, int | None, bool, int]:
    return select(Person.id, Person.name, Person.cover_face_id, Person.hidden, Person.face_count)


def _cards(s: Session, people: Sequence[Row[int, str | None, int | None, bool, int]]) -> list[PersonCard]:
    """These people's cards in display order: counts less the faces of missing photos, covers checked."""
    return _keyed_cards(s, people)[0]


def _keyed_cards(s: Session, people: Sequence[Row[int, str | None, int | None, bool, int]]
                 ) -> tuple[list[PersonCard], list[SortKey]]:
    counts = {pid: n for pid, _name, _cover, _hidden, n in people}
    if s.scalar(missing_photos().limit(1)) is not None:
        # Subtracted rather than joined: missing photos are few.
        gone = (select(Assignment.person_id, func.count()).join(Face, Face.id == Assignment.face_id)
                .where(Face.photo_id.in_(missing_photos())).group_by(Assignment.person_id))
        ids = None if len(counts) > CHUNK else sorted(counts)
        for chunk in _chunks(ids):
            q = gone if chunk is None else gone.where(Assignment.person_id.in_(chunk))
            for pid, n in s.execute(q).all():
                if pid in counts:
                    counts[pid] -= n
    covers = valid_covers(s, [(pid, cover) for pid, _name, cover, _hidden, _n in people])
    cards = [PersonCard(pid, name, counts[pid], covers.get(pid), bool(hidden))
             for pid, name, _cover, hidden, _n in people if name is not None or counts[pid]]
    keyed = sorted(((card_sort_key(c), c) for c in cards), key=itemgetter(0))  # keys are unique (id last)
    return [c for _k, c in keyed], [k for k, _c in keyed]


def best_faces(library: Library, person_ids: Iterable[int]) -> dict[int, int]:
    """The best-quality face of each of these people (ties: lowest face id); people without faces are left out."""
    out: dict[int, int] = {}
    with library.session() as s:
        present = face_present(s)
        for chunk in _chunks(sorted(set(person_ids))):
            ranked = (select(Assignment.person_id, Assignment.face_id,
                             func.row_number().over(partition_by=Assignment.person_id,
                                                    order_by=(Face.quality.desc(), Face.id)).label("rank"))
                      .join(Face, Face.id == Assignment.face_id)
                      .where(Assignment.person_id.in_(chunk or []), present)).subquery()
            out.update(dict(s.execute(select(ranked.c.person_id, ranked.c.face_id)
                                      .where(ranked.c.rank == 1)).all()))
    return out


CHECK_AT_MOST = 5000  # the Check Named Faces list: the least sure faces first, this many at most


@dataclass(frozen=True)
class FaceCard:
    """What a face chip shows: its id, its photo, and who it belongs to and why."""

    id: int
    photo_id: int
    person_id: int | None
    source: str | None  # user | auto | suggested | None (nobody)
    status: str  # normal | ignored | not_face
    doubt: float | None = None  # not confirmed: distance to the person's nearest confirmed face (Person view)
    person_name: str | None = None


_CardRow = Row[int, int, int | None, AssignmentSource | None, FaceStatus, str | None]


def _face_cards(q: Iterable[_CardRow]) -> list[FaceCard]:
    return [FaceCard(fid, photo, pid, src.value if src is not None else None, status.value, person_name=name)
            for fid, photo, pid, src, status, name in q]


def _face_card_query() -> Select[int, int, int | None, AssignmentSource | None, FaceStatus, str | None]:
    return (select(Face.id, Face.photo_id, Assignment.person_id, Assignment.source, Face.status, Person.name)
            .outerjoin(Assignment, Assignment.face_id == Face.id)
            .outerjoin(Person, Person.id == Assignment.person_id))


def face_cards_to_check(library: Library, limit: int | None = CHECK_AT_MOST) -> list[FaceCard]:
    """The faces of named people not confirmed yet, across people, the least sure first, at most ``limit``
    (:func:`faceorg.people.queries.unconfirmed_face_ids`)."""
    from faceorg.people.queries import unconfirmed_face_ids

    ids, doubt = unconfirmed_face_ids(library, limit)
    return [replace(c, doubt=doubt.get(c.id)) for c in face_cards_by_ids(library, ids)]


def face_cards_suggested(library: Library) -> list[FaceCard]:
    """Every face waiting for a yes (suggested to a named person), by person, the surest first
    (:func:`faceorg.people.queries.suggested_faces`)."""
    from faceorg.people.queries import suggested_faces

    return [FaceCard(f.id, f.photo_id, f.person_id, f.source, f.status, person_name=f.person_name)
            for f in suggested_faces(library)]


def face_cards_of_person(library: Library, person_id: int) -> list[FaceCard]:
    """A person's faces, least sure first: the faces not confirmed by descending doubt (``doubt_of_faces``),
    then the confirmed ones best quality first."""
    with library.session() as s:
        rows = s.execute(_face_card_query().where(Assignment.person_id == person_id, face_present(s))
                         .order_by(Face.quality.desc(), Face.id)).all()
        doubt = doubt_of_faces(s, person_id)
    cards = {c.id: replace(c, doubt=doubt.get(c.id)) for c in _face_cards(rows)}
    order = least_sure_first(list(cards), {c.id: c.source for c in cards.values()}, doubt)
    return [cards[f] for f in order]


def face_cards_by_status(library: Library, status: FaceStatus | None) -> list[FaceCard]:
    """Faces with this status, best first; ``None``: normal faces that belong to nobody."""
    with library.session() as s:
        rows = s.execute(with_status(_face_card_query(), status, s)).all()
    return _face_cards(rows)


def face_cards_by_ids(library: Library, face_ids: Iterable[int]) -> list[FaceCard]:
    """Current state of these faces (ids that no longer exist are left out), in the order given."""
    ids = list(dict.fromkeys(face_ids))
    found: dict[int, FaceCard] = {}
    with library.session() as s:
        for chunk in _chunks(ids):
            rows = s.execute(_face_card_query().where(Face.id.in_(chunk or []))).all()
            found.update({c.id: c for c in _face_cards(rows)})
    return [found[i] for i in ids if i in found]


def face_cards_of_changes(library: Library, face_ids: Iterable[int], person_ids: Collection[int]) -> list[FaceCard]:
    """The current state of ``face_ids`` and of every face of ``person_ids``: what a list of faces looks at
    after a change (a person named, renamed or merged changes which lists their faces belong in, though the
    faces themselves did not change)."""
    of_people: list[int] = []
    if person_ids:
        with library.session() as s:
            for chunk in _chunks(sorted(person_ids)):
                of_people += s.scalars(select(Assignment.face_id).where(Assignment.person_id.in_(chunk or [])))
    return face_cards_by_ids(library, [*face_ids, *of_people])


def person_names(library: Library) -> list[str]:
    """Every person's name, sorted (for name completion)."""
    with library.session() as s:
        names = s.scalars(select(Person.name).where(Person.name.is_not(None))).all()
    return sorted((n for n in names if n), key=str.casefold)


def _chunks(ids: list[int] | None) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]
