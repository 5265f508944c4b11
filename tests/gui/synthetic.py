"""Generated libraries for the GUI tests, screenshots and benchmark: drawn faces, bulk inserts, no models.

``generate_library`` writes photos, faces (with small synthetic chip JPEGs), people and assignments
straight into a library database (an SQLite file, or a PostgreSQL database by URL), fast enough for 100k
faces in a few seconds and 1M in a few minutes: executemany on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

import enum
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import Connection, Table

from faceorg.store import Library, open_library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    Face,
    FaceChip,
    FaceStatus,
    LibraryFolder,
    Person,
    Photo,
    PhotoStatus,
)
from faceorg.store.photo_dates import photo_date_key

FIRST = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mia", "Noor",
         "Otto", "Pia", "Quin", "Rosa", "Sam", "Tess", "Uma", "Vik", "Wen", "Xia", "Yuri", "Zoe"]
LAST = ["Adler", "Berg", "Costa", "Dahl", "Eder", "Frey", "Gallo", "Haas", "Ito", "Jansen", "Kerr", "Lund",
        "Moro", "Novak", "Ortiz", "Park", "Quast", "Roth", "Silva", "Tan", "Ueda", "Vogel", "Weiss", "Young"]


def person_name(i: int) -> str:
    """A distinct, readable name for person number ``i``."""
    base = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
    return base if i < len(FIRST) * len(LAST) else f"{base} {i // (len(FIRST) * len(LAST)) + 1}"


def draw_face(person: int, variant: int, size: int = 150) -> Image.Image:
    """A simple drawn face whose colours say who it is and whose pose varies a little."""
    rng = random.Random(person * 7919 + variant)
    hue = (person * 47) % 360
    bg = _hsv(hue, 0.35, 0.85)
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    s = size / 150
    dx, dy = rng.randint(-6, 6) * s, rng.randint(-5, 5) * s
    skin = _hsv(25 + (person * 13) % 20, 0.3 + (person % 5) * 0.08, 0.95 - (person % 7) * 0.07)
    d.ellipse([30 * s + dx, 22 * s + dy, 120 * s + dx, 135 * s + dy], fill=skin)
    hair = _hsv((person * 91) % 360, 0.6, 0.35)
    d.chord([28 * s + dx, 14 * s + dy, 122 * s + dx, 90 * s + dy], 180, 360, fill=hair)
    for ex in (55, 95):
        d.ellipse([(ex - 7) * s + dx, 70 * s + dy, (ex + 7) * s + dx, 80 * s + dy], fill=(40, 40, 50))
    d.arc([58 * s + dx, 95 * s + dy, 92 * s + dx, 115 * s + dy], 20, 160, fill=(150, 60, 60), width=max(1, int(3 * s)))
    return img


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h / 360, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def chip_bytes(person: int, variant: int, size: int = 150, quality: int = 70) -> bytes:
    buf = io.BytesIO()
    draw_face(person, variant, size).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@dataclass
class GeneratedLibrary:
    """What was generated: ids the tests and the benchmark refer to."""

    path: Path
    people: list[int] = field(default_factory=list)  # person ids, index = person number
    faces_of: dict[int, list[int]] = field(default_factory=dict)  # person id -> face ids
    unassigned: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    suggested: list[int] = field(default_factory=list)
    photo_paths: list[str] = field(default_factory=list)


def zipf_sizes(n_faces: int, n_people: int, seed: int = 0) -> list[int]:
    """Group sizes that add up to ``n_faces``: a few big groups and a long tail, each at least 2."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) ** 0.8 * rng.uniform(0.8, 1.2) for k in range(n_people)]
    total = sum(weights)
    sizes = [max(2, int(n_faces * w / total)) for w in weights]
    diff = n_faces - sum(sizes)
    k = 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        if step > 0 or sizes[k % n_people] > 2:
            sizes[k % n_people] += step
            diff -= step
        k += 1
    return sizes


