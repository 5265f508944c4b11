"""GUI speed on a big library: 100k faces in 5k people, generated into a fresh database.

    python benchmarks/gui_bench.py [--faces 100000] [--people 5000] [--photos 120] [--keep DIR] [--json]
    python benchmarks/gui_bench.py --faces 1000000 --people 50000 --first-screen-only --keep DIR   # 1M faces
    python benchmarks/gui_bench.py --db URL --first-screen-only   # an existing library (e.g. PostgreSQL)

Measures, with the real main window (offscreen unless QT_QPA_PLATFORM says otherwise):

- ``first_screen_s``: from creating the window to the People view's first screen painted with every
  visible card's face (target: 1 s; 0.3 s from 1,000,000 faces, issue 14);
- ``max_scroll_stall_ms``: the longest the GUI thread was blocked while scrolling through the whole
  People grid, one half-screen every 16 ms (target: 50 ms); ``max_person_scroll_stall_ms`` the same
  for the biggest person's faces;
- ``max_scan_stall_ms``: the longest the GUI thread was blocked while a scan of a folder of photos runs
  in the background (with faces when the models are installed, else catalogue only; target: 100 ms).

Stalls are measured with a 5 ms heartbeat timer on the GUI thread: the longest gap between two
beats, minus the interval. Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import logging
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

from PIL import Image  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from faceorg.store import open_library  # noqa: E402
from tests.gui.synthetic import draw_face, generate_library  # noqa: E402

TARGETS = {"first_screen_s": 1.0, "max_scroll_stall_ms": 50.0, "max_person_scroll_stall_ms": 50.0,
           "max_scan_stall_ms": 100.0}
HEARTBEAT_MS = 5
SHARED_DATA = Path(os.environ.get("FACEORG_SHARED_DATA", REPO.parent / "shared" / "data"))


class Heartbeat:
    """A GUI-thread timer; the longest gap between its beats is the longest the thread was blocked.

    It also notes how much CPU the GUI thread itself used during that longest gap: on a busy machine
    a stall can be mostly time the thread was waiting for a core (or for the GIL), not work it did.
    """

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._beat)
        self.clock = QElapsedTimer()
        self.last = 0
        self.last_cpu = 0.0
        self.max_gap_ms = 0.0
        self.cpu_in_max_gap_ms = 0.0

    def _beat(self) -> None:
        now, cpu = self.clock.nsecsElapsed(), time.thread_time()
        if self.last:
            gap = (now - self.last) / 1e6
            if gap > self.max_gap_ms:
                self.max_gap_ms, self.cpu_in_max_gap_ms = gap, (cpu - self.last_cpu) * 1000
        self.last, self.last_cpu = now, cpu

    def start(self) -> None:
        self.clock.start()
        self.last = 0
        self.max_gap_ms = 0.0
        self.cpu_in_max_gap_ms = 0.0
        self.timer.start()

    def stop(self) -> float:
        """The longest stall seen, in milliseconds (gap beyond the beat interval)."""
        self.timer.stop()
        return max(0.0, self.max_gap_ms - HEARTBEAT_MS)


def spin_until(app: QApplication, done: Callable[[], bool], timeout_s: float) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.001)
    return False


def visible_rows(view) -> list[int]:  # type: ignore[no-untyped-def]
    """Rows whose cells intersect the viewport."""
    model, vp = view.model(), view.viewport().rect()
    top = view.indexAt(vp.topLeft())
    start = top.row() if top.isValid() else 0
    rows = []
    for r in range(start, model.rowCount()):
        rect = view.visualRect(model.index(r, 0))
        if rect.top() > vp.bottom():
            break
        if rect.intersects(vp):
            rows.append(r)
    return rows


def scroll_through(app: QApplication, view, step_ms: int = 16) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Scroll a grid from top to bottom half a screen at a time.

    Returns the longest GUI-thread stall (ms) and the CPU the GUI thread used in it (ms).
    """
    bar = view.verticalScrollBar()
    bar.setValue(0)
    step = max(1, view.viewport().height() // 2)
    beat = Heartbeat()
    beat.start()
    state = {"done": False}

    def tick() -> None:
        if bar.value() >= bar.maximum():
            state["done"] = True
            return
        bar.setValue(bar.value() + step)
        QTimer.singleShot(step_ms, tick)

    QTimer.singleShot(step_ms, tick)
    spin_until(app, lambda: state["done"], 600)
    spin_until(app, lambda: False, 0.2)  # let the last thumbnails arrive and paint
    return beat.stop(), beat.cpu_in_max_gap_ms


def copy_database(src: Path, dst: Path) -> None:
    import sqlite3

    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        b.close()
        a.close()


def make_scan_folder(folder: Path, n: int) -> str:
    """Photos to scan: LFW photos (real faces) when ../shared/data is there, else drawn ones."""
    folder.mkdir(parents=True, exist_ok=True)
    lfw = SHARED_DATA / "lfw" / "images"
    if lfw.is_dir():
        sources = []
        for person in sorted(lfw.iterdir())[:400]:
            sources.extend(sorted(person.glob("*.jpg"))[:2])
            if len(sources) >= n:
                break
        for i, src in enumerate(sources[:n]):
            shutil.copy(src, folder / f"lfw_{i:04d}.jpg")
        return f"{min(n, len(sources))} LFW photos"
    for i in range(n):
        img = Image.new("RGB", (1600, 1200), (180, 190, 200))
        for k in range(3):
            img.paste(draw_face(i * 3 + k, 0, 300), (100 + k * 500, 400))
        img.save(folder / f"drawn_{i:04d}.jpg", quality=85)
    return f"{n} drawn photos (1600x1200)"


def run(args: argparse.Namespace) -> dict[str, object]:
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow, Page
    from faceorg.gui.people_view import FIRST_SCREEN  # noqa: F401  (documents the first-screen batch)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="faceorg-gui-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    template = work / f"template-{args.faces}-{args.people}.sqlite"
    db: str | Path = work / "bench.sqlite"
    result: dict[str, object] = {"faces": args.faces, "people": args.people}
    if args.db:  # an existing library, used as it is (the scan step is left out: it would change it)
        db = args.db
        result["db"] = args.db.split("@")[-1]  # no user name in the report
    elif not template.exists():
        t = time.perf_counter()
        generate_library(template, n_faces=args.faces, n_people=args.people, named=args.people // 10,
                         unassigned=args.faces // 50, ignored=args.faces // 200, suggested_per_person=2)
        result["generate_s"] = round(time.perf_counter() - t, 2)
    if not args.db:
        copy_database(template, Path(db))  # every run starts from the same library (the scan adds to it)
    if hasattr(os, "sync"):
        os.sync()  # the copy's writeback must not compete with the measurement
    app = make_application(["gui_bench"])
    library = open_library(db)
    settings = QSettings(str(work / "bench.ini"), QSettings.Format.IniFormat)
    settings.clear()

    # 1. First screen: window created -> People grid painted with every visible card's face.
    start = time.perf_counter()
    window = MainWindow(library, settings)
    window.resize(1280, 800)
    window.show()
    people = window.people_view

    def first_screen_ready() -> bool:
        if not people.loaded:
            return False
        rows = visible_rows(people.grid)
        cache, model = window.ctx.card_thumbs, people.model
        return bool(rows) and all(cache._images.get(model.cover_of(model.card_at(r))) is not None for r in rows)

    spin_until(app, lambda: people.loaded, 60)
    result["first_cards_s"] = round(time.perf_counter() - start, 3)
    spin_until(app, first_screen_ready, 60)
    people.grid.viewport().repaint()
    result["first_screen_s"] = round(time.perf_counter() - start, 3)
    result["first_screen_cards"] = len(visible_rows(people.grid))
    spin_until(app, lambda: window.ctx.idle, 60)
    targets = first_screen_targets(args.faces)
    if args.first_screen_only or args.db:
        window.close()
        library.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        result["load_average"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        result["cpus"] = os.cpu_count()
        result["passed"] = float(result["first_screen_s"]) <= targets["first_screen_s"]  # type: ignore[arg-type]
        return result

    # 2. Scrolling the People grid, then the biggest person's faces.
    stall, cpu = scroll_through(app, people.grid)
    result["max_scroll_stall_ms"], result["max_scroll_stall_cpu_ms"] = round(stall, 1), round(cpu, 1)
    biggest = max(people.model.cards(), key=lambda c: c.face_count)
    window.navigate(Page("person", biggest.id))
    spin_until(app, lambda: window.person_view.grid.faces.rowCount() == biggest.face_count, 60)
    spin_until(app, lambda: window.ctx.idle, 60)
    result["person_faces"] = biggest.face_count
    stall, cpu = scroll_through(app, window.person_view.grid)
    result["max_person_scroll_stall_ms"], result["max_person_scroll_stall_cpu_ms"] = round(stall, 1), round(cpu, 1)
    window.navigate(Page("people"))

    # 3. A scan in the background.
    folder = work / "scan"
    if folder.exists():
        shutil.rmtree(folder)
    result["scan_photos"] = make_scan_folder(folder, args.photos)
    ended: list[str] = []
    window.ctx.jobs.ended.connect(lambda title, _outcome: ended.append(title))
    summaries: list[object] = []
    window.ctx.scanned.connect(summaries.append)
    beat = Heartbeat()
    beat.start()
    t = time.perf_counter()
    window.add_folder(str(folder))
    spin_until(app, lambda: bool(summaries), 1800)
    scan_s = time.perf_counter() - t
    result["max_scan_stall_ms"] = round(beat.stop(), 1)
    result["max_scan_stall_cpu_ms"] = round(beat.cpu_in_max_gap_ms, 1)
    summary = summaries[0] if summaries else None
    result["scan_s"] = round(scan_s, 2)
    result["scan_with_faces"] = bool(summary and summary.analyzed)  # type: ignore[attr-defined]
    result["scan_faces_found"] = getattr(summary, "faces_found", 0)
    spin_until(app, lambda: not window.ctx.jobs.running and window.ctx.idle, 120)
    window.close()
    library.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    result["cpus"] = os.cpu_count()
    result["passed"] = all(float(result[k]) <= v for k, v in targets.items())  # type: ignore[arg-type]
    return result


def first_screen_targets(faces: int) -> dict[str, float]:
    """The targets for a library of ``faces``: the first screen within 0.3 s from 1M faces (issue 14)."""
    return {**TARGETS, "first_screen_s": 0.3} if faces >= 1_000_000 else dict(TARGETS)


def print_table(r: dict[str, object]) -> None:
    rows = [
        ("library", f"{r['faces']:,} faces in {r['people']:,} people", ""),
        ("first screen (People view)", f"{r['first_screen_s']:.3f} s ({r['first_screen_cards']} cards; "
                                       f"cards listed at {r['first_cards_s']:.3f} s)",
         f"<= {TARGETS['first_screen_s']} s"),
        ("max GUI stall, scrolling People", f"{r['max_scroll_stall_ms']:.1f} ms (GUI thread busy "
         f"{r['max_scroll_stall_cpu_ms']:.1f} ms of it)", f"<= {TARGETS['max_scroll_stall_ms']:.0f} ms"),
        (f"max GUI stall, scrolling a person ({r['person_faces']:,} faces)",
         f"{r['max_person_scroll_stall_ms']:.1f} ms "
         f"(busy {r['max_person_scroll_stall_cpu_ms']:.1f} ms)", f"<= {TARGETS['max_person_scroll_stall_ms']:.0f} ms"),
        ("max GUI stall during a scan", f"{r['max_scan_stall_ms']:.1f} ms (busy {r['max_scan_stall_cpu_ms']:.1f} ms)",
         f"<= {TARGETS['max_scan_stall_ms']:.0f} ms"),
        ("scan", f"{r['scan_photos']}, {r['scan_s']:.1f} s, "
                 + (f"with faces: {r['scan_faces_found']} found" if r["scan_with_faces"] else "catalogue only"), ""),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    print(f"{'measure'.ljust(w0)}  {'result'.ljust(w1)}  target")
    print(f"{'-' * w0}  {'-' * w1}  ------")
    for a, b, c in rows:
        print(f"{a.ljust(w0)}  {b.ljust(w1)}  {c}".rstrip())
    print(f"machine: {r['cpus']} CPUs, load average {r['load_average']}")
    print("all targets met" if r["passed"] else "SOME TARGETS MISSED")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--photos", type=int, default=120, help="photos in the scanned folder")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the generated database in DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--first-screen-only", action="store_true",
                        help="measure the People view's first screen only (no scrolling, no scan)")
    parser.add_argument("--db", metavar="URL",
                        help="measure an existing library (a path, or a database URL where faceorg supports "
                             "one) instead of generating one; implies --first-screen-only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the models' provider notes are not part of the result
    result = run(args)
    if args.json:
        print(json.dumps(result))
    elif "max_scroll_stall_ms" not in result:
        print(f"first screen (People view): {result['first_screen_s']:.3f} s ({result['first_screen_cards']} cards), "
              f"target <= {first_screen_targets(args.faces)['first_screen_s']} s; load average "
              f"{result['load_average']}")
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
