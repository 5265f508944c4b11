"""Read-only views of people and faces, as plain data (safe to hand across threads)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field, replace
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, case, func, select, true
from sqlalchemy.orm import Session, aliased

from faceorg.errors import FaceorgError
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus, Person, Photo, PhotoStatus


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str | None
    face_count: int
    confirmed: int  # faces the user placed
    suggested: int
    cover_face_id: int | None
    hidden: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class FaceSummary:
    id: int
    photo_id: int
    photo_path: str
    box: tuple[float, float, float, float]
    landmarks: list[float]
    score: float
    quality: float
    status: str
    person_id: int | None
    person_name: str | None
    source: str | None
    distance: float | None = None
    runner_up_id: int | None = None
    runner_up_name: str | None = None
    runner_up_distance: float | None = None
    strength: float | None = None
    manual: bool = False  # the user drew it (it can be resized or removed)
    doubt: float | None = None  # not confirmed: distance to the person's confirmed faces (``unconfirmed_faces``)
    like_distance: float | None = None  # listed look-alikes first: distance to the nearest chosen face (0: chosen)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["box"] = list(self.box)
        return d


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def missing_photos() -> Select[int]:
    """Ids of the photos whose file is gone (kept in the library until they come back or are removed)."""
    return select(Photo.id).where(Photo.status == PhotoStatus.MISSING)


MANY_MISSING = 500  # above this many missing photos the condition keeps them in a subquery


def face_present(session: Session | None = None) -> ColumnElement[bool]:
    """A condition on ``Face``: its photo is still on disk. A face of a missing photo counts for no one
    and shows in no grid (its photo view says the file is missing).

    With a ``session``, the missing photos are looked up once, so the usual case (none) costs the
    queries that use the condition nothing.
    """
    if session is not None:
        missing = list(session.scalars(missing_photos().limit(MANY_MISSING + 1)))
        if not missing:
            return true()
        if len(missing) <= MANY_MISSING:
            return Face.photo_id.not_in(missing)
    return Face.photo_id.not_in(missing_photos())


def valid_covers(session: Session, covers: Iterable[tuple[int, int | None]]) -> dict[int, int]:
    """Of these (person, chosen cover face) pairs, the covers that are still one of that person's present
    faces. A face that left the person (rejected, moved, regrouped, undone) or whose photo is missing is no
    cover: the person's best face shows instead."""
    pairs = [(p, f) for p, f in covers if f is not None]
    out: dict[int, int] = {}
    present = face_present(session) if pairs else true()
    for i in range(0, len(pairs), 500):
        chunk = pairs[i:i + 500]
        rows = session.execute(
            select(Assignment.person_id, Assignment.face_id).join(Face, Face.id == Assignment.face_id)
            .where(Assignment.face_id.in_([f for _, f in chunk]), present)).all()
        owner = {f: p for p, f in rows}
        out.update({p: f for p, f in chunk if owner.get(f) == p})
    return out


def _best_face_per_person(session: Session) -> dict[int, int]:
    ranked = (select(Assignment.person_id, Assignment.face_id,
                     func.row_number().over(partition_by=Assignment.person_id,
                                            order_by=(Face.quality.desc(), Face.id)).label("rank"))
              .join(Face, Face.id == Assignment.face_id).where(face_present(session))).subquery()
    return dict(session.execute(select(ranked.c.person_id, ranked.c.face_id).where(ranked.c.rank == 1)).all())


def list_people(library: Library, *, include_hidden: bool = False, name_filter: str | None = None,
                person_ids: list[int] | None = None) -> list[PersonSummary]:
    """People and unnamed groups: named first (by name), then unnamed by size (largest first)."""
    with library.session() as s:
        counts = (select(Assignment.person_id.label("pid"), func.count().label("n"),
                         func.sum(case((Assignment.source == AssignmentSource.USER, 1), else_=0)).label("user"),
                         func.sum(case((Assignment.source == AssignmentSource.SUGGESTED, 1), else_=0)).label("sugg"))
                  .join(Face, Face.id == Assignment.face_id).where(face_present(s))
                  .group_by(Assignment.person_id)).subquery()
        q = select(Person, counts.c.n, counts.c.user, counts.c.sugg).outerjoin(counts, counts.c.pid == Person.id)
        if not include_hidden:
            q = q.where(Person.hidden.is_(False))
        if name_filter:
            q = q.where(Person.name.ilike(f"%{name_filter}%"))
        if person_ids is not None:
            q = q.where(Person.id.in_(person_ids))
        rows = s.execute(q).all()
        best = _best_face_per_person(s)
        covers = valid_covers(s, [(p.id, p.cover_face_id) for p, *_ in rows])
    people = [PersonSummary(id=p.id, name=p.name, face_count=n or 0, confirmed=u or 0, suggested=g or 0,
                            cover_face_id=covers.get(p.id) or best.get(p.id), hidden=p.hidden)
              for p, n, u, g in rows if p.name is not None or n]  # empty unnamed groups are dormant
    people.sort(key=lambda p: (p.name is None, (p.name or "").casefold(), -p.face_count, p.id))
    return people


