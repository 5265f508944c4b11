"""Typed SQLAlchemy 2.0 models: the whole library in one SQLite file or one PostgreSQL database.

The tables fit together as follows: library folders hold photos; photos hold faces (box and 5
landmarks in pixels of the upright photo); each face has an aligned chip and one embedding per
model version; a face has at most one assignment to a person, with its source (user, auto,
suggested); constraints record what the user ruled out; the operation log makes every user
action undoable.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from faceorg.filenames import is_undecodable, path_from_bytes, path_to_bytes
from faceorg.store.photo_dates import DATE_KEY_LENGTH, photo_date_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# A whole number that may pass 2^31 (file sizes, nanosecond times): SQLite's INTEGER holds 64 bits
# already (and keeps its DDL unchanged), PostgreSQL needs BIGINT.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class FsPath(TypeDecorator[str]):
    """A file or folder path, stored losslessly in a TEXT column without a schema change.

    A valid UTF-8 path is stored as TEXT, as before. A path whose name holds bytes that are not UTF-8
    (surrogate escapes in Python) is stored as its file-system bytes, a BLOB: SQLite keeps a value's own
    type in any column, and a BLOB never equals a TEXT, so such a path cannot collide with a real
    (decodable) name, and equality and ``IN`` lookups still work because their parameters pass
    through here too. PostgreSQL keeps one type per column: there every path is its file-system bytes
    (``bytea``), which sort as SQLite sorts UTF-8 text.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(LargeBinary())
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        if value is not None and (dialect.name == "postgresql" or is_undecodable(value)):
            return path_to_bytes(value)
        return value

    def process_result_value(self, value: str | bytes | None, dialect: Dialect) -> str | None:
        if isinstance(value, bytes):
            return path_from_bytes(value)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as one (SQLAlchemy declares ``__table__`` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=16,
                values_callable=lambda e: [m.value for m in e])


class PhotoStatus(str, enum.Enum):
    """Where a photo stands in the scan."""

    PENDING = "pending"  # found, not read yet
    OK = "ok"  # read and measured
    FAILED = "failed"  # unreadable; ``error`` says why
    MISSING = "missing"  # was in the library, file is gone (kept, not dropped)


class FaceStatus(str, enum.Enum):
    """What the user said a detected face is."""

    NORMAL = "normal"
    NOT_FACE = "not_face"  # a false detection
    IGNORED = "ignored"  # a stranger the user does not want grouped


class AssignmentSource(str, enum.Enum):
    """Who put a face with a person. Automatic steps never override ``user``."""

    USER = "user"
    AUTO = "auto"  # clustering
    SUGGESTED = "suggested"  # matched to a named person, waiting for the user's review


class LibraryFolder(Base):
    __tablename__ = "library_folders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    photos: Mapped[list[Photo]] = relationship(back_populates="folder", passive_deletes=True)


def _date_key_default(context: DefaultExecutionContext) -> str | None:
    """``photos.date_key`` of a row inserted without one (bulk inserts of the benchmarks and tests)."""
    row: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return photo_date_key(row.get("taken_at"), row.get("mtime_ns"))


class Photo(Base):
    __tablename__ = "photos"
    # Ids are never reused: the undo log and the user's rules refer to them.
    # Photos by date read (status, date_key, id) in index order: no sort of 100k photos for a first page.
    __table_args__ = (Index("ix_photos_by_date", "status", "date_key", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("library_folders.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int] = mapped_column(BigInt)
    mtime_ns: Mapped[int] = mapped_column(BigInt)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    width: Mapped[int | None] = mapped_column(Integer)  # upright (after EXIF orientation)
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int] = mapped_column(Integer, default=1)  # EXIF 1..8
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[PhotoStatus] = mapped_column(_enum(PhotoStatus, "photo_status"), default=PhotoStatus.PENDING,
                                                index=True)
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Face detection state: the detector settings key the faces were found with (None: not yet).
    faces_key: Mapped[str | None] = mapped_column(String(64))
    face_count: Mapped[int | None] = mapped_column(Integer)
    # A collage or mirror shot: the same person may appear more than once.
    is_collage: Mapped[bool] = mapped_column(Boolean, default=False)
    # Taken, else the file's time (local), "YYYY-MM-DD HH:MM:SS": kept with taken_at and mtime_ns.
    date_key: Mapped[str | None] = mapped_column(String(DATE_KEY_LENGTH), default=_date_key_default)

    folder: Mapped[LibraryFolder] = relationship(back_populates="photos")
    faces: Mapped[list[Face]] = relationship(back_populates="photo", passive_deletes=True)

    @validates("taken_at", "mtime_ns")
    def _keep_date_key(self, name: str, value: Any) -> Any:
        """A new date taken or file time gives the photo its new date key."""
        taken = value if name == "taken_at" else self.taken_at
        mtime = value if name == "mtime_ns" else self.mtime_ns
        self.date_key = photo_date_key(taken, mtime)
        return value


class Face(Base):
    __tablename__ = "faces"
    # Ids are never reused: the undo log and the user's rules refer to them.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    # Box in pixels of the upright photo.
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    landmarks: Mapped[list[float]] = mapped_column(JSON)  # [x0, y0, ..., x4, y4]
    score: Mapped[float] = mapped_column(Float)  # detector confidence (1.0 for a box the user drew)
    blur: Mapped[float | None] = mapped_column(Float)  # sharpness of the chip: higher is sharper
    quality: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1, combines size, score, sharpness
    status: Mapped[FaceStatus] = mapped_column(_enum(FaceStatus, "face_status"), default=FaceStatus.NORMAL,
                                               index=True)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="faces")
    assignment: Mapped[Assignment | None] = relationship(
        back_populates="face", foreign_keys="Assignment.face_id", passive_deletes=True, uselist=False)


class FaceChip(Base):
    """The aligned 150x150 face crop (encoded image), kept for thumbnails and retraining."""

    __tablename__ = "face_chips"

    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)


