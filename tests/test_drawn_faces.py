"""Drawing a face the detector missed: landmarks, alignment, embedding, naming, undo, rescans, grouping, CLI.

Real LFW photos scanned with the installed models; a "missed" face is one whose detected row the test
removes (the state a missed detection leaves), or one the scan's settings made too small to find.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import delete, select

from faceorg.errors import FaceorgError
from faceorg.imaging.decode import load_working_image
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.drawn_faces import add_face, remove_drawn_face, resize_face
from faceorg.pipeline.analyzer import OnnxFaceAnalyzer, decode_chip
from faceorg.pipeline.drawn import detect_in_box, landmarks_from_box
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.settings import update_settings
from faceorg.store import Library, open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, AssignmentSource, Embedding, Face, FaceChip, Person, Photo
from faceorg.store.state import grouping_pending
from faceorg.vectors import unit_distances
from tests.clirun import run_cli
from tests.imagegen import save_with_orientation

PERSON_A, PERSON_B = "Colin_Powell", "Tony_Blair"


def _lfw(shared: Path, person: str, n: int) -> Path:
    return shared / "lfw" / "images" / person / f"{person}_{n:04d}.jpg"


@pytest.fixture()
def album(tmp_path: Path, shared_data: Path, models_dir: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for n in (1, 2, 3):
        shutil.copy(_lfw(shared_data, PERSON_A, n), root / f"a{n}.jpg")
    shutil.copy(_lfw(shared_data, PERSON_B, 1), root / "b1.jpg")
    return root


def _scan(lib: Library) -> None:
    scan_library(lib, analyzer=analyzer_for_library(lib), workers=1)


@pytest.fixture()
def library(tmp_path: Path, album: Path) -> Library:
    lib = open_library(tmp_path / "lib.sqlite")
    add_folder(lib, album)
    _scan(lib)
    yield lib
    lib.close()


def _photo_id(lib: Library, name: str) -> int:
    with lib.session() as s:
        return next(p.id for p in s.scalars(select(Photo)) if p.path.endswith(name))


def _faces(lib: Library, photo_id: int) -> list[Face]:
    with lib.session() as s:
        return list(s.scalars(select(Face).where(Face.photo_id == photo_id).order_by(Face.id)))


def _miss(lib: Library, photo_id: int) -> Face:
    """Remove the photo's detected face, as if the detector had missed it; returns what it was."""
    (face,) = _faces(lib, photo_id)
    with lib.transaction() as s:
        s.execute(delete(Face).where(Face.id == face.id))
    return face


def _vector(lib: Library, face_id: int) -> np.ndarray:
    with lib.session() as s:
        blob = s.scalar(select(Embedding.vector).where(Embedding.face_id == face_id))
    assert blob is not None
    return np.frombuffer(blob, np.float32)


def _drawn_box(face: Face) -> tuple[float, float, float, float]:
    """A box as a user drags it around a face: looser than the detector's, a little off centre."""
    return face.x - 12, face.y - 6, face.w + 20, face.h + 14