def _face_query() -> Select[Face, str, Assignment, str | None, str | None]:
    runner = aliased(Person)
    return (select(Face, Photo.path, Assignment, Person.name, runner.name)
            .join(Photo, Photo.id == Face.photo_id)
            .outerjoin(Assignment, Assignment.face_id == Face.id)
            .outerjoin(Person, Person.id == Assignment.person_id)
            .outerjoin(runner, runner.id == Assignment.runner_up_id))


def _summaries(rows: Iterable[Row[Face, str, Assignment, str | None, str | None]]) -> list[FaceSummary]:
    out = []
    for face, path, a, name, runner_name in rows:
        out.append(FaceSummary(
            id=face.id, photo_id=face.photo_id, photo_path=path, box=(face.x, face.y, face.w, face.h),
            landmarks=list(face.landmarks), score=face.score, quality=face.quality, status=face.status.value,
            person_id=a.person_id if a else None, person_name=name, source=a.source.value if a else None,
            distance=a.distance if a else None, runner_up_id=a.runner_up_id if a else None,
            runner_up_name=runner_name, runner_up_distance=a.runner_up_distance if a else None,
            strength=a.strength if a else None, manual=bool(face.manual)))
    return out


def faces_of_person(library: Library, person_id: int) -> list[FaceSummary]:
    """All faces of a person, best quality first."""
    with library.session() as s:
        if s.get(Person, person_id) is None:
            raise FaceorgError(f"no person with id {person_id} (see `faceorg people list`)")
        rows = s.execute(_face_query().where(Assignment.person_id == person_id, face_present(s))
                         .order_by(Face.quality.desc(), Face.id)).all()
    return _summaries(rows)


def suggested_faces(library: Library) -> list[FaceSummary]:
    """Every face waiting for a yes: suggested to a named person (not confirmed, not grouped automatically),
    by person name, the surest (nearest) first within each person. Faces of missing photos are left out."""
    with library.session() as s:
        rows = s.execute(_face_query().where(Assignment.source == AssignmentSource.SUGGESTED,
                                             Person.name.is_not(None), Face.status == FaceStatus.NORMAL,
                                             face_present(s))).all()
    faces = _summaries(rows)
    faces.sort(key=lambda f: ((f.person_name or "").casefold(), f.person_id or 0,
                              f.distance if f.distance is not None else 9.0, f.id))
    return faces


def doubt_of_faces(session: Session, person_id: int) -> dict[int, float]:
    """How doubtful each of a person's faces is that the user has not confirmed: its distance to the nearest
    confirmed face of the person (while none is confirmed, to the centre of the person's faces). Faces
    without a vector under the active model are left out; confirmed faces are not listed."""
    return _doubts(session, Assignment.person_id == person_id)


def doubt_of_named_faces(session: Session) -> dict[int, float]:
    """:func:`doubt_of_faces` for every named person at once (one query, a person's faces at a time)."""
    named = select(Person.id).where(Person.name.is_not(None))
    return _doubts(session, Assignment.person_id.in_(named))


