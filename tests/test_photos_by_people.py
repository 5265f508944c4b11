"""Photos by people: the core query (keyset pages by date), copying photos to a folder, and their CLI."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from faceorg.errors import FaceorgError
from faceorg.jobs.copy_photos import copy_photos
from faceorg.people import ops
from faceorg.people.photos import all_photos_with_people, photos_with_people
from faceorg.progress import Progress
from faceorg.store import open_library
from faceorg.store.models import Photo, PhotoStatus
from tests.clirun import run_cli
from tests.photoslib import PhotosLibrary, build


@pytest.fixture(scope="module")
def built(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PhotosLibrary:
    root = tmp_path_factory.mktemp("photos-lib")
    os.environ.setdefault("FACEORG_MODELS_DIR", str(models_dir))
    return build(shared_data, root)


@pytest.fixture()
def lib_copy(built: PhotosLibrary, tmp_path: Path) -> PhotosLibrary:
    import shutil

    db = tmp_path / "lib.sqlite"
    shutil.copy(built.db, db)
    return PhotosLibrary(db=db, folder=built.folder, person_ids=built.person_ids, photo_ids=built.photo_ids)


def names_of(built: PhotosLibrary, ids: list[int]) -> list[str]:
    by_id = {v: k for k, v in built.photo_ids.items()}
    return [by_id[i] for i in ids]


def test_scan_records_the_exif_date_taken(built: PhotosLibrary) -> None:
    with open_library(built.db) as lib, lib.session() as s:
        photo = s.get(Photo, built.photo_ids["group_1.jpg"])
        assert photo is not None and photo.taken_at == datetime(2021, 7, 4, 12, 30, 45)
        no_exif = s.get(Photo, built.photo_ids["group_3.jpg"])
        assert no_exif is not None and no_exif.taken_at is None


@pytest.mark.parametrize("people", [("Ann",), ("Ben",), ("Ann", "Ben"), ("Ben", "Cleo"), ("Ann", "Ben", "Cleo")])
def test_photos_holding_all_of_the_people_newest_first(built: PhotosLibrary, people: tuple[str, ...]) -> None:
    ids = [built.person_ids[n] for n in people]
    with open_library(built.db) as lib:
        photos = all_photos_with_people(lib, ids)
        oldest = all_photos_with_people(lib, ids, oldest_first=True)
    assert names_of(built, [p.id for p in photos]) == built.photos_with(*people)
    assert [p.id for p in oldest] == [p.id for p in reversed(photos)]
    dates = [p.date for p in photos]
    assert all(d is not None for d in dates) and dates == sorted(dates, reverse=True)  # type: ignore[type-var]


def test_date_is_the_date_taken_else_the_file_time(built: PhotosLibrary) -> None:
    with open_library(built.db) as lib:
        photos = {p.id: p for p in all_photos_with_people(lib, [built.person_ids["Ann"]])}
    taken = photos[built.photo_ids["group_1.jpg"]]
    assert taken.date == datetime(2021, 7, 4, 12, 30, 45) and taken.date_taken
    filed = photos[built.photo_ids["group_3.jpg"]]
    assert filed.date == datetime(2022, 3, 3, 9, 15, 0) and not filed.date_taken
    assert filed.as_dict()["date_source"] == "file" and taken.as_dict()["date"] == "2021-07-04T12:30:45"


def test_keyset_pages_cover_every_photo_once_in_order(built: PhotosLibrary) -> None:
    ann = [built.person_ids["Ann"]]
    with open_library(built.db) as lib:
        whole = [p.id for p in all_photos_with_people(lib, ann)]
        seen: list[int] = []
        page = photos_with_people(lib, ann, limit=2)
        while True:
            assert len(page.photos) <= 2
            seen += [p.id for p in page.photos]
            if page.next_after is None:
                break
            page = photos_with_people(lib, ann, after=page.next_after, limit=2)
    assert seen == whole and len(whole) == 6


def test_missing_photos_and_faces_given_away_leave_the_list(lib_copy: PhotosLibrary) -> None:
    ann, ben = lib_copy.person_ids["Ann"], lib_copy.person_ids["Ben"]
    with open_library(lib_copy.db) as lib:
        with lib.transaction() as s:
            photo = s.get(Photo, lib_copy.photo_ids["group_1.jpg"])
            assert photo is not None
            photo.status = PhotoStatus.MISSING
        assert "group_1.jpg" not in names_of(lib_copy, [p.id for p in all_photos_with_people(lib, [ann, ben])])
        # Ben's face in group_6 (Ben and Cleo) goes to someone else: that photo no longer has Ben.
        from faceorg.people.queries import photo_with_faces

        faces = photo_with_faces(lib, lib_copy.photo_ids["group_6.jpg"]).faces
        ops.reject_faces(lib, [f.id for f in faces if f.person_id == ben], ben)
        with_ben = names_of(lib_copy, [p.id for p in all_photos_with_people(lib, [ben])])
        assert "group_6.jpg" not in with_ben and "group_2.jpg" in with_ben


def test_unknown_person_is_a_clear_error(built: PhotosLibrary) -> None:
    with open_library(built.db) as lib, pytest.raises(FaceorgError, match="no person with id 999"):
        photos_with_people(lib, [built.person_ids["Ann"], 999])


def test_copy_never_overwrites_and_skips_files_already_there(lib_copy: PhotosLibrary, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "group_1.jpg").write_bytes(b"someone else's file")
    ids = [lib_copy.photo_ids[n] for n in ("group_1.jpg", "group_3.jpg")]
    with open_library(lib_copy.db) as lib:
        first = copy_photos(lib, ids, dest)
        again = copy_photos(lib, ids, dest)
    assert (dest / "group_1.jpg").read_bytes() == b"someone else's file"
    assert sorted(Path(c.target).name for c in first.copied) == ["group_1 (2).jpg", "group_3.jpg"]
    assert (dest / "group_1 (2).jpg").read_bytes() == (lib_copy.folder / "group_1.jpg").read_bytes()
    assert os.stat(dest / "group_3.jpg").st_mtime == os.stat(lib_copy.folder / "group_3.jpg").st_mtime
    assert not again.copied and len(again.already_there) == 2
    assert sorted(p.name for p in dest.iterdir()) == ["group_1 (2).jpg", "group_1.jpg", "group_3.jpg"]


def test_copy_reports_missing_files_and_stops_on_cancel(lib_copy: PhotosLibrary, tmp_path: Path) -> None:
    ann = lib_copy.person_ids["Ann"]
    with open_library(lib_copy.db) as lib:
        ids = [p.id for p in all_photos_with_people(lib, [ann])]
        with lib.transaction() as s:
            photo = s.get(Photo, ids[0])
            assert photo is not None
            photo.path = str(tmp_path / "gone.jpg")
        report = copy_photos(lib, ids, tmp_path / "new" / "folder")
        assert len(report.copied) == len(ids) - 1
        assert report.failed == [(ids[0], str(tmp_path / "gone.jpg"), "the file is missing")]
        progress = Progress(lambda state: progress.cancel() if state.done == 2 else None)
        stopped = copy_photos(lib, ids, tmp_path / "stopped", progress)
    assert stopped.cancelled and len(stopped.copied) + len(stopped.failed) == 2
    assert len(list((tmp_path / "stopped").iterdir())) == len(stopped.copied)


def test_cli_lists_and_copies_photos_of_people_together(lib_copy: PhotosLibrary, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ann, ben = str(lib_copy.person_ids["Ann"]), str(lib_copy.person_ids["Ben"])
    db = str(lib_copy.db)
    code, out, err = run_cli(capsys, "--db", db, "photos", "list", "--person", ann, "--person", ben, "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [Path(p["path"]).name for p in listed] == lib_copy.photos_with("Ann", "Ben")
    assert set(listed[0]) >= {"id", "path", "date", "date_source", "width", "height"}
    code, out, _ = run_cli(capsys, "--db", db, "photos", "list", "--person", ann, "--limit", "2")
    assert code == 0 and "group_6" not in out and out.count("group_") == 2
    code, out, err = run_cli(capsys, "--db", db, "photos", "copy", "--person", ann, "--person", ben,
                             "--to", str(tmp_path / "both"), "--json")
    assert code == 0, err
    copied = json.loads(out)
    assert sorted(Path(c["target"]).name for c in copied["copied"]) == sorted(lib_copy.photos_with("Ann", "Ben"))
    code, out, err = run_cli(capsys, "--db", db, "photos", "list", "--person", "999")
    assert code == 1 and err.strip() == "faceorg: error: no person with id 999 (see `faceorg people list`)"
    code, _out, err = run_cli(capsys, "--db", db, "photos", "copy", "--to", str(tmp_path / "x"))
    assert code == 1 and err.startswith("faceorg: error: name the photos")
