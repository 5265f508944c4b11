"""The photo grid at 100k photos: no wait on Qt's thread pool per cell painted or per thumbnail made, no rows
in the garbage collector's way (each made GUI-thread stalls of 100-600 ms while scrolling on a busy machine)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from faceorg.people.photos import PhotoItem

REPO = Path(__file__).resolve().parents[2]

# Counts how often Qt's pool threads were woken for work (voluntary context switches); pasted into the scripts
# below, which run in a fresh process so that no other painting wakes Qt's GUI thread pool meanwhile.
POOL_WAKEUPS = textwrap.dedent("""
    def pool_wakeups():
        n = 0
        for t in os.listdir("/proc/self/task"):
            if Path(f"/proc/self/task/{t}/comm").read_text().strip() == "Thread (pooled)":
                status = Path(f"/proc/self/task/{t}/status").read_text()
                n += int(status.split("voluntary_ctxt_switches:")[1].split()[0])
        return n
""")

# A library of one photo (folder / "a.jpg"), pasted into the scripts below like POOL_WAKEUPS.
ONE_PHOTO_LIBRARY = textwrap.dedent("""
    def one_photo_library(folder):
        library = open_library(folder / "lib.sqlite")
        with library.transaction() as s:
            f = LibraryFolder(path=str(folder))
            s.add(f)
            s.flush()
            photo = Photo(folder_id=f.id, path=str(folder / "a.jpg"), size=1, mtime_ns=0, status=PhotoStatus.OK)
            s.add(photo)
            s.flush()
            return library, photo.id
""")

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

    POOL_WAKEUPS

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
PAINT_GRID = PAINT_GRID.replace("POOL_WAKEUPS\n", POOL_WAKEUPS)


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


MAKE_THUMBNAIL = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from PIL import Image
    from PySide6.QtWidgets import QApplication
    from faceorg.gui.photo_thumbnails import make_photo_cache
    from faceorg.store import open_library
    from faceorg.store.models import LibraryFolder, Photo, PhotoStatus

    POOL_WAKEUPS
    ONE_PHOTO_LIBRARY

    folder = Path(sys.argv[1])
    Image.new("RGB", (1600, 1200), (40, 120, 200)).save(folder / "a.jpg", quality=90)
    app = QApplication(["thumbnails"])
    library, photo_id = one_photo_library(folder)
    cache = make_photo_cache(library, 1.0)
    before = pool_wakeups()
    assert cache.get(photo_id) is None
    end = time.monotonic() + 60
    while cache.get(photo_id) is None and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    image = cache.get(photo_id)
    print(pool_wakeups() - before, image.width(), image.pixelColor(75, 75).name())
    cache.stop()
    library.close()
""")
MAKE_THUMBNAIL = MAKE_THUMBNAIL.replace("POOL_WAKEUPS\n", POOL_WAKEUPS).replace("ONE_PHOTO_LIBRARY\n",
                                                                                ONE_PHOTO_LIBRARY)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
def test_photo_thumbnails_are_made_without_qt_painting_on_the_loader_thread(tmp_path: Path) -> None:
    """QImage.scaled and a QPainter with a clip path hold Python's GIL on the loader thread (the painter
    waiting for Qt's pool meanwhile), so the GUI thread waited for each thumbnail made while it scrolled."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", MAKE_THUMBNAIL, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    wakeups, width, centre = out.stdout.split()[-3:]
    rgb = [int(centre[i:i + 2], 16) for i in (1, 3, 5)]
    assert int(width) == 150 and all(abs(a - b) <= 3 for a, b in zip(rgb, (40, 120, 200), strict=True))
    assert int(wakeups) == 0, out.stderr  # before: 6 to 10 for this one thumbnail


def test_a_photo_is_fitted_whole_in_its_square_with_rounded_corners() -> None:
    from faceorg.gui.thumb_pixels import qimage_from_bgra, square_thumbnail

    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, :200] = (230, 0, 0)  # red left half
    photo[:, 200:] = (0, 0, 230)  # blue right half
    image = qimage_from_bgra(square_thumbnail(photo, 150, 6))
    assert (image.width(), image.height()) == (150, 150)
    colour = image.pixelColor
    assert colour(20, 75).getRgb() == (230, 0, 0, 255) and colour(130, 75).getRgb() == (0, 0, 230, 255)
    assert colour(75, 10).alpha() == 0 and colour(75, 140).alpha() == 0  # bands above and below: 150 x 112
    assert colour(75, 19).alpha() == 255 and colour(75, 130).alpha() == 255
    assert colour(0, 19).alpha() == 0 and colour(0, 75).alpha() == 255  # a rounded corner, a straight side
    portrait = qimage_from_bgra(square_thumbnail(np.ascontiguousarray(photo.transpose(1, 0, 2)), 150, 6))
    assert portrait.pixelColor(75, 20).getRgb() == (230, 0, 0, 255) and portrait.pixelColor(5, 75).alpha() == 0