def _doubts(session: Session, which: ColumnElement[bool]) -> dict[int, float]:
    import numpy as np

    from faceorg.store.models import Embedding, ModelVersion
    from faceorg.vectors import distance_from_similarity, l2_normalize

    version = session.scalar(select(ModelVersion.id).where(ModelVersion.active.is_(True)))
    if version is None:
        return {}
    rows = session.execute(
        select(Assignment.person_id, Assignment.face_id, Assignment.source, Embedding.vector)
        .join(Embedding, (Embedding.face_id == Assignment.face_id) & (Embedding.model_version_id == version))
        .where(which).order_by(Assignment.person_id, Assignment.face_id)).all()
    out: dict[int, float] = {}
    for _person, group in groupby(rows, key=itemgetter(0)):
        part = list(group)
        vectors = np.stack([np.frombuffer(r[3], np.float32) for r in part])
        confirmed = np.array([r[2] is AssignmentSource.USER for r in part])
        if confirmed.all():
            continue
        ref = vectors[confirmed] if confirmed.any() else l2_normalize(vectors.mean(axis=0, keepdims=True))
        nearest = distance_from_similarity((vectors[~confirmed] @ ref.T).max(axis=1))
        out.update((int(r[1]), float(d)) for r, d in zip([r for r, c in zip(part, confirmed) if not c],
                                                           nearest.tolist()))
    return out


def unconfirmed_face_ids(library: Library, limit: int | None = None) -> tuple[list[int], dict[int, float]]:
    """The faces of named people the user has not confirmed (grouped automatically or suggested), across
    people, the least sure first (:func:`doubt_of_named_faces`; faces without a vector last), at most
    ``limit``; and their doubts. Faces of missing photos are left out."""
    with library.session() as s:
        ids = list(s.scalars(select(Face.id).join(Assignment, Assignment.face_id == Face.id)
                             .join(Person, Person.id == Assignment.person_id)
                             .where(Assignment.source != AssignmentSource.USER, Person.name.is_not(None),
                                    Face.status == FaceStatus.NORMAL, face_present(s))))
        doubt = doubt_of_named_faces(s)
    ids.sort(key=lambda f: (f not in doubt, -doubt.get(f, 0.0), f))
    ids = ids[:limit] if limit is not None else ids
    return ids, {f: doubt[f] for f in ids if f in doubt}


def unconfirmed_faces(library: Library, limit: int | None = None) -> list[FaceSummary]:
    """:func:`unconfirmed_face_ids` with what the app knows of each face (``doubt`` filled in)."""
    ids, doubt = unconfirmed_face_ids(library, limit)
    found: dict[int, FaceSummary] = {}
    with library.session() as s:
        for start in range(0, len(ids), 500):
            rows = s.execute(_face_query().where(Face.id.in_(ids[start:start + 500]))).all()
            found.update((f.id, replace(f, doubt=doubt.get(f.id))) for f in _summaries(rows))
    return [found[f] for f in ids if f in found]


def least_sure_first(face_ids: list[int], sources: dict[int, str | None], doubt: dict[int, float]) -> list[int]:
    """The Person view's order: faces not confirmed, most doubtful first, then the confirmed ones.

    ``face_ids`` come best quality first, which breaks ties (and orders the confirmed faces).
    """
    rank = {f: k for k, f in enumerate(face_ids)}
    return sorted(face_ids, key=lambda f: (sources.get(f) == AssignmentSource.USER.value, -doubt.get(f, 0.0), rank[f]))


def face_ids_of_person(library: Library, person_id: int) -> list[int]:
    """Face ids of a person, best quality first (cheap: for big grids)."""
    with library.session() as s:
        return list(s.scalars(select(Face.id).join(Assignment, Assignment.face_id == Face.id)
                              .where(Assignment.person_id == person_id, face_present(s))
                              .order_by(Face.quality.desc(), Face.id)))


def with_status(query: SelectT, status: FaceStatus | None, session: Session | None = None) -> SelectT:
    """Narrow a face query (joined to assignments) to a status; ``None``: normal faces of nobody, best first.
    Faces of missing photos are left out."""
    query = query.where(face_present(session))
    if status is None:
        query = query.where(Face.status == FaceStatus.NORMAL, Assignment.face_id.is_(None))
    else:
        query = query.where(Face.status == status)
    return query.order_by(Face.quality.desc(), Face.id)


def ungrouped_face_count(library: Library) -> int:
    """Faces that belong to nobody and are not ignored (of photos still on disk): what grouping would sort."""
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(Face)
                        .outerjoin(Assignment, Assignment.face_id == Face.id)
                        .where(Face.status == FaceStatus.NORMAL, Assignment.face_id.is_(None), face_present(s))) or 0


def faces_by_status(library: Library, status: FaceStatus | None) -> list[FaceSummary]:
    """Faces the user ignored or marked not-a-face; ``None``: normal faces that belong to nobody."""
    with library.session() as s:
        rows = s.execute(with_status(_face_query(), status, s)).all()
    return _summaries(rows)