def test_add_named_face_aligns_like_the_detector_and_undoes(library: Library) -> None:
    photo = _photo_id(library, "a3.jpg")
    missed = _miss(library, photo)
    reference = _faces(library, _photo_id(library, "a1.jpg"))[0]

    cs = add_face(library, photo, _drawn_box(missed), name="Colin")

    (face,) = _faces(library, photo)
    assert cs.faces_added == {face.id} and cs.photos_changed == {photo} and len(cs.people_added) == 1
    assert face.manual and face.score == 1.0 and face.quality > 0.5
    assert (face.x, face.y, face.w, face.h) == pytest.approx(_drawn_box(missed))
    # The landmarks are the detector's on the region (found at the relaxed threshold), not the box's guess.
    assert np.abs(np.subtract(face.landmarks, missed.landmarks)).max() < 3.0
    assert unit_distances(_vector(library, face.id), _vector(library, reference.id)) < 0.45
    with library.session() as s:
        a = s.get(Assignment, face.id)
        assert a is not None and a.source is AssignmentSource.USER
        assert s.get(Person, a.person_id).name == "Colin"  # type: ignore[union-attr]
        chip = s.get(FaceChip, face.id)
        assert chip is not None and decode_chip(chip.image).shape == (150, 150, 3)

    undone = ops.undo(library)
    assert undone.faces_removed == {face.id} and undone.people_removed == cs.people_added
    assert _faces(library, photo) == []
    with library.session() as s:
        assert s.get(FaceChip, face.id) is None and s.scalar(select(Person.id).where(Person.name == "Colin")) is None

    redone = ops.redo(library)
    assert redone.faces_added == {face.id}
    (back,) = _faces(library, photo)
    assert back.id == face.id and back.manual and back.landmarks == face.landmarks
    assert np.array_equal(_vector(library, back.id), _vector(library, face.id))
    with library.session() as s:
        assert s.get(Assignment, face.id).source is AssignmentSource.USER  # type: ignore[union-attr]


def test_box_alone_gives_usable_landmarks(library: Library, shared_data: Path) -> None:
    """Where the detector finds nothing the landmarks come from the box; on a real face they align well enough
    that the vector is near the detector-aligned one (BOX_LANDMARKS measured on LFW)."""
    analyzer = analyzer_for_library(library)
    assert isinstance(analyzer, OnnxFaceAnalyzer)
    image = load_working_image(_lfw(shared_data, PERSON_A, 4), max_side=None)
    (det,) = analyzer.detector.detect(image.pixels)
    from_box = analyzer.analyze_drawn(image, det.box)
    assert from_box.detected
    aligned = analyzer.analyze([image])[0][0]
    from faceorg.detect.align import align_chip

    guessed = align_chip(image.pixels, landmarks_from_box(det.box))
    vectors, _ = analyzer.embedder.embed(guessed[None])
    assert unit_distances(vectors[0], aligned.vector) < 0.3
    # No face on a patch of background: the box is all there is.
    assert detect_in_box(analyzer.detector, image.pixels, (0, 0, 40, 40)) is None


def test_drawn_face_without_a_face_uses_the_box(library: Library, shared_data: Path, tmp_path: Path) -> None:
    photo = _photo_id(library, "b1.jpg")
    box = (2.0, 180.0, 48.0, 60.0)  # the bottom-left corner: a suit, no face
    cs = add_face(library, photo, box)
    (fid,) = cs.faces_added
    with library.session() as s:
        face = s.get(Face, fid)
        assert face is not None and face.manual
        assert np.allclose(np.reshape(face.landmarks, (5, 2)), landmarks_from_box(box))
        assert s.get(Assignment, fid) is None  # unnamed: the next grouping places it


def test_one_person_once_per_photo(library: Library) -> None:
    photo = _photo_id(library, "b1.jpg")
    bob = max(_faces(library, photo), key=lambda f: f.w * f.h)
    ops.assign_faces_to_name(library, [bob.id], "Tony")
    before = len(_faces(library, photo))
    with pytest.raises(FaceorgError, match="two faces in one photo"):
        add_face(library, photo, (0, 0, 60, 60), name="Tony")
    assert len(_faces(library, photo)) == before  # nothing stored
    with pytest.raises(FaceorgError, match="already has a face there"):
        add_face(library, photo, _drawn_box(bob))


def test_unnamed_drawn_face_is_grouped_by_the_next_grouping(library: Library) -> None:
    photo = _photo_id(library, "a3.jpg")
    missed = _miss(library, photo)
    (fid,) = add_face(library, photo, _drawn_box(missed)).faces_added
    assert grouping_pending(library)
    changes = recluster(library)
    assert fid in changes.faces_changed and not grouping_pending(library)
    with library.session() as s:
        a = s.get(Assignment, fid)
        assert a is not None and a.source is not AssignmentSource.USER


