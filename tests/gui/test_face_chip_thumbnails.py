"""Face chip thumbnails (People, Person, Review and Faces views) are made by Pillow and numpy on the loader
thread, as the photo grid's are (tests/gui/test_photo_grid_paint.py): QImage.scaled and a clip-path QPainter
there held Python's GIL, the painter waiting for Qt's pool, so the GUI thread waited for each chip made."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.gui.test_photo_grid_paint import ONE_PHOTO_LIBRARY, POOL_WAKEUPS

REPO = Path(__file__).resolve().parents[2]

MAKE_CHIPS = textwrap.dedent("""
    import io, os, sys, time
    from pathlib import Path
    from PIL import Image
    from PySide6.QtWidgets import QApplication
    from faceorg.gui.thumbnails import ThumbnailCache
    from faceorg.store import open_library
    from faceorg.store.models import Face, FaceChip, LibraryFolder, Photo, PhotoStatus

    POOL_WAKEUPS
    ONE_PHOTO_LIBRARY

    folder = Path(sys.argv[1])
    chip = io.BytesIO()
    Image.new("RGB", (150, 150), (40, 120, 200)).save(chip, "JPEG", quality=95)
    app = QApplication(["chips"])
    library, photo_id = one_photo_library(folder)
    with library.transaction() as s:
        faces = [Face(photo_id=photo_id, x=0, y=0, w=10, h=10, landmarks=[0.0] * 10, score=1.0) for _ in range(8)]
        s.add_all(faces)
        s.flush()
        s.add_all([FaceChip(face_id=face.id, image=chip.getvalue()) for face in faces])
        ids = [face.id for face in faces]
    cache = ThumbnailCache(library, 128, radius=10)  # as the People view's cards
    before = pool_wakeups()
    cache.request(ids)
    end = time.monotonic() + 60
    while any(cache.get(i) is None for i in ids) and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    image = cache.get(ids[0])
    print(pool_wakeups() - before, image.width(), image.pixelColor(64, 64).name(), image.pixelColor(0, 0).alpha())
    cache.stop()
    library.close()
""").replace("POOL_WAKEUPS\n", POOL_WAKEUPS).replace("ONE_PHOTO_LIBRARY\n", ONE_PHOTO_LIBRARY)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
def test_face_chips_are_scaled_without_qt_painting_on_the_loader_thread(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", MAKE_CHIPS, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    wakeups, width, centre, corner_alpha = out.stdout.split()[-4:]
    rgb = [int(centre[i:i + 2], 16) for i in (1, 3, 5)]
    assert int(width) == 128 and all(abs(a - b) <= 3 for a, b in zip(rgb, (40, 120, 200), strict=True))
    assert int(corner_alpha) == 0  # the rounded corner
    assert int(wakeups) == 0, out.stderr  # before: 127 to 136 for these 8 chips


def test_a_chip_fills_its_square_from_the_centre_with_rounded_corners(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A chip that is not square (a face drawn near a photo's edge) is centre-cropped, not fitted."""
    from faceorg.gui.thumb_pixels import rounded_thumbnail
    from faceorg.gui.thumbnails import chip_pixels

    chip = np.zeros((100, 200, 3), np.uint8)
    chip[:, :50] = (230, 0, 0)  # red left quarter: cut off
    chip[:, 50:150] = (0, 200, 0)  # green centre: fills the square
    chip[:, 150:] = (0, 0, 230)
    data = io.BytesIO()
    Image.fromarray(chip).save(data, "PNG")
    pixels = chip_pixels(data.getvalue())
    assert pixels is not None and pixels.shape == (100, 200, 3)
    image = rounded_thumbnail(pixels, 104, 6, 1.0, crop=True)
    assert (image.width(), image.height()) == (104, 104)
    colour = image.pixelColor
    assert colour(3, 52).getRgb() == (0, 200, 0, 255) and colour(100, 52).getRgb() == (0, 200, 0, 255)
    assert colour(0, 0).alpha() == 0 and colour(52, 0).alpha() == 255  # a rounded corner, a straight side
    doubled = rounded_thumbnail(pixels, 208, 6, 2.0, crop=True)  # a high-density screen
    assert doubled.width() == 208 and doubled.devicePixelRatio() == 2.0
    assert doubled.pixelColor(2, 2).alpha() == 0  # 12 device pixels of radius (6 would cover this one)
