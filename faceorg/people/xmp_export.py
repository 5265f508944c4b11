"""Write the names faceorg knows back to XMP sidecars, for the user's other photo tools.

Only sidecars are written (a photo's own bytes never change): MWG Regions, Microsoft Photo RegionInfo and
``Iptc4xmpExt:PersonInImage``, merged into an existing sidecar (see :mod:`faceorg.xmp.write`), each replaced
atomically with the previous one kept as ``<sidecar>.bak``. By default the faces you confirmed are written;
``include_automatic`` adds the faces grouped with a named person automatically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select

from faceorg.errors import CancelledError, FaceorgError
from faceorg.progress import Progress
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus, Person, Photo, PhotoStatus
from faceorg.xmp.orientation import stored_size
from faceorg.xmp.rdf import XmpError
from faceorg.xmp.sidecar import Naming, sidecar_path
from faceorg.xmp.write import NamedBox, merge_sidecar, write_sidecar


@dataclass(frozen=True)
class SidecarChange:
    """One photo's sidecar: ``action`` is create, update or unchanged (dry run: what would be done)."""

    photo_id: int
    photo_path: str
    sidecar: str
    action: str
    names: list[str]  # the names of the faces written
    names_added: list[str]  # to the sidecar's face regions
    names_removed: list[str]  # from them (a face renamed in faceorg)
    backup: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class XmpExport:
    """What an export wrote (``dry_run``: would write)."""

    dry_run: bool = False
    photos: int = 0
    faces: int = 0
    sidecars: list[SidecarChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def written(self) -> int:
        return sum(1 for s in self.sidecars if s.action != "unchanged")


@dataclass(frozen=True)
class _PhotoRef:
    id: int
    path: str
    orientation: int
    width: int
    height: int


def _faces_to_write(library: Library, person_ids: Iterable[int] | None,
                    include_automatic: bool) -> dict[int, tuple[_PhotoRef, list[NamedBox]]]:
    sources = [AssignmentSource.USER, *([AssignmentSource.AUTO] if include_automatic else [])]
    query = (select(Face, Person.name, Photo).join(Assignment, Assignment.face_id == Face.id)
             .join(Person, Person.id == Assignment.person_id).join(Photo, Photo.id == Face.photo_id)
             .where(Person.name.is_not(None), Assignment.source.in_(sources), Face.status == FaceStatus.NORMAL,
                    Photo.status == PhotoStatus.OK).order_by(Photo.id, Face.x))
    if person_ids is not None:
        wanted = sorted(set(person_ids))
        with library.session() as s:
            known = set(s.scalars(select(Person.id).where(Person.id.in_(wanted))))
        if set(wanted) - known:
            raise FaceorgError(f"no person with id {', '.join(map(str, sorted(set(wanted) - known)))} "
                               "(see `faceorg people list`)")
        query = query.where(Person.id.in_(wanted))
    out: dict[int, tuple[_PhotoRef, list[NamedBox]]] = {}
    with library.session() as s:
        for face, name, photo in s.execute(query):
            if not photo.width or not photo.height or name is None:
                continue
            w, h = float(photo.width), float(photo.height)
            ref = _PhotoRef(photo.id, photo.path, photo.orientation, photo.width, photo.height)
            entry = out.setdefault(photo.id, (ref, []))
            entry[1].append(NamedBox(name, (face.x / w, face.y / h, face.w / w, face.h / h)))
    return out


def export_names(library: Library, progress: Progress | None = None, *, person_ids: Iterable[int] | None = None,
                 naming: Naming = "jpg.xmp", dry_run: bool = False, include_automatic: bool = False) -> XmpExport:
    """Write the names of the library's faces (of ``person_ids`` only, when given) to each photo's sidecar.

    ``naming``: ``jpg.xmp`` writes ``photo.jpg.xmp`` (digiKam, darktable), ``xmp`` writes ``photo.xmp``
    (Lightroom). A sidecar that is not readable XMP is reported and left alone. Cancel stops between photos;
    the sidecars written so far stay written.
    """
    progress = progress or Progress()
    report = XmpExport(dry_run=dry_run)
    photos = _faces_to_write(library, person_ids, include_automatic)
    progress.start("Writing face names to XMP sidecars", len(photos))
    try:
        for photo, faces in photos.values():
            progress.check_cancelled()
            _export_photo(photo, faces, naming, dry_run, report)
            progress.advance()
    except CancelledError:
        report.cancelled = True
    return report


def _export_photo(photo: _PhotoRef, faces: list[NamedBox], naming: Naming, dry_run: bool, report: XmpExport) -> None:
    report.photos += 1
    report.faces += len(faces)
    side = sidecar_path(photo.path, naming)
    upper = side.with_suffix(".XMP")
    if not side.exists() and upper.exists():  # the sidecar another tool wrote as .XMP
        side = upper
    try:
        existing = side.read_bytes() if side.exists() else None
        update = merge_sidecar(existing, faces, photo.orientation,
                               stored_size(photo.width, photo.height, photo.orientation))
    except (OSError, XmpError) as exc:
        report.problems.append(f"{side}: {exc}; left as it is")
        return
    action = "unchanged" if not update.changed else "update" if existing is not None else "create"
    backup = None
    if action != "unchanged" and not dry_run:
        try:
            written = write_sidecar(Path(side), update.data)
        except OSError as exc:
            report.problems.append(f"{side}: cannot write ({exc.strerror or exc})")
            return
        backup = str(written) if written else None
    before, after = update.names_before, update.names_after
    report.sidecars.append(SidecarChange(
        photo.id, photo.path, str(side), action, [f.name for f in faces],
        sorted(set(after) - set(before)), sorted(set(before) - set(after)), backup))