def test_rescan_keeps_the_drawn_face_and_its_box(tmp_path: Path, album: Path) -> None:
    """A face drawn where the scan found none stays as drawn when a later scan finds a face there."""
    lib = open_library(tmp_path / "lib2.sqlite")
    add_folder(lib, album)
    update_settings(lib, min_face_size=400)  # LFW faces are ~100 px: this scan finds none
    _scan(lib)
    photo = _photo_id(lib, "a2.jpg")
    assert _faces(lib, photo) == []
    box = (60.0, 55.0, 130.0, 150.0)
    (fid,) = add_face(lib, photo, box, name="Colin").faces_added
    update_settings(lib, min_face_size=20)
    _scan(lib)  # new detector settings: every photo analysed again
    faces = _faces(lib, photo)
    assert [(f.id, f.manual) for f in faces] == [(fid, True)]  # no second face on it, the user's kept
    assert (faces[0].x, faces[0].y, faces[0].w, faces[0].h) == box
    assert len(_faces(lib, _photo_id(lib, "a1.jpg"))) == 1
    lib.close()


def test_resize_and_remove_only_drawn_faces(library: Library) -> None:
    photo = _photo_id(library, "a3.jpg")
    missed = _miss(library, photo)
    (fid,) = add_face(library, photo, (missed.x - 30, missed.y - 30, missed.w + 60, missed.h + 60),
                      name="Colin").faces_added
    before = _vector(library, fid).copy()
    cs = resize_face(library, fid, _drawn_box(missed))
    assert cs.faces_changed == {fid} and cs.photos_changed == {photo}
    (face,) = _faces(library, photo)
    assert (face.x, face.y, face.w, face.h) == pytest.approx(_drawn_box(missed))
    assert not np.array_equal(_vector(library, fid), before)
    ops.undo(library)
    (face,) = _faces(library, photo)
    assert face.w == pytest.approx(missed.w + 60) and np.array_equal(_vector(library, fid), before)

    detected = _faces(library, _photo_id(library, "a1.jpg"))[0]
    with pytest.raises(FaceorgError, match="found by the detector"):
        remove_drawn_face(library, detected.id)
    with pytest.raises(FaceorgError, match="found by the detector"):
        resize_face(library, detected.id, (0, 0, 50, 50))

    with library.session() as s:
        person = s.get(Assignment, fid).person_id  # type: ignore[union-attr]
    ops.set_cover(library, person, fid)
    removed = remove_drawn_face(library, fid)
    assert removed.faces_removed == {fid} and _faces(library, photo) == []
    ops.undo(library)
    with library.session() as s:
        assert s.get(Assignment, fid).person_id == person  # type: ignore[union-attr]
        assert s.get(Person, person).cover_face_id == fid  # type: ignore[union-attr]
        assert s.get(FaceChip, fid) is not None


def test_box_in_upright_full_size_pixels_of_a_rotated_large_photo(tmp_path: Path, shared_data: Path,
                                                                   models_dir: Path) -> None:
    """EXIF orientation 6, 1500 px: the box and landmarks are stored in the upright full-size photo."""
    root = tmp_path / "rot"
    root.mkdir()
    upright = Image.open(_lfw(shared_data, PERSON_A, 2)).convert("RGB").resize((1500, 1500))
    save_with_orientation(upright, root / "rot.jpg", 6)
    shutil.copy(_lfw(shared_data, PERSON_A, 1), root / "a1.jpg")
    lib = open_library(tmp_path / "rot.sqlite")
    add_folder(lib, root)
    _scan(lib)
    photo = _photo_id(lib, "rot.jpg")
    detected = _miss(lib, photo)
    reference = _faces(lib, _photo_id(lib, "a1.jpg"))[0]
    box = (detected.x - 40, detected.y - 30, detected.w + 70, detected.h + 50)
    (fid,) = add_face(lib, photo, box).faces_added
    face = _faces(lib, photo)[0]
    assert face.id == fid
    # The detector on the region (the face at ~100 px) and on the whole photo (~400 px) agree within 8%.
    assert np.abs(np.subtract(face.landmarks, detected.landmarks)).max() < 0.08 * detected.w
    assert unit_distances(_vector(lib, fid), _vector(lib, reference.id)) < 0.45
    lib.close()


