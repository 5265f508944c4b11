"""A small library of real faces in group photos, for the "photos by people" tests (core, CLI and GUI).

Each photo is made by the test from LFW crops of up to three people side by side (``GROUPS``); some
carry an EXIF date taken, the others only a file time. The library is scanned with the installed models
and every face is named after the person whose crop it sits in (the user's decisions), so the expected
answer of "photos with A and B" is known from how the photos were made, not from the grouping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from faceorg.people import ops
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Face, Person, Photo

PEOPLE = ("George_W_Bush", "Colin_Powell", "Tony_Blair")
NAMES = ("Ann", "Ben", "Cleo")
CELL = 300  # each person's crop is this wide in a group photo
# Who is in each photo (indices into PEOPLE), and its date: EXIF DateTimeOriginal, or the file time ("file").
GROUPS: list[tuple[tuple[int, ...], str, datetime]] = [
    ((0,), "exif", datetime(2019, 5, 1, 10, 0, 0)),
    ((0, 1), "exif", datetime(2021, 7, 4, 12, 30, 45)),
    ((1,), "exif", datetime(2020, 1, 2, 8, 0, 0)),
    ((0, 1, 2), "file", datetime(2022, 3, 3, 9, 15, 0)),
    ((0, 2), "exif", datetime(2018, 12, 24, 18, 0, 0)),
    ((1, 0), "file", datetime(2017, 6, 6, 6, 6, 6)),
    ((1, 2), "exif", datetime(2023, 8, 8, 8, 8, 8)),
    ((0,), "file", datetime(2016, 2, 2, 2, 2, 2)),
]


@dataclass
class PhotosLibrary:
    db: Path
    folder: Path
    person_ids: dict[str, int] = field(default_factory=dict)  # name -> person id
    photo_ids: dict[str, int] = field(default_factory=dict)  # file name -> photo id

    def photos_with(self, *names: str) -> list[str]:
        """File names of the photos made with all of these people, newest first (how they were made)."""
        wanted = {NAMES.index(n) for n in names}
        made = [(when, f"group_{k}.jpg") for k, (who, _how, when) in enumerate(GROUPS) if wanted <= set(who)]
        return [name for _when, name in sorted(made, reverse=True)]


def _crop(shared_data: Path, person: str, k: int) -> Image.Image:
    src = sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[k]
    with Image.open(src) as im:
        return im.convert("RGB").crop((50, 30, 200, 210)).resize((CELL - 40, 312))


def make_photos(shared_data: Path, folder: Path) -> None:
    """Write the group photos (JPEG) with their EXIF dates or file times."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, (who, how, when) in enumerate(GROUPS):
        img = Image.new("RGB", (CELL * len(who), 400), (200, 205, 210))
        for slot, person in enumerate(who):
            img.paste(_crop(shared_data, PEOPLE[person], k), (slot * CELL + 20, 44))
        path = folder / f"group_{k}.jpg"
        exif = Image.Exif()
        if how == "exif":
            exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
        img.save(path, "JPEG", quality=90, exif=exif)
        if how == "file":
            stamp = when.timestamp()  # local time, as the library shows file times
            os.utime(path, (stamp, stamp))
        else:
            os.utime(path, (1_000_000_000, 1_000_000_000))  # a file time unlike the date taken


def build(shared_data: Path, root: Path) -> PhotosLibrary:
    """Make the photos, scan them with the real models, and name every face after its crop's person."""
    folder = root / "photos"
    make_photos(shared_data, folder)
    out = PhotosLibrary(db=root / "photos.sqlite", folder=folder)
    with open_library(out.db) as lib:
        add_folder(lib, folder)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        with lib.session() as s:
            photos = {Path(p).name: pid for pid, p in s.execute(select(Photo.id, Photo.path))}
            faces = s.execute(select(Face.id, Face.photo_id, Face.x, Face.w)).all()
        out.photo_ids = photos
        by_name: dict[str, list[int]] = {n: [] for n in NAMES}
        for k, (who, _how, _when) in enumerate(GROUPS):
            pid = photos[f"group_{k}.jpg"]
            mine = [f for f in faces if f[1] == pid]
            assert len(mine) == len(who), f"group_{k}.jpg: {len(mine)} faces found, {len(who)} made"
            for fid, _photo, x, w in mine:
                by_name[NAMES[who[int((x + w / 2) // CELL)]]].append(fid)
        for name, fids in by_name.items():
            ops.assign_faces_to_name(lib, fids, name)
        with lib.session() as s:
            out.person_ids = {n: i for i, n in s.execute(select(Person.id, Person.name)) if n}
    return out