def faces_by_ids(library: Library, face_ids: list[int]) -> list[FaceSummary]:
    with library.session() as s:
        rows = s.execute(_face_query().where(Face.id.in_(face_ids))).all()
    by_id = {f.id: f for f in _summaries(rows)}
    return [by_id[i] for i in face_ids if i in by_id]


@dataclass(frozen=True)
class PhotoFaces:
    photo_id: int
    path: str
    width: int | None
    height: int | None
    is_collage: bool
    faces: list[FaceSummary]
    missing: bool = False  # the file was gone at the last scan
    group_sizes: dict[int, int] = field(default_factory=dict)  # faces of each person seen in the photo


def photo_with_faces(library: Library, photo_id: int) -> PhotoFaces:
    """A photo and all its faces (including ignored ones; not-a-face ones left out)."""
    with library.session() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise FaceorgError(f"no photo with id {photo_id}")
        rows = s.execute(_face_query().where(Face.photo_id == photo_id, Face.status != FaceStatus.NOT_FACE)
                         .order_by(Face.x)).all()
        faces = _summaries(rows)
        people = sorted({f.person_id for f in faces if f.person_id is not None})
        sizes = dict(s.execute(select(Assignment.person_id, func.count()).where(Assignment.person_id.in_(people))
                               .group_by(Assignment.person_id)).all()) if people else {}
        return PhotoFaces(photo.id, photo.path, photo.width, photo.height, photo.is_collage, faces,
                          missing=photo.status == PhotoStatus.MISSING, group_sizes=sizes)


def review_queue(library: Library, limit: int | None = None,
                 people: Collection[int] | None = None) -> list[FaceSummary]:
    """Suggestions and uncertain automatic matches, most uncertain first.

    Uncertainty of a suggestion: how close its runner-up is (distance / runner-up distance, near 1 is
    uncertain); of an automatic cluster member: 1 - membership strength. Only named people are reviewed.
    ``people``: only the faces of these people.
    """
    with library.session() as s:
        q = (_face_query().where(Assignment.source.in_([AssignmentSource.SUGGESTED, AssignmentSource.AUTO]),
                                 Person.name.is_not(None), Face.status == FaceStatus.NORMAL, face_present(s)))
        if people is not None:
            q = q.where(Assignment.person_id.in_(sorted(people)))
        rows = s.execute(q).all()
    faces = _summaries(rows)
    faces.sort(key=review_order)
    return faces[:limit] if limit else faces


def review_uncertainty(f: FaceSummary) -> float:
    """How unsure a waiting face is (0 sure to 1): for a suggestion, how close its runner-up is (distance /
    runner-up distance); for an automatic member, 1 - its membership strength."""
    if f.source == AssignmentSource.SUGGESTED.value and f.distance is not None:
        if f.runner_up_distance:
            return min(1.0, f.distance / f.runner_up_distance)
        return min(1.0, f.distance)
    return 1.0 - (f.strength if f.strength is not None else 0.5)


def review_order(f: FaceSummary) -> tuple[float, int]:
    """The sort key of :func:`review_queue`: most uncertain first."""
    return (-review_uncertainty(f), f.id)


def export_library(library: Library) -> dict[str, list[dict[str, object]]]:
    """Every photo with its faces and names, for `faceorg export --json`."""
    with library.session() as s:
        rows = s.execute(_face_query().where(Face.status != FaceStatus.NOT_FACE, Photo.status != PhotoStatus.MISSING)
                         .order_by(Photo.path, Face.x)).all()
        photos = s.execute(select(Photo.id, Photo.path).where(Photo.status == PhotoStatus.OK)
                           .order_by(Photo.path)).all()
    by_photo: dict[int, list[dict[str, object]]] = {pid: [] for pid, _ in photos}
    for f in _summaries(rows):
        by_photo.setdefault(f.photo_id, []).append({
            "id": f.id, "box": [round(v, 1) for v in f.box],
            "landmarks": [[round(f.landmarks[i], 1), round(f.landmarks[i + 1], 1)]
                          for i in range(0, len(f.landmarks), 2)],
            "score": round(f.score, 4), "person_id": f.person_id, "person_name": f.person_name,
            "source": f.source, "status": f.status, "manual": f.manual})
    paths = dict(photos)
    return {"photos": [{"path": paths[pid], "faces": faces} for pid, faces in by_photo.items() if pid in paths]}

