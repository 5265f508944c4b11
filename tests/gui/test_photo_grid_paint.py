"""The photo grid's paint path at 100k photos: no wait on Qt's thread pool per cell, no rows in the garbage
collector's way (each made a GUI-thread stall of 100-600 ms while scrolling on a busy machine)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from faceorg.people.photos import PhotoItem

REPO = Path(__file__).resolve().parents[2]

# In a fresh process, so that no other painting wakes Qt's GUI thread pool meanwhile.
PAINT_GRID = textwrap.dedent("""
    import os, sys
    from datetime import datetime
    from pathlib import Path
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
    from faceorg.gui.photo_grid import PHOTO_CELL, PhotoGrid
    from faceorg.gui.photo_thumbnails import make_photo_cache
    from faceorg.people.photos import PhotoItem
    from faceorg.store import open_library

    def pool_wakeups():  # how often Qt's pool threads were woken for work (voluntary context switches)
        n = 0
        for t in os.listdir("/proc/self/task"):
            if Path(f"/proc/self/task/{t}/comm").read_text().strip() == "Thread (pooled)":
                status = Path(f"/proc/self/task/{t}/status").read_text()
                n += int(status.split("voluntary_ctxt_switches:")[1].split()[0])
        return n

    app = QApplication(["paint"])
    library = open_library(Path(sys.argv[1]))
    cache = make_photo_cache(library, 1.0)
    grid = PhotoGrid(cache)
    grid.photos.set_items([PhotoItem(i, f"/none/{i}.jpg", datetime(2020, 1, 1), True, 40, 30)
                           for i in range(1, 101)])
    screen = QImage(1600, 1000, QImage.Format.Format_RGB32)
    p = QPainter(screen)
    # What an item view paints its cells with (QListView's painter has both on).
    p.setRenderHints(QPainter.RenderHint.TextAntialiasing | QPainter.RenderHint.SmoothPixmapTransform)
    option = QStyleOptionViewItem()
    option.palette = grid.palette()

    def paint_screen():  # 40 cells, each a placeholder (the photos are not there)
        for row in range(40):
            option.rect = QRect((row % 8) * PHOTO_CELL.width(), (row // 8) * PHOTO_CELL.height(),
                                PHOTO_CELL.width(), PHOTO_CELL.height())
            grid.itemDelegate().paint(p, option, grid.photos.index(row))

    paint_screen()  # the placeholder is drawn once (on the pool), then reused
    before = pool_wakeups()
    for _ in range(10):
        paint_screen()
    print(pool_wakeups() - before)
    p.end()
    cache.stop()
    library.close()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
def test_painting_the_photo_grid_never_hands_thumbnails_to_qts_thread_pool(tmp_path: Path) -> None:
    """An item view paints with SmoothPixmapTransform on; with it Qt draws an image of 96 lines or more in
    slices on its GUI thread pool and waits for them, which on a loaded machine costs each cell a wait
    for pool threads to be scheduled. Thumbnails are drawn at their own size, by the direct blit."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", PAINT_GRID, str(tmp_path / "lib.sqlite")], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    wakeups = int(out.stdout.split()[-1])
    assert wakeups < 5, out.stderr  # before: about three per cell (1169 for these 400 cells)


def test_a_grid_of_many_photos_adds_nothing_to_the_garbage_collectors_work(qtbot) -> None:  # type: ignore[no-untyped-def]
    from faceorg.gui.photo_grid import PhotosModel

    model = PhotosModel()
    gc.collect()
    tracked = len(gc.get_objects())
    items = [PhotoItem(i, f"/photos/IMG_{i:06d}.jpg", datetime(2020, 1, 1, i % 24), i % 7 > 0, 4000, 3000)
             for i in range(1, 20_001)]
    model.set_items(items[:5000])
    model.append(items[5000:])
    del items
    gc.collect()
    assert model.rowCount() == 20_000 and model.item_at(19_999).id == 20_000
    assert len(gc.get_objects()) - tracked < 100  # 20k rows, none of them for a full collection to visit
