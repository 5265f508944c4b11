"""Faces the user draws: add a face the detector missed, resize or remove one the user added.

A drawn face is stored like a detected one (box and landmarks in pixels of the full-size upright photo, an
aligned chip, a vector under the active model) with ``manual`` set and score 1.0, so grouping, matching and
retraining treat it like any face, and a rescan never drops it. Each operation is undoable and returns its
change record; the model work runs before the operation's transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from faceorg.errors import FaceorgError
from faceorg.imaging.decode import PhotoReadError, WorkingImage, load_working_image
from faceorg.people.changes import ChangeSet
from faceorg.people.names import clean_name
from faceorg.people.ops import Also, _also, _assign, _clear_cover_if_gone, _operation, _owners, _result
from faceorg.scan.face_merge import SAME_FACE_IOU, iou_matrix
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    CannotLink,
    Embedding,
    Face,
    FaceChip,
    FaceStatus,
    Person,
    Photo,
    PhotoStatus,
    PromptAnswer,
)
from faceorg.store.state import GROUPING_PENDING, set_state

if TYPE_CHECKING:
    from faceorg.pipeline.analyzer import OnnxFaceAnalyzer
    from faceorg.pipeline.drawn import DrawnFace

Box = tuple[float, float, float, float]  # x, y, width, height in pixels of the full-size upright photo

MIN_BOX_SIDE = 8.0  # pixels of the full-size photo: a smaller box holds no face worth keeping
ANALYSIS_FACE_SIDE = 224  # the photo is decoded so that the drawn face is at least this large (when it can be)


@dataclass(frozen=True)
class _PhotoRef:
    path: str
    width: int
    height: int


def parse_box(text: str) -> Box:
    """``X,Y,W,H`` (pixels of the full-size upright photo) as a box; raises FaceorgError for anything else."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise FaceorgError(f"a box is X,Y,WIDTH,HEIGHT in pixels of the upright photo, not {text!r}")
    return values[0], values[1], values[2], values[3]


def _photo(library: Library, photo_id: int) -> _PhotoRef:
    with library.session() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise FaceorgError(f"no photo with id {photo_id}")
        if photo.status is not PhotoStatus.OK or not photo.width or not photo.height:
            why = {PhotoStatus.MISSING: "its file is missing", PhotoStatus.FAILED: f"it could not be read "
                   f"({photo.error})"}.get(photo.status, "it has not been read yet")
            raise FaceorgError(f"cannot add a face to photo {photo_id}: {why}")
        return _PhotoRef(photo.path, photo.width, photo.height)