class ModelVersion(Base):
    """One embedder version; exactly one is active."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # base | head | full
    file_name: Mapped[str] = mapped_column(String)
    sha256: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The file inference runs (an int8 copy of ``file_name``); None: ``file_name`` itself runs.
    runtime_file: Mapped[str | None] = mapped_column(String)
    runtime_sha256: Mapped[str | None] = mapped_column(String(64))


class Embedding(Base):
    """A face's L2-normalised 128-d embedding and 256-d pooled features under one model version."""

    __tablename__ = "embeddings"

    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                                  primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32[128]
    features: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32[256]


class Person(Base):
    """A named person or an unnamed cluster (``name`` is None)."""

    __tablename__ = "people"
    # Ids are never reused: the undo log and the user's rules refer to them.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String, unique=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    cover_face_id: Mapped[int | None] = mapped_column(
        ForeignKey("faces.id", ondelete="SET NULL", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Assigned faces (those of missing photos included), kept by triggers on ``assignments`` (migration
    # 0011_people_listing): read it, never write it.
    face_count: Mapped[int] = mapped_column(Integer, server_default="0")


class Assignment(Base):
    """The person a face belongs to, and why."""

    __tablename__ = "assignments"

    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    source: Mapped[AssignmentSource] = mapped_column(_enum(AssignmentSource, "assignment_source"), index=True)
    # For automatic matches: distance to the person, runner-up person and its distance.
    distance: Mapped[float | None] = mapped_column(Float)
    runner_up_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    runner_up_distance: Mapped[float | None] = mapped_column(Float)
    strength: Mapped[float | None] = mapped_column(Float)  # clustering membership strength 0..1
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    face: Mapped[Face] = relationship(back_populates="assignment", foreign_keys=[face_id])


class FaceNotPerson(Base):
    """"Not this person": face F must never be given to person P again."""

    __tablename__ = "face_not_person"

    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CannotLink(Base):
    """Faces A and B are different people (``face_a < face_b``)."""

    __tablename__ = "cannot_link"

    face_a: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    face_b: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PromptAnswer(Base):
    """The user's answer to a review question ("same person?", a group suggestion, a split), kept so the same
    question is never asked twice. Keyed by the question's stable identity (the faces that decided it, not
    group ids, which a regrouping may renumber)."""

    __tablename__ = "prompt_answers"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # same_person | group_suggestion | split
    answer: Mapped[str] = mapped_column(String(16))  # yes | no | skip | one-by-one
    face_a: Mapped[int | None] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), index=True)
    face_b: Mapped[int | None] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), index=True)
    faces: Mapped[list[int] | None] = mapped_column(JSON)  # a split's odd faces
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FaceNameOrigin(Base):
    """Where a face's name came from when it was not given in faceorg: a face region or a name in XMP
    (a sidecar or the photo's own metadata), imported as the user's decision. Kept as history: the face's
    assignment says where it is now, this row what the other tool said."""

    __tablename__ = "face_name_origins"

    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String)  # the name as imported
    origin: Mapped[str] = mapped_column(String(16))  # xmp-mwg | xmp-mp | xmp-hint
    path: Mapped[str] = mapped_column(FsPath)  # the file it was read from (a sidecar or the photo)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Operation(Base):
    """One entry of the undo log: the rows an operation changed, before and after."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String)  # shown in the Edit menu: "Undo Name person"
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Who did it (see faceorg.store.shared): undo takes back only the caller's own operations. None: made
    # before libraries were shared, anybody's.
    client: Mapped[str | None] = mapped_column(String(128))


class ModelFile(Base):
    """A server library's embedder file (a retrained version, its int8 copy, its checkpoint), kept in the
    database too so that every computer using the library has it (see faceorg.store.model_files)."""

    __tablename__ = "model_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    """Library-wide settings (detector thresholds, clustering sensitivity, GPU use)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)




class LibraryState(Base):
    """What the library's jobs left for the next run or found last time (not settings: nobody edits
    these): that grouping is pending, the folders and links the last scan could not read or follow."""

    __tablename__ = "library_state"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
