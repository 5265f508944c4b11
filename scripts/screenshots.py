"""Screenshots of every view of the app, made offscreen with ``QWidget.grab()``.

    python scripts/screenshots.py [--out screenshots/out] [--drawn] [--scale 1]

Builds a showcase library in a temporary folder: real faces (LFW people and annotated group photos from
../shared/data, scanned with the installed models, grouped, some people named) when they are there,
drawn faces otherwise (``--drawn`` forces them). Then opens the main window and saves one PNG per view:
people, person, photo, review, unknown faces, ignored faces, settings, a running scan, a new library.
``--scale 2`` renders at device pixel ratio 2 (HiDPI).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED_DATA = Path(os.environ.get("FACEORG_SHARED_DATA", REPO.parent / "shared" / "data"))

PEOPLE = {"George_W_Bush": 14, "Colin_Powell": 10, "Tony_Blair": 10, "Donald_Rumsfeld": 8, "Gerhard_Schroeder": 8,
          "Ariel_Sharon": 7, "Hugo_Chavez": 7, "Junichiro_Koizumi": 6, "Jean_Chretien": 6, "Serena_Williams": 6,
          "Jacques_Chirac": 6, "Vladimir_Putin": 6, "Laura_Bush": 5, "Kofi_Annan": 5}
NAMED = ["George_W_Bush", "Colin_Powell", "Serena_Williams", "Vladimir_Putin", "Laura_Bush"]
GROUP_PHOTOS = ["2008_001322.jpg", "2008_001009.jpg", "2008_002506.jpg", "2008_007676.jpg", "2008_002079.jpg"]


def real_available() -> bool:
    from faceorg.paths import models_dir
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, DETECTOR_FILE

    return (SHARED_DATA / "lfw" / "images").is_dir() and all((models_dir() / f).is_file()
                                                            for f in (DETECTOR_FILE, BASE_EMBEDDER_FILE))


def build_real(root: Path) -> tuple[Path, Path]:
    """Scan LFW people and group photos with the installed models; returns (db, photos).

    The people are then arranged from the folder names (the LFW identity), the way a user who has
    named a few people and has suggestions waiting would see them; the screenshots show the app, not
    the quality of the automatic grouping.
    """
    from sqlalchemy import select

    from faceorg.people import ops
    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.store import open_library
    from faceorg.store.folders import add_folder
    from faceorg.store.models import Assignment, AssignmentSource, Face, Person, Photo

    photos = root / "Pictures"
    for name, n in PEOPLE.items():
        (photos / name).mkdir(parents=True)
        for src in sorted((SHARED_DATA / "lfw" / "images" / name).glob("*.jpg"))[:n]:
            shutil.copy(src, photos / name / src.name)
    (photos / "Parties").mkdir()
    for name in GROUP_PHOTOS:
        shutil.copy(SHARED_DATA / "photos-annotated" / name, photos / "Parties" / name)
    db = root / "showcase.sqlite"
    lib = open_library(db)
    add_folder(lib, photos)
    scan_library(lib, analyzer=analyzer_for_library(lib))
    with lib.session() as s:
        rows = s.execute(select(Face.id, Face.w, Face.quality, Photo.path).join(Photo)).all()
    main: dict[str, list[int]] = {}
    others: list[int] = []
    by_photo: dict[str, list[tuple[int, float, float]]] = {}
    for fid, w, q, path in rows:
        by_photo.setdefault(path, []).append((fid, w, q))
    for path, faces in by_photo.items():
        folder = Path(path).parent.name
        faces.sort(key=lambda t: -t[1])  # the centred LFW face is the biggest
        if folder in PEOPLE:
            main.setdefault(folder, []).append(faces[0][0])
            others.extend(f for f, _w, _q in faces[1:])
        else:
            others.extend(f for f, _w, _q in faces)
    for folder in NAMED:
        faces = main.pop(folder)
        ops.create_person(lib, folder.replace("_", " "), faces[:-2])
        with lib.transaction() as s:
            pid = s.scalar(select(Person.id).where(Person.name == folder.replace("_", " ")))
            for n, f in enumerate(faces[-2:]):
                s.add(Assignment(face_id=f, person_id=pid, source=AssignmentSource.SUGGESTED,
                                 distance=0.41 + 0.04 * n, runner_up_distance=0.56))
    with lib.transaction() as s:
        for faces in main.values():
            person = Person()
            s.add(person)
            s.flush()
            for f in faces:
                s.add(Assignment(face_id=f, person_id=person.id, source=AssignmentSource.AUTO, strength=0.8))
    ops.ignore_faces(lib, others[:3])
    # Name two faces of the busiest group photo, so the photo view shows names as well as unknowns.
    group = max(by_photo.items(), key=lambda kv: len(kv[1]) if Path(kv[0]).parent.name == "Parties" else 0)[1]
    for face, name in zip(sorted(group, key=lambda t: t[0]), ("Anna", "Maria")):
        ops.assign_faces_to_name(lib, [face[0]], name)
    lib.close()
    return db, photos


def build_drawn(root: Path) -> tuple[Path, Path]:
    from tests.gui.synthetic import generate_library

    photos = root / "Pictures"
    db = root / "showcase.sqlite"
    generate_library(db, n_faces=420, n_people=36, named=12, unassigned=30, ignored=6, suggested_per_person=2,
                     faces_per_photo=3, chip_size=150, photos_dir=photos, seed=7)
    return db, photos


class Shooter:
    def __init__(self, app, window, out: Path) -> None:  # type: ignore[no-untyped-def]
        self.app, self.window, self.out = app, window, out
        self.taken: list[Path] = []

    def settle(self, extra: Callable[[], bool] = lambda: True, timeout: float = 60) -> None:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            self.app.processEvents()
            if self.window.ctx.idle and extra():
                break
            time.sleep(0.01)
        for _ in range(5):  # thumbnails that just arrived are painted
            self.app.processEvents()
            time.sleep(0.02)

    def shoot(self, name: str, widget=None) -> None:  # type: ignore[no-untyped-def]
        path = self.out / f"{name}.png"
        (widget or self.window).grab().save(str(path))
        self.taken.append(path)
        print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots" / "out")
    parser.add_argument("--drawn", action="store_true", help="use drawn faces even when real ones are available")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 for HiDPI)")
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="faceorg-shots-"))
    from faceorg.paths import models_dir

    # Use the installed models, but keep everything else out of the user's data folder.
    os.environ["FACEORG_MODELS_DIR"] = str(models_dir())
    os.environ["FACEORG_DATA_DIR"] = str(root / "data")
    try:
        return shoot_all(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def shoot_all(args: argparse.Namespace, root: Path) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow, Page
    from faceorg.store import open_library

    real = not args.drawn and real_available()
    db, photos = build_real(root) if real else build_drawn(root)
    print(f"showcase library: {'real faces' if real else 'drawn faces'}")
    app = make_application(["faceorg"])
    settings = QSettings(str(root / "shots.ini"), QSettings.Format.IniFormat)
    library = open_library(db)
    window = MainWindow(library, settings)
    window.resize(1180, 760)
    window.show()
    shots = Shooter(app, window, args.out)
    shots.settle(lambda: window.people_view.loaded and window.review_view.loaded)
    shots.shoot("people")

    model = window.people_view.model
    named = [c for c in model.cards() if c.name]
    person = max(named or model.cards(), key=lambda c: c.face_count)
    window.people_view.select_ids([person.id])
    window.navigate(Page("person", person.id))
    shots.settle(lambda: window.person_view.grid.faces.rowCount() > 0)
    grid = window.person_view.grid
    grid.select_rows([1, 2] if grid.faces.rowCount() > 2 else [0])
    shots.settle()
    shots.shoot("person")

    group_photo = _group_photo(library)
    window.navigate(Page("photo", group_photo))
    shots.settle(lambda: window.photo_view.photo is not None and window.photo_view.canvas.image is not None)
    view = window.photo_view
    if view.photo and view.photo.faces:
        view.select_face(view.photo.faces[0].id)
    shots.settle()
    shots.shoot("photo")
    if view.photo and view.photo.faces:
        view.start_naming()
        shots.settle()
        shots.shoot("photo-naming")
        view._cancel_name()

    window.navigate(Page("review"))
    shots.settle()
    shots.shoot("review")
    window.navigate(Page("unknown"))
    shots.settle(lambda: window.faces_view.loaded_mode == "unknown")
    shots.shoot("unknown")
    window.navigate(Page("ignored"))
    shots.settle(lambda: window.faces_view.loaded_mode == "ignored")
    shots.shoot("ignored")

    window.navigate(Page("people"))
    window.open_settings()
    shots.settle(lambda: window.settings_dialog is not None and
                 not window.settings_dialog.provider.text().startswith("Checking"))
    dialog = window.settings_dialog
    shots.shoot("settings", dialog)
    dialog.reject()
    shots.settle()

    # Improve Recognition: the choice, then the before/after report of a check (nothing is changed).
    window.improve_recognition()
    shots.settle(lambda: window.retrain_dialog is not None and window.retrain_dialog.isVisible())
    retrain_dialog = window.retrain_dialog
    shots.shoot("retrain", retrain_dialog)
    retrain_dialog.check_only.setChecked(True)
    retrain_dialog.start_button.click()
    shots.settle(lambda: window.retrain_report is not None or
                 (not window.ctx.jobs.running and window.retrain_dialog is None and _error_box_open()), timeout=300)
    if window.retrain_report is not None:
        shots.shoot("retrain-report", window.retrain_report)
        window.retrain_report.close()
    shots.settle()

    # A scan running: a folder of copies of the photos, grabbed while the progress bar moves.
    more = root / "More photos"
    more.mkdir()
    sources = sorted(photos.rglob("*.jpg"))
    for i in range(80):
        shutil.copy(sources[i % len(sources)], more / f"copy_{i:03d}.jpg")
    window.add_folder(str(more))
    bar = window.job_bar
    end = time.perf_counter() + 60
    while time.perf_counter() < end and not (bar.isVisible() and bar.bar.maximum() > 0 and bar.bar.value() > 5):
        app.processEvents()
        time.sleep(0.005)
    shots.shoot("scan-running")
    shots.settle(lambda: not window.ctx.jobs.running, timeout=300)
    window.close()
    library.close()

    # A brand-new library: the empty states.
    empty = MainWindow(open_library(root / "empty.sqlite"),
                       QSettings(str(root / "empty.ini"), QSettings.Format.IniFormat))
    empty.resize(900, 560)
    empty.show()
    shots.window = empty
    shots.settle(lambda: empty.people_view.loaded)
    shots.shoot("empty-library")
    empty.close()
    QApplication.processEvents()
    print(f"{len(shots.taken)} screenshots in {args.out}")
    return 0


def _error_box_open() -> bool:
    from PySide6.QtWidgets import QApplication, QMessageBox

    return any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets())


def _group_photo(library) -> int:  # type: ignore[no-untyped-def]
    """The photo with the most faces."""
    from sqlalchemy import func, select

    from faceorg.store.models import Face

    with library.session() as s:
        row = s.execute(select(Face.photo_id, func.count()).group_by(Face.photo_id)
                        .order_by(func.count().desc(), Face.photo_id).limit(1)).first()
    return int(row[0]) if row else 1


if __name__ == "__main__":
    raise SystemExit(main())