def generate_library(path: Path, *, n_faces: int, n_people: int, named: int, unassigned: int = 0,
                     ignored: int = 0, suggested_per_person: int = 0, faces_per_photo: int = 4,
                     chip_size: int = 96, chip_variants: int = 6, photos_dir: Path | None = None,
                     people_per_photo: int | None = None, seed: int = 0, url: str | None = None
                     ) -> GeneratedLibrary:
    """Write a library of ``n_faces`` faces in ``n_people`` groups (the first ``named`` have names).

    Each photo holds up to ``faces_per_photo`` faces of different people, of whom at most
    ``people_per_photo`` are in a group (the other places go to unassigned faces). ``photos_dir`` also writes
    the photo files (drawn faces where the boxes are) so the photo view can open them; without it the
    photo records point at files that do not exist. Chips are drawn once per (person, variant) and
    reused, so generation stays fast. ``url``: write into this (empty) PostgreSQL database instead of the
    SQLite file ``path`` (whose folder then only places the photo records).
    """
    lib = open_library(url or path)
    try:
        return _fill(lib, path, n_faces=n_faces, n_people=n_people, named=named, unassigned=unassigned,
                     ignored=ignored, suggested_per_person=suggested_per_person, faces_per_photo=faces_per_photo,
                     chip_size=chip_size, chip_variants=chip_variants, photos_dir=photos_dir,
                     people_per_photo=faces_per_photo if people_per_photo is None else people_per_photo, seed=seed)
    finally:
        lib.close()


def _fill(lib: Library, path: Path, *, n_faces: int, n_people: int, named: int, unassigned: int, ignored: int,
          suggested_per_person: int, faces_per_photo: int, chip_size: int, chip_variants: int,
          photos_dir: Path | None, people_per_photo: int, seed: int) -> GeneratedLibrary:
    rng = random.Random(seed)
    out = GeneratedLibrary(path=path)
    sizes = zipf_sizes(n_faces - unassigned - ignored, n_people, seed)
    # Owner (person number, or -1 unassigned, -2 ignored) of every face, shuffled into photos.
    owners = [p for p, n in enumerate(sizes) for _ in range(n)] + [-1] * unassigned + [-2] * ignored
    rng.shuffle(owners)
    photos: list[list[int]] = []
    for owner in owners:
        # Put the face in a recent photo that has room and no face of the same person (or of too many people).
        for cand in photos[-3:]:
            if len(cand) < faces_per_photo and (owner < 0 or (
                    owner not in cand and sum(o >= 0 for o in cand) < people_per_photo)):
                cand.append(owner)
                break
        else:
            photos.append([owner])
    folder_path = str(photos_dir or path.parent / "photos")
    chips: dict[tuple[int, int], bytes] = {}

    def chip_of(who: int, variant: int) -> bytes:
        key = (who, variant)
        if key not in chips:
            chips[key] = chip_bytes(who, variant, chip_size)
        return chips[key]

    with lib.transaction() as s:
        folder = LibraryFolder(path=folder_path)
        s.add(folder)
        s.flush()
        folder_id = folder.id
    with lib.engine.begin() as conn:
        _bulk_insert(conn, Person, [{"id": i + 1, "name": person_name(i) if i < named else None, "hidden": False}
                                    for i in range(n_people)])
        out.people = [i + 1 for i in range(n_people)]
        photo_rows, face_rows, chip_rows, assign_rows = [], [], [], []
        face_id = 0
        for pi, members in enumerate(photos):
            photo_id = pi + 1
            p = f"{folder_path}/img_{pi:06d}.jpg"
            out.photo_paths.append(p)
            photo_rows.append({"id": photo_id, "folder_id": folder_id, "path": p, "size": 1000, "mtime_ns": 1,
                               "content_hash": f"{pi:064x}", "width": 1200, "height": 800, "orientation": 1,
                               "status": PhotoStatus.OK, "faces_key": "synthetic",
                               "face_count": len(members), "is_collage": False})
            for slot, who in enumerate(members):
                face_id += 1
                quality = round(rng.uniform(0.2, 0.99), 3)
                x, y = 60 + slot * 280, 200 + rng.randint(-60, 60)
                status = FaceStatus.IGNORED if who == -2 else FaceStatus.NORMAL
                face_rows.append({"id": face_id, "photo_id": photo_id, "x": float(x), "y": float(y), "w": 200.0,
                                  "h": 200.0, "landmarks": [0.0] * 10, "score": 0.99, "blur": 50.0,
                                  "quality": quality, "status": status, "manual": False})
                chip_rows.append({"face_id": face_id, "image": chip_of(who % 600 if who >= 0 else 1000 + face_id % 50,
                                                                         face_id % chip_variants)})
                if who >= 0:
                    pid = who + 1
                    out.faces_of.setdefault(pid, []).append(face_id)
                    source = AssignmentSource.USER if who < named else AssignmentSource.AUTO
                    assign_rows.append({"face_id": face_id, "person_id": pid, "source": source,
                                        "strength": round(rng.uniform(0.3, 1.0), 3)})
                elif who == -1:
                    out.unassigned.append(face_id)
                else:
                    out.ignored.append(face_id)
        # Named people get a few suggestions: faces that an automatic match gave them.
        if suggested_per_person:
            by_face = {a["face_id"]: a for a in assign_rows}
            for who in range(min(named, n_people)):
                pid = who + 1
                for fid in out.faces_of.get(pid, [])[-suggested_per_person:]:
                    a = by_face[fid]
                    a["source"] = AssignmentSource.SUGGESTED
                    a["distance"] = round(rng.uniform(0.3, 0.48), 3)
                    a["runner_up_id"] = ((who + 1) % named) + 1 if named > 1 else None
                    a["runner_up_distance"] = round(rng.uniform(0.5, 0.7), 3)
                    out.suggested.append(fid)
        for table, rows in ((Photo, photo_rows), (Face, face_rows), (FaceChip, chip_rows),
                            (Assignment, assign_rows)):
            _bulk_insert(conn, table, rows)
        reset_sequences(conn, (Person, Photo, Face))
    if photos_dir is not None:
        _write_photos(photos_dir, photos, out.photo_paths, face_rows)
    return out


