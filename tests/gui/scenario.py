"""The library the GUI tests work on: real faces from ../shared/data when present, drawn ones otherwise.

Real: a few LFW identities and annotated group photos are copied into a folder (plus one LFW photo
stored rotated, with an EXIF orientation), scanned with the installed face models, then arranged the
way a user's library looks half-way: two named people (one with suggestions waiting for review, one
with an automatic match), one hidden named person, two unnamed groups (one holding a wrong face), an
ignored face, and unknown faces. Drawn: the same arrangement over a generated library. Each test
works on its own copy of the database.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from sqlalchemy import delete, select, update

from faceorg.people import ops
from faceorg.store import Library, open_library
from faceorg.store.models import Assignment, AssignmentSource, Face, Operation, Person, Photo

IDENTITIES = {"bush": ("George_W_Bush", 8), "powell": ("Colin_Powell", 6), "blair": ("Tony_Blair", 6),
              "rumsfeld": ("Donald_Rumsfeld", 5), "schroeder": ("Gerhard_Schroeder", 4)}
GROUP_PHOTOS = ["2008_001322.jpg", "2008_001009.jpg", "2008_002506.jpg"]


@dataclass
class Scenario:
    """What the tests can rely on (ids in the template database)."""

    kind: str  # "real" or "drawn"
    db: Path
    photos_dir: Path
    people: dict[str, int] = field(default_factory=dict)  # bush, powell, schroeder (named), blair, rumsfeld (unnamed)
    faces: dict[str, list[int]] = field(default_factory=dict)  # each identity's main faces, best first
    suggested: list[int] = field(default_factory=list)  # Bush faces suggested, not confirmed
    auto_named: int = 0  # a Powell face matched automatically
    wrong_face: int = 0  # a Blair face in Rumsfeld's unnamed group
    ignored: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    group_photo: int = 0  # a photo with several faces
    rotated_photo: int | None = None  # stored rotated with EXIF orientation 6 (real data only)

    def copy_to(self, folder: Path) -> Path:
        """A private copy of the database for one test."""
        target = folder / "library.sqlite"
        src = sqlite3.connect(self.db)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return target


def build_real(shared_data: Path, root: Path) -> Scenario:
    """Scan real faces with the installed models and arrange them (needs faceorg.pipeline)."""
    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.store.folders import add_folder
    from tests.imagegen import save_with_orientation

    photos = root / "photos"
    for folder, n in IDENTITIES.values():
        target = photos / folder
        target.mkdir(parents=True)
        for src in sorted((shared_data / "lfw" / "images" / folder).glob("*.jpg"))[:n]:
            shutil.copy(src, target / src.name)
    group = photos / "group"
    group.mkdir()
    for name in GROUP_PHOTOS:
        shutil.copy(shared_data / "photos-annotated" / name, group / name)
    rotated = photos / "rotated"
    rotated.mkdir()
    upright = Image.open(shared_data / "lfw" / "images" / "Colin_Powell" / "Colin_Powell_0010.jpg").convert("RGB")
    # Make it clearly not square, so a wrong orientation shows in the stored size.
    wide = Image.new("RGB", (400, 250), (40, 40, 40))
    wide.paste(upright, (0, 0))
    save_with_orientation(wide, rotated / "powell_rotated.jpg", 6)

    db = root / "template.sqlite"
    lib = open_library(db)
    try:
        add_folder(lib, photos)
        summary = scan_library(lib, analyzer=analyzer_for_library(lib), workers=2)
        assert summary.faces_found >= 30, summary.one_line()
        by_folder: dict[str, list[tuple[int, float, float]]] = {}
        with lib.session() as s:
            rows = s.execute(select(Face.id, Face.w, Face.quality, Photo.path, Photo.id).join(Photo)).all()
        main: dict[str, list[int]] = {}
        edge: list[int] = []
        photo_of_path: dict[str, int] = {}
        for face_id, w, quality, path, photo_id in rows:
            photo_of_path[Path(path).name] = photo_id
            by_folder.setdefault(path, []).append((face_id, w, quality))
        for path, faces in by_folder.items():
            folder = Path(path).parent.name
            key = next((k for k, (f, _n) in IDENTITIES.items() if f == folder), None)
            faces.sort(key=lambda t: -t[1])  # the centred LFW face is the biggest
            if key is None:
                edge.extend(f for f, _w, _q in faces)
                continue
            main.setdefault(key, []).append(faces[0][0])
            edge.extend(f for f, _w, _q in faces[1:])
        quality = {f: q for f, _w, q, _p, _ph in rows}
        for key in main:
            main[key].sort(key=lambda f: (-quality[f], f))
        scenario = Scenario("real", db, photos)
        _arrange(lib, scenario, main, edge)
        scenario.group_photo = photo_of_path[GROUP_PHOTOS[0]]
        scenario.rotated_photo = photo_of_path["powell_rotated.jpg"]
    finally:
        lib.close()
    return scenario


def build_drawn(root: Path) -> Scenario:
    """The same arrangement over drawn faces (when the real data or the models are absent)."""
    from tests.gui.synthetic import generate_library

    sizes = [n for _f, n in IDENTITIES.values()]
    photos = root / "photos"
    db = root / "template.sqlite"
    # As in the real library, no photo holds two of the five people (an LFW portrait holds one): merging
    # or moving between them is then allowed, as the tests expect. Unknown faces fill the group photos.
    gen = generate_library(db, n_faces=sum(sizes) + 12, n_people=len(sizes), named=0, unassigned=12,
                           faces_per_photo=3, people_per_photo=1, chip_size=150, photos_dir=photos, seed=3)
    lib = open_library(db)
    try:
        with lib.transaction() as s:
            s.execute(delete(Assignment))
            s.execute(delete(Person))
            quality = dict(s.execute(select(Face.id, Face.quality)).all())
            photo_of = dict(s.execute(select(Face.id, Face.photo_id)).all())
        people = sorted(gen.faces_of)
        main: dict[str, list[int]] = {}
        for key, pid in zip(IDENTITIES, people):
            main[key] = sorted(gen.faces_of[pid], key=lambda f: (-quality[f], f))
        scenario = Scenario("drawn", db, photos)
        _arrange(lib, scenario, main, list(gen.unassigned))
        counts: dict[int, int] = {}
        unknown: dict[int, int] = {}
        for face, photo in photo_of.items():
            counts[photo] = counts.get(photo, 0) + 1
            unknown[photo] = unknown.get(photo, 0) + (face in scenario.unknown)
        # Like the real group photos: the most faces, most of them unknown (one to name in the photo view).
        scenario.group_photo = max(counts, key=lambda p: (counts[p], unknown[p], -p))
    finally:
        lib.close()
    return scenario


def _arrange(lib: Library, sc: Scenario, main: dict[str, list[int]], edge: list[int]) -> None:
    """Named, unnamed, suggested, automatic, hidden, ignored and unknown faces, as a user would have them."""
    bush, powell, blair, rumsfeld, schroeder = (main[k] for k in IDENTITIES)
    ops.create_person(lib, "George W Bush", bush[:-2])
    ops.create_person(lib, "Colin Powell", powell[:-1])
    ops.create_person(lib, "Gerhard Schroeder", schroeder)
    with lib.transaction() as s:
        ids = {name: pid for pid, name in s.execute(select(Person.id, Person.name))}
        sc.people = {"bush": ids["George W Bush"], "powell": ids["Colin Powell"],
                     "schroeder": ids["Gerhard Schroeder"]}
        for n, face in enumerate(bush[-2:]):
            s.add(Assignment(face_id=face, person_id=sc.people["bush"], source=AssignmentSource.SUGGESTED,
                             distance=0.42 + 0.05 * n, runner_up_id=sc.people["powell"], runner_up_distance=0.58))
        s.add(Assignment(face_id=powell[-1], person_id=sc.people["powell"], source=AssignmentSource.AUTO,
                         strength=0.35))
        groups = {}
        for key, faces in (("blair", blair[:-1]), ("rumsfeld", rumsfeld + blair[-1:])):
            person = Person()
            s.add(person)
            s.flush()
            groups[key] = person.id
            for face in faces:
                s.add(Assignment(face_id=face, person_id=person.id, source=AssignmentSource.AUTO, strength=0.8))
        sc.people.update(groups)
        s.execute(update(Assignment).where(Assignment.face_id == blair[-1]).values(strength=0.2))
    ops.hide_person(lib, sc.people["schroeder"])
    sc.faces = {k: list(v) for k, v in main.items()}
    sc.suggested = bush[-2:]
    sc.auto_named = powell[-1]
    sc.wrong_face = blair[-1]
    sc.ignored = edge[:1]
    ops.ignore_faces(lib, sc.ignored)
    sc.unknown = edge[1:]
    with lib.transaction() as s:  # the tests start with an empty undo history
        s.execute(delete(Operation))
