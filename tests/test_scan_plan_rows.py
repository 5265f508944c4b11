"""Planning a scan reads plain rows: no ORM object per photo of a big folder (they set off full garbage
collections that freeze the GUI thread beside the scan)."""

from __future__ import annotations

from pathlib import Path

from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from tests.imagegen import random_photo
from tests.ormcount import orm_objects


def test_rescan_plans_without_orm_objects_per_photo(tmp_path: Path, db_location: Path | str) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for i in range(12):
        random_photo(album / f"p{i:02d}.jpg", seed=i)
    lib = open_library(db_location)
    add_folder(lib, album)
    assert scan_library(lib, workers=1).new == 12
    (album / "p00.jpg").unlink()  # one gone, one new: the plan still reads every record of the folder
    random_photo(album / "new.jpg", seed=99)
    with orm_objects() as made:
        again = scan_library(lib, workers=1)
    assert (again.unchanged, again.new, again.missing) == (11, 1, 1)
    assert made["Photo"] <= 2, made  # the new photo and the gone one, not the folder's twelve
    lib.close()