def _date_key(row: dict[str, object]) -> str | None:
    taken = row.get("taken_at")
    taken_at = datetime.fromisoformat(taken) if isinstance(taken, str) else taken
    mtime = row.get("mtime_ns")
    return photo_date_key(taken_at if isinstance(taken_at, datetime) else None,
                          mtime if isinstance(mtime, int) else None)


def _bulk_insert(conn: Connection, table: type, rows: list[dict[str, object]]) -> None:
    """Insert rows with the driver's executemany, or COPY on PostgreSQL (the ORM's per-row conversions are
    too slow for 100k rows)."""
    if not rows:
        return
    t: Table = table.__table__  # type: ignore[attr-defined]
    cols = [c.name for c in t.columns]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    defaults = {"created_at": now, "updated_at": now, "added_at": now, "face_count": 0}

    def plain(v: object) -> object:
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, list):
            return json.dumps(v)
        return v

    if t.name == "photos":  # the date key faceorg stores with every photo it records
        rows = [r if "date_key" in r else {**r, "date_key": _date_key(r)} for r in rows]
    data = (tuple(plain(r[c]) if c in r else defaults.get(c) for c in cols) for r in rows)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # the psycopg connection, in this transaction
        with raw.cursor() as cur, cur.copy(f"COPY {t.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {t.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(sql, list(data))


def reset_sequences(conn: Connection, tables: Sequence[type]) -> None:
    """After rows inserted with their ids: PostgreSQL's id sequences continue after the largest id (SQLite's
    autoincrement already does)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        name = table.__table__.name  # type: ignore[attr-defined]
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                             f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)")


def _write_photos(photos_dir: Path, photos: Sequence[Sequence[int]], paths: Sequence[str],
                  face_rows: Sequence[dict[str, object]]) -> None:
    """Write each photo file with drawn faces where the face boxes are."""
    photos_dir.mkdir(parents=True, exist_ok=True)
    it = iter(face_rows)
    for members, p in zip(photos, paths):
        img = Image.new("RGB", (1200, 800), (200, 205, 210))
        for who in members:
            row = next(it)
            face = draw_face(max(who, 0) if who >= 0 else 1000 + int(row["id"]) % 50, 0, 200)  # type: ignore[call-overload]
            img.paste(face, (int(row["x"]), int(row["y"])))  # type: ignore[call-overload]
        img.save(p, "JPEG", quality=80)