def test_cli_faces_add_resize_remove(library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(library.path)
    photo = _photo_id(library, "a3.jpg")
    missed = _miss(library, photo)
    box = ",".join(f"{v:.0f}" for v in _drawn_box(missed))
    code, out, err = run_cli(capsys, "--db", db, "faces", "add", str(photo), "--box", box, "--name", "Colin",
                             "--json")
    assert code == 0, err
    record = json.loads(out)
    (fid,) = record["faces_added"]
    assert record["photos_changed"] == [photo]
    code, out, _ = run_cli(capsys, "--db", db, "photos", "show", str(photo), "--json")
    (shown,) = json.loads(out)["faces"]
    assert shown["id"] == fid and shown["person_name"] == "Colin" and shown["source"] == "user"
    code, out, _ = run_cli(capsys, "--db", db, "faces", "resize", str(fid), "--box", "50,50,140,150")
    assert code == 0 and "Resize face" in out
    code, out, err = run_cli(capsys, "--db", db, "faces", "remove", str(fid), "--json")
    assert code == 0 and json.loads(out)["faces_removed"] == [fid]
    code, out, _ = run_cli(capsys, "--db", db, "undo")
    assert code == 0 and len(_faces(library, photo)) == 1
    other = _faces(library, _photo_id(library, "a1.jpg"))[0].id
    code, out, err = run_cli(capsys, "--db", db, "faces", "remove", str(other))
    assert code == 1 and out == "" and err.startswith("faceorg: error: face") and "Traceback" not in err
    with pytest.raises(SystemExit) as usage:
        run_cli(capsys, "--db", db, "faces", "add", str(photo), "--box", "1,2,3")
    assert usage.value.code == 2 and "X,Y,WIDTH,HEIGHT" in capsys.readouterr().err
    code, out, err = run_cli(capsys, "--db", db, "faces", "add", str(photo), "--box", "5000,5000,40,40")
    assert code == 1 and "must lie on the photo" in err


def test_undo_records_every_column_drawing_writes(library: Library) -> None:
    """As tests/test_undo_coverage.py checks for the people operations: every column adding, resizing and
    removing a drawn face writes is one the undo log records (the grouping-pending flag aside: job state)."""
    from sqlalchemy import event

    from faceorg.people.undo import SPECS
    from tests.test_undo_coverage import BOOKKEEPING, automatic_columns, written_columns

    photo = _photo_id(library, "a3.jpg")
    missed = _miss(library, photo)
    writes: set[tuple[str, str]] = set()

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        writes.update(written_columns(statement))

    analyzer = analyzer_for_library(library)
    event.listen(library.engine, "before_cursor_execute", seen)
    try:
        (fid,) = add_face(library, photo, _drawn_box(missed), name="Colin", analyzer=analyzer).faces_added
        resize_face(library, fid, (missed.x, missed.y, missed.w, missed.h), analyzer=analyzer)
        ops.set_cover(library, _person_of(library, fid), fid)
        remove_drawn_face(library, fid)
    finally:
        event.remove(library.engine, "before_cursor_execute", seen)
    recorded = {(spec.table.name, c) for spec in SPECS.values() for c in (*spec.key, *spec.cols)}
    missing = {(t, c) for t, c in writes if t not in BOOKKEEPING | {"library_state"}} - recorded - automatic_columns()
    assert not missing, f"columns drawing writes that undo does not record: {sorted(missing)}"
    assert ("faces", "landmarks") in writes and ("face_chips", "image") in writes  # the capture works
    for _ in range(4):  # each step comes back, the face as it was
        ops.undo(library)
    assert _faces(library, photo) == []


def _person_of(lib: Library, face_id: int) -> int:
    with lib.session() as s:
        a = s.get(Assignment, face_id)
        assert a is not None
        return a.person_id