def _clip_box(box: Sequence[float], photo: _PhotoRef) -> Box:
    """The box within the photo; raises FaceorgError when too little of it is left."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise FaceorgError("a box needs a positive width and height")
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(photo.width), x + w), min(float(photo.height), y + h)
    if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
        raise FaceorgError(f"the box must lie on the photo ({photo.width}x{photo.height} pixels) and be at least "
                           f"{MIN_BOX_SIDE:.0f} pixels wide and high there")
    return x1, y1, x2 - x1, y2 - y1


def _decode(photo: _PhotoRef, box: Box) -> WorkingImage:
    """The photo decoded large enough for the drawn face (at most full size)."""
    long_side = max(photo.width, photo.height)
    factor = min(1.0, ANALYSIS_FACE_SIDE / max(1.0, min(box[2], box[3])))
    side = max(1024, math.ceil(long_side * factor))
    try:
        image = load_working_image(photo.path, max_side=None if side >= long_side else side)
    except (PhotoReadError, OSError) as exc:
        raise FaceorgError(f"cannot read {Path(photo.path).name}: {exc}") from exc
    if (image.info.width, image.info.height) != (photo.width, photo.height):
        raise FaceorgError(f"{Path(photo.path).name} has changed since it was scanned; rescan it first")
    return image


def analyze_box(library: Library, photo_id: int, box: Sequence[float],
                analyzer: OnnxFaceAnalyzer | None = None) -> tuple[Box, DrawnFace, int]:
    """The model work of drawing a face (no database change): the box clipped to the photo, the analysed
    face, and the model version its vector belongs to."""
    from faceorg.pipeline.factory import analyzer_for_library

    photo = _photo(library, photo_id)
    clipped = _clip_box(box, photo)
    image = _decode(photo, clipped)
    analyzer = analyzer or analyzer_for_library(library)
    return clipped, analyzer.analyze_drawn(image, clipped), analyzer.model_version_id


def _check_free(s: Session, photo_id: int, box: Box, ignore: int | None = None) -> None:
    """Refuse a box on a face the photo already has (the same face twice would be two people)."""
    faces = [f for f in s.scalars(select(Face).where(Face.photo_id == photo_id).order_by(Face.id)) if f.id != ignore]
    overlap = iou_matrix([box], [(f.x, f.y, f.w, f.h) for f in faces])[0] if faces else np.zeros(0)
    for face, iou in zip(faces, overlap):
        if iou >= SAME_FACE_IOU:
            if face.status is FaceStatus.NOT_FACE:
                raise FaceorgError(f"this box is on face {face.id}, which was marked “not a face”; restore it "
                                   f"instead (`faceorg faces restore {face.id}`)")
            raise FaceorgError(f"photo {photo_id} already has a face there (face {face.id})")


def _store(s: Session, face: Face, drawn: DrawnFace, version_id: int) -> None:
    found = drawn.face
    face.x, face.y, face.w, face.h = found.box
    face.landmarks = [float(v) for v in found.landmarks]
    face.score, face.blur, face.quality = found.score, found.sharpness, found.quality
    s.add(FaceChip(face_id=face.id, image=found.chip))
    s.add(Embedding(face_id=face.id, model_version_id=version_id,
                    vector=np.asarray(found.vector, np.float32).tobytes(),
                    features=np.asarray(found.features, np.float32).tobytes()))


def _person_named(s: Session, name: str) -> tuple[int, bool]:
    """The id of the person with this name, creating one when there is none; and whether it was created."""
    pid = s.scalar(select(Person.id).where(Person.name == name))
    if pid is not None:
        return pid, False
    person = Person(name=name)
    s.add(person)
    s.flush()
    return person.id, True


def add_face(library: Library, photo_id: int, box: Sequence[float], *, name: str | None = None,
             analyzer: OnnxFaceAnalyzer | None = None, origin_note: str | None = None,
             also: Also = None) -> ChangeSet:
    """Add the face the user drew at ``box`` (x, y, width, height in pixels of the full-size upright photo).

    Its landmarks come from the detector run on the box's region with a relaxed threshold when it finds a face
    overlapping the box, else from the box alone; it is aligned and embedded with the active model
    (``analyzer``: one already built, else the library's). With ``name`` it is given to that person (created
    if needed) as the user's decision, under the rule that one person appears once per photo; without, the
    next grouping places it. ``origin_note`` says where the face came from in the undo label (an imported
    sidecar); ``also`` adds more changes to the same undoable operation. The new face's id is in
    ``faces_added`` of the returned record.
    """
    clean = clean_name(name) if name is not None else None
    photo = _photo(library, photo_id)
    with library.session() as s:
        _check_free(s, photo_id, _clip_box(box, photo))
    clipped, drawn, version_id = analyze_box(library, photo_id, box, analyzer)
    label = "Add face" + (f" “{clean}”" if clean else "") + (f" ({origin_note})" if origin_note else "")
    with _operation(library, "add_face", label) as op:
        s = op.session
        _check_free(s, photo_id, clipped)  # again: a face may have arrived meanwhile
        face = Face(photo_id=photo_id, x=0.0, y=0.0, w=0.0, h=0.0, landmarks=[], score=1.0, manual=True,
                    status=FaceStatus.NORMAL)
        s.add(face)
        s.flush()
        op.recorder.created("drawn_faces", [(face.id,)])
        op.recorder.created("face_chips", [(face.id,)])
        op.recorder.created("embeddings", [(face.id, version_id)])
        _store(s, face, drawn, version_id)
        if clean is not None:
            pid, created = _person_named(s, clean)
            if created:
                op.recorder.created("people", [(pid,)])
            _assign(op, [face.id], pid)
        else:
            set_state(s, GROUPING_PENDING, True)  # the next grouping places it
        _also(op, also)
    return _result(op)


def _drawn_face(s: Session, face_id: int) -> Face:
    face = s.get(Face, face_id)
    if face is None:
        raise FaceorgError(f"no face with id {face_id}")
    if not face.manual:
        raise FaceorgError(f"face {face_id} was found by the detector; only faces you added can be resized or "
                           "removed (mark it “not a face” instead: `faceorg faces not-face`)")
    return face


def resize_face(library: Library, face_id: int, box: Sequence[float], *,
                analyzer: OnnxFaceAnalyzer | None = None) -> ChangeSet:
    """Move or resize a face the user added to ``box``: it is aligned and embedded again; who it belongs to
    stays as it is."""
    with library.session() as s:
        photo_id = _drawn_face(s, face_id).photo_id
        _check_free(s, photo_id, _clip_box(box, _photo(library, photo_id)), ignore=face_id)
    clipped, drawn, version_id = analyze_box(library, photo_id, box, analyzer)
    with _operation(library, "resize_face", "Resize face") as op:
        s, rec = op.session, op.recorder
        face = _drawn_face(s, face_id)
        _check_free(s, photo_id, clipped, ignore=face_id)
        rec.touch("drawn_faces", [(face_id,)])
        rec.touch("face_chips", [(face_id,)])
        rec.touch_where("embeddings", "face_id", [face_id])
        # The old vectors (under every model version) describe the old box: they go; the next re-embedding
        # of another version embeds the new chip.
        s.execute(delete(FaceChip).where(FaceChip.face_id == face_id))
        s.execute(delete(Embedding).where(Embedding.face_id == face_id))
        s.flush()
        _store(s, face, drawn, version_id)
        if s.scalar(select(Assignment.source).where(Assignment.face_id == face_id)) is None:
            set_state(s, GROUPING_PENDING, True)
    return _result(op)


def remove_drawn_face(library: Library, face_id: int) -> ChangeSet:
    """Remove a face the user added, with its place and the rules about it (undo brings all of it back)."""
    with _operation(library, "remove_face", "Remove face") as op:
        s, rec = op.session, op.recorder
        face = _drawn_face(s, face_id)
        previous = _owners(s, [face_id])
        rec.touch("drawn_faces", [(face_id,)])
        rec.touch("face_chips", [(face_id,)])
        rec.touch_where("embeddings", "face_id", [face_id])
        rec.touch("assignments", [(face_id,)])
        rec.touch_where("face_not_person", "face_id", [face_id])
        rec.touch_where("cannot_link", "face_a", [face_id])
        rec.touch_where("cannot_link", "face_b", [face_id])
        rec.touch_where("prompt_answers", "face_a", [face_id])
        rec.touch_where("prompt_answers", "face_b", [face_id])
        rec.touch("people", [(p,) for p in s.scalars(select(Person.id).where(Person.cover_face_id == face_id))])
        s.execute(delete(CannotLink).where((CannotLink.face_a == face_id) | (CannotLink.face_b == face_id)))
        s.execute(delete(PromptAnswer).where((PromptAnswer.face_a == face_id) | (PromptAnswer.face_b == face_id)))
        s.delete(face)
        s.flush()
        _clear_cover_if_gone(op, previous)
    return _result(op)
