"""Import face names from XMP: match each region of a photo's sidecars or embedded XMP with a detected face
and give the face to the person of that name, as the user's decision (with where the name came from).

A region that disagrees with a decision made in faceorg (a face named otherwise, "not this person", "not a
face", an ignored stranger) is a conflict: listed, never applied. A region where no face was detected is a
missed face, added as a face of its own when the library can (see :func:`import_names`). A name without a
box names a photo's only face; otherwise it is listed for review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceorg.errors import CancelledError, FaceorgError
from faceorg.people import ops
from faceorg.people.changes import ChangeSet
from faceorg.people.names import clean_name
from faceorg.progress import Progress
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    Face,
    FaceNameOrigin,
    FaceNotPerson,
    FaceStatus,
    Person,
    Photo,
    PhotoStatus,
)
from faceorg.xmp.orientation import Box, same_place, stored_size
from faceorg.xmp.read import PhotoNames, UprightRegion, read_photo_names

PxBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class FoundName:
    """One name the XMP gives a face of a photo, and what became of it."""

    photo_id: int
    photo_path: str
    name: str
    face_id: int | None  # None: no detected face at the region (a missed face, or a name without a box)
    box: PxBox | None  # the region in upright pixels (None: a name without a box)
    format: str  # mwg | mp | hint
    source: str  # the file the name was read from
    library_name: str | None = None  # for conflicts: the face's person in faceorg
    reason: str = ""  # for conflicts: why the name is not applied

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["box"] = [round(v, 1) for v in self.box] if self.box is not None else None
        return d


@dataclass
class XmpImport:
    """What an import found and did (``dry_run``: what it would do)."""

    dry_run: bool = False
    photos_read: int = 0
    photos_with_names: int = 0
    imported: list[FoundName] = field(default_factory=list)  # names given to detected faces
    matched: list[FoundName] = field(default_factory=list)  # faces faceorg already names the same
    new_faces: list[FoundName] = field(default_factory=list)  # regions where no face was detected: added
    conflicts: list[FoundName] = field(default_factory=list)  # disagree with a decision in faceorg: not applied
    hints: list[FoundName] = field(default_factory=list)  # names without a box, left for review
    problems: list[str] = field(default_factory=list)  # broken sidecars, several names for one face, bad names
    skipped: list[str] = field(default_factory=list)  # regions that are not faces, whole-frame regions
    changes: ChangeSet = field(default_factory=ChangeSet)
    cancelled: bool = False


@dataclass
class _FaceState:
    id: int
    box: Box  # normalised, upright
    px: PxBox
    status: FaceStatus
    person_id: int | None
    person_name: str | None
    source: AssignmentSource | None
    not_names: set[str]


def _faces_of_photo(s: Session, photo: Photo) -> list[_FaceState]:
    w, h = float(photo.width or 1), float(photo.height or 1)
    rows = s.execute(
        select(Face, Assignment.person_id, Person.name, Assignment.source)
        .outerjoin(Assignment, Assignment.face_id == Face.id).outerjoin(Person, Person.id == Assignment.person_id)
        .where(Face.photo_id == photo.id).order_by(Face.id)).all()
    ids = [r[0].id for r in rows]
    nots: dict[int, set[str]] = {}
    for face_id, name in s.execute(select(FaceNotPerson.face_id, Person.name).join(
            Person, Person.id == FaceNotPerson.person_id).where(FaceNotPerson.face_id.in_(ids))):
        if name:
            nots.setdefault(face_id, set()).add(name)
    return [_FaceState(f.id, (f.x / w, f.y / h, f.w / w, f.h / h), (f.x, f.y, f.w, f.h), f.status, pid, name, src,
                       nots.get(f.id, set())) for f, pid, name, src in rows]


def _pairs(regions: list[UprightRegion], faces: list[_FaceState]) -> dict[int, _FaceState]:
    """Region index -> the face it marks: the best-overlapping pairs first, each face and region used once."""
    scored = sorted(((same_place(r.box, f.box), i, j) for i, r in enumerate(regions) for j, f in enumerate(faces)),
                    reverse=True)
    out: dict[int, _FaceState] = {}
    used: set[int] = set()
    for score, i, j in scored:
        if score > 0 and i not in out and j not in used:
            out[i] = faces[j]
            used.add(j)
    return out


def _conflict_reason(face: _FaceState, name: str) -> str | None:
    if face.status is FaceStatus.NOT_FACE:
        return "you marked it as not a face"
    if face.status is FaceStatus.IGNORED:
        return "you ignored this face as a stranger"
    if name in face.not_names:
        return f"you said this face is not {name}"
    if face.source is AssignmentSource.USER and face.person_name != name:
        return (f"you named this face {face.person_name}" if face.person_name
                else "you placed this face in an unnamed group")
    return None


def _plan_photo(s: Session, photo: Photo, names: PhotoNames, report: XmpImport,
                plan: dict[int, FoundName]) -> None:
    """Sort one photo's names into the report's lists; the faces to name go into ``plan``."""
    w, h = float(photo.width or 1), float(photo.height or 1)
    faces = _faces_of_photo(s, photo)
    regions = list(names.regions)
    formats = {i: r.format for i, r in enumerate(regions)}
    normal = [f for f in faces if f.status is FaceStatus.NORMAL]
    # A name without a box names a photo's only face.
    if not regions and len(names.hints) == 1 and len(normal) == 1 and names.hint_source:
        f = normal[0]
        regions = [UprightRegion(names.hints[0], f.box, "hint", names.hint_source)]
        formats[0] = "hint"
    else:
        report.hints += [FoundName(photo.id, photo.path, n, None, None, "hint", names.hint_source or photo.path)
                         for n in names.hints]
    matches = _pairs(regions, faces)
    wanted: dict[int, FoundName] = {}
    missed: list[FoundName] = []
    for i, region in enumerate(regions):
        px = (region.box[0] * w, region.box[1] * h, region.box[2] * w, region.box[3] * h)
        try:
            name = clean_name(region.name)
        except FaceorgError as exc:
            report.problems.append(f"{region.source}: the name {region.name!r} cannot be used ({exc})")
            continue
        face = matches.get(i)
        found = FoundName(photo.id, photo.path, name, face.id if face else None, px, formats[i], region.source,
                          face.person_name if face else None)
        if face is None:
            missed.append(found)
            continue
        reason = _conflict_reason(face, name)
        if reason is not None:
            report.conflicts.append(_with_reason(found, reason))
        elif face.source is AssignmentSource.USER:
            report.matched.append(found)
        else:
            wanted[face.id] = found
    if not photo.is_collage:
        # One person appears once in a photo: a name on two faces, or on a face while you gave another face of
        # the photo that name, is a conflict.
        taken = {f.person_name for f in faces if f.source is AssignmentSource.USER and f.person_name}
        counts: dict[str, int] = {}
        for found in [*wanted.values(), *missed]:
            counts[found.name] = counts.get(found.name, 0) + 1
        for found in [*wanted.values(), *missed]:
            reason = (f"{found.name} marks more than one face of the photo" if counts[found.name] > 1
                      else f"you gave {found.name} another face of this photo" if found.name in taken else None)
            if reason is not None:
                report.conflicts.append(_with_reason(found, reason))
                if found.face_id is not None:
                    del wanted[found.face_id]
                else:
                    missed.remove(found)
    plan.update(wanted)
    report.new_faces += missed


def _with_reason(found: FoundName, reason: str) -> FoundName:
    return FoundName(**{**asdict(found), "reason": reason})


def _record_origins(found: Iterable[FoundName]) -> ops.Also:
    rows = list(found)

    def add(op: ops._Op) -> None:
        op.recorder.touch("face_name_origins", [(f.face_id,) for f in rows])
        for f in rows:
            assert f.face_id is not None
            op.session.merge(FaceNameOrigin(face_id=f.face_id, name=f.name, origin=f"xmp-{f.format}", path=f.source))
    return add


def _photos(s: Session, photo_ids: Iterable[int] | None) -> list[int]:
    query = select(Photo.id).where(Photo.status == PhotoStatus.OK).order_by(Photo.id)
    if photo_ids is not None:
        query = query.where(Photo.id.in_(sorted(set(photo_ids))))
    return list(s.scalars(query))


def import_names(library: Library, progress: Progress | None = None, *, photo_ids: Iterable[int] | None = None,
                 dry_run: bool = False, add_missed: bool = True) -> XmpImport:
    """Read the face names of the library's photos (or of ``photo_ids``) from XMP and apply them.

    Every name that does not conflict is given to its face in one undoable operation ("Import names from
    XMP"). A region where no face was detected becomes a face of its own, named, as if the user had drawn it
    (one undoable "Add face" each; ``add_missed=False`` only lists them). Cancel while reading stops before
    anything is changed.
    """
    progress = progress or Progress()
    report = XmpImport(dry_run=dry_run)
    with library.session() as s:
        ids = _photos(s, photo_ids)
    progress.start("Reading face names from XMP", len(ids))
    plan: dict[int, FoundName] = {}
    try:
        for chunk in range(0, len(ids), 200):
            with library.session() as s:
                for photo in s.scalars(select(Photo).where(Photo.id.in_(ids[chunk:chunk + 200])).order_by(Photo.id)):
                    progress.check_cancelled()
                    _read_photo(s, photo, report, plan)
                    progress.advance()
    except CancelledError:
        report.cancelled = True
        return report
    report.imported = sorted(plan.values(), key=lambda f: (f.photo_id, f.face_id or 0))
    if dry_run:
        return report
    if plan:
        report.changes = ops.name_faces(library, {f: p.name for f, p in plan.items()},
                                        label="Import names from XMP", kind="xmp_import",
                                        also=_record_origins(plan.values()))
    if add_missed and report.new_faces:
        progress.start("Adding the faces the detector missed", len(report.new_faces))
        _add_missed(library, report, progress)
    return report


def _read_photo(s: Session, photo: Photo, report: XmpImport, plan: dict[int, FoundName]) -> None:
    report.photos_read += 1
    size = stored_size(photo.width or 0, photo.height or 0, photo.orientation)
    names = read_photo_names(Path(photo.path), photo.orientation, size)
    report.problems += names.problems
    report.skipped += names.skipped
    if not names.regions and not names.hints:
        return
    report.photos_with_names += 1
    if photo.face_count is None:
        report.problems.append(f"{photo.path}: not yet scanned for faces; its names wait for the next import")
        return
    _plan_photo(s, photo, names, report, plan)


def _add_missed(library: Library, report: XmpImport, progress: Progress) -> None:
    """Add a face at each region where none was detected, named, with its origin in the same undo entry."""
    from faceorg.people.drawn_faces import add_face
    from faceorg.pipeline.factory import analyzer_for_library

    try:
        analyzer = analyzer_for_library(library)
    except FaceorgError as exc:
        report.problems.append(f"faces where none was detected were not added ({exc})")
        return
    added: list[FoundName] = []
    for found in report.new_faces:
        assert found.box is not None
        try:
            changes = add_face(library, found.photo_id, found.box, name=found.name, analyzer=analyzer,
                               origin_note="from XMP", also=_record_new_origin(found))
        except FaceorgError as exc:
            report.problems.append(f"{found.photo_path}: could not add a face for {found.name} ({exc})")
            continue
        finally:
            progress.advance()
        report.changes.merge(changes)
        added += [FoundName(**{**asdict(found), "face_id": f}) for f in sorted(changes.faces_added)]
    report.new_faces = added


def _record_new_origin(found: FoundName) -> ops.Also:
    def add(op: ops._Op) -> None:
        s = op.session
        s.flush()
        face_id = s.scalar(select(Face.id).where(Face.photo_id == found.photo_id, Face.manual.is_(True))
                           .order_by(Face.id.desc()).limit(1))
        assert face_id is not None
        op.recorder.created("face_name_origins", [(face_id,)])
        s.add(FaceNameOrigin(face_id=face_id, name=found.name, origin=f"xmp-{found.format}", path=found.source))
    return add
