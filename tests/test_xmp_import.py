"""Importing face names from XMP written by exiftool onto the faces faceorg detected: MWG and Microsoft Photo
regions, embedded and in both sidecar namings, on photos stored with EXIF orientations 1, 3, 6 and 8. Every
name must land on the face of the person it names; decisions made in faceorg are never overridden."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.people import ops
from faceorg.people.xmp_import import import_names
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.db import Library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceNameOrigin, Person, Photo
from tests.xmpgen import TILE, face_boxes, save_oriented, side_by_side, write_names

ORIENTATIONS = (1, 3, 6, 8)
# (format, where) of each photo's names: every orientation is tried with each.
WRITERS = (("mwg", "embedded"), ("mp", "jpg.xmp"), ("mwg", "xmp"), ("mp", "embedded"))


def _people(shared_data: Path, count: int) -> list[Path]:
    """The first photo of ``count`` LFW people (one face each, centred)."""
    folders = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())
    return [sorted(f.glob("*.jpg"))[0] for f in folders[:count]]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, models_dir: Path) -> tuple[Path, dict]:
    """A scanned library of 16 two-person photos (4 orientations x 4 writers), names written by exiftool;
    the template database and, per photo file name, the names left to right in the upright photo."""
    root = tmp_path_factory.mktemp("xmp-lib")
    photos = root / "photos"
    photos.mkdir()
    sources = _people(shared_data, 2 * len(ORIENTATIONS) * len(WRITERS))
    truth: dict[str, list[str]] = {}
    n = 0
    for orientation in ORIENTATIONS:
        for fmt, where in WRITERS:
            pair = sources[2 * n:2 * n + 2]
            names = [p.parent.name.replace("_", " ") for p in pair]
            upright = side_by_side(pair)
            path = photos / f"o{orientation}-{fmt}-{where}.jpg"
            save_oriented(upright, path, orientation)
            write_names(path, names, face_boxes(2), orientation, upright.size, fmt=fmt, where=where)
            truth[path.name] = names
            n += 1
    db = root / "template.sqlite"
    with open_library(db) as lib:
        add_folder(lib, photos)
        scan_library(lib, analyzer=analyzer_for_library(lib))
    return db, truth


@pytest.fixture()
def lib(tagged: tuple[Path, dict], tmp_path: Path) -> Library:
    db = tmp_path / "lib.sqlite"
    shutil.copyfile(tagged[0], db)
    library = open_library(db)
    yield library
    library.close()


def _names_by_face(library: Library) -> dict[int, tuple[str, float, str | None, str | None]]:
    """face id -> (photo file name, upright centre x as a fraction, person name, source)."""
    with library.session() as s:
        rows = s.execute(select(Face.id, Photo.path, Photo.width, Face.x, Face.w, Person.name, Assignment.source)
                         .join(Photo, Photo.id == Face.photo_id)
                         .outerjoin(Assignment, Assignment.face_id == Face.id)
                         .outerjoin(Person, Person.id == Assignment.person_id)).all()
    return {fid: (Path(path).name, (x + w / 2) / width, name, src.value if src else None)
            for fid, path, width, x, w, name, src in rows}


def _main_faces(library: Library) -> set[int]:
    """The faces of the people the photos were made of (centred in their tile; LFW photos hold others at
    their edges)."""
    return {f for f, (_, centre, *_) in _names_by_face(library).items() if 0.3 <= (centre * 2) % 1 <= 0.7}


def test_every_name_lands_on_its_face_in_every_orientation_and_writer(lib: Library, tagged: tuple[Path, dict]) -> None:
    truth = tagged[1]
    main = _main_faces(lib)
    assert len(main) == 2 * len(truth)  # the detector found both people of every photo
    report = import_names(lib)
    assert report.conflicts == [] and report.problems == [] and report.new_faces == []
    assert len(report.imported) == 2 * len(truth) and report.photos_with_names == len(truth)
    for face_id, (photo, centre, name, source) in _names_by_face(lib).items():
        if face_id in main:
            expected = truth[photo][int(centre * 2)]  # the left or right tile of the upright photo
            assert (name, source) == (expected, "user"), (photo, centre)
        else:  # someone at the edge of an LFW photo
            assert name is None, (photo, centre)
    with lib.session() as s:
        origins = {o.face_id: o for o in s.scalars(select(FaceNameOrigin))}
    assert set(origins) == main
    formats = {o.origin for o in origins.values()}
    assert formats == {"xmp-mwg", "xmp-mp"}
    assert any(o.path.endswith(".jpg.xmp") for o in origins.values())
    assert any(o.path.endswith(".jpg") for o in origins.values())
    assert any(o.path.endswith("-xmp.xmp") for o in origins.values())


def test_import_is_undoable_and_a_second_import_finds_everything_matched(lib: Library) -> None:
    first = import_names(lib)
    again = import_names(lib)
    assert again.imported == [] and len(again.matched) == len(first.imported) and again.changes.empty
    assert ops.undo_redo_labels(lib)[0] == "Import names from XMP"
    ops.undo(lib)
    assert all(name is None for *_, name, _ in _names_by_face(lib).values())
    with lib.session() as s:
        assert s.scalars(select(FaceNameOrigin)).first() is None


def test_decisions_made_in_faceorg_are_conflicts_never_overridden(lib: Library) -> None:
    renamed, rejected, not_face = sorted(_main_faces(lib))[:6:2]
    ops.create_person(lib, "Someone Else", [renamed])
    first_name = import_names(lib, dry_run=True)
    name_of = {f.face_id: f.name for f in first_name.imported + first_name.conflicts}
    ops.create_person(lib, name_of[rejected], [])
    with lib.session() as s:
        pid = s.scalar(select(Person.id).where(Person.name == name_of[rejected]))
    ops.move_faces(lib, [rejected], pid)
    ops.reject_faces(lib, [rejected], pid)
    ops.mark_not_face(lib, [not_face])
    report = import_names(lib)
    reasons = {c.face_id: c.reason for c in report.conflicts}
    assert set(reasons) == {renamed, rejected, not_face}
    assert reasons[renamed] == "you named this face Someone Else"
    assert reasons[rejected] == f"you said this face is not {name_of[rejected]}"
    assert reasons[not_face] == "you marked it as not a face"
    after = _names_by_face(lib)
    assert after[renamed][2:] == ("Someone Else", "user")
    assert after[rejected][2] is None and after[not_face][2] is None
    assert len(report.imported) == len(_main_faces(lib)) - 3


def test_dry_run_changes_nothing(lib: Library) -> None:
    report = import_names(lib, dry_run=True)
    assert len(report.imported) == 32 and report.changes.empty
    assert all(v[2] is None for v in _names_by_face(lib).values())


def test_a_region_without_a_detected_face_becomes_a_face(lib: Library) -> None:
    with lib.session() as s:
        photo = s.scalars(select(Photo).where(Photo.path.like("%o1-mwg-xmp.jpg"))).one()
        path, size = Path(photo.path), (photo.width, photo.height)
    boxes = [*face_boxes(2), (TILE // 2 - 20, 5, 40, 40)]  # a region between the faces, on no detected face
    write_names(path, ["A", "B", "Hidden Face"], boxes, 1, size, fmt="mwg", where="xmp")
    dry = import_names(lib, photo_ids=[photo.id], dry_run=True)
    assert [(f.name, f.face_id) for f in dry.new_faces] == [("Hidden Face", None)]
    assert dry.new_faces[0].box == pytest.approx((TILE // 2 - 20, 5, 40, 40), abs=1.5)
    report = import_names(lib, photo_ids=[photo.id])
    assert sorted(f.name for f in report.imported) == ["A", "B"] and report.problems == []
    [new] = report.new_faces
    assert new.name == "Hidden Face" and new.face_id is not None and new.face_id in report.changes.faces_added
    with lib.session() as s:
        face = s.get(Face, new.face_id)
        assert face is not None and face.manual and face.photo_id == photo.id
        owner = s.execute(select(Person.name, Assignment.source).join(Assignment, Assignment.person_id == Person.id)
                          .where(Assignment.face_id == new.face_id)).one()
        assert (owner[0], owner[1]) == ("Hidden Face", AssignmentSource.USER)
        origin = s.get(FaceNameOrigin, new.face_id)
        assert origin is not None and (origin.origin, Path(origin.path).name) == ("xmp-mwg", "o1-mwg-xmp.xmp")
    assert ops.undo_redo_labels(lib)[0] == "Add face “Hidden Face” (from XMP)"
    ops.undo(lib)
    with lib.session() as s:
        assert s.get(Face, new.face_id) is None and s.get(FaceNameOrigin, new.face_id) is None
    again = import_names(lib, photo_ids=[photo.id], dry_run=True)  # A and B stay imported; the face is missed again
    assert len(again.matched) == 2 and [f.name for f in again.new_faces] == ["Hidden Face"]
