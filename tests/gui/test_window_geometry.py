"""Where the main window opens on small, big and changed screens.

Each window runs in a fresh process on Qt's offscreen platform given a screen layout (its ``configfile``), so
a geometry saved on one layout is restored on another, as when a laptop leaves its big monitor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

OPEN_WINDOW = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from faceorg.gui.app import make_application
    from faceorg.gui.main_window import MainWindow
    from faceorg.store import open_library

    library_path, settings_path, action = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    app = make_application()
    library = open_library(Path(library_path))
    window = MainWindow(library, QSettings(settings_path, QSettings.Format.IniFormat))
    if "geometry" in action:  # the user moves and resizes the window
        window.show()
        window.setGeometry(*action["geometry"])
    if action.get("maximize"):
        window.showMaximized()
    else:
        window.show()
    QApplication.processEvents()
    g, f = window.geometry(), window.frameGeometry()
    screens = [s.availableGeometry() for s in app.screens()]
    print(json.dumps({"geometry": [g.x(), g.y(), g.width(), g.height()],
                      "frame": [f.x(), f.y(), f.width(), f.height()], "maximized": window.isMaximized(),
                      "screens": [[a.x(), a.y(), a.width(), a.height()] for a in screens]}))
    window.close()  # saves the geometry, as when the user quits
    library.close()
""")


def _screens(tmp_path: Path, *sizes: tuple[int, int]) -> str:
    """An offscreen platform with these screens side by side."""
    config = tmp_path / f"screens-{'-'.join(f'{w}x{h}' for w, h in sizes)}.json"
    x, screens = 0, []
    for i, (w, h) in enumerate(sizes):
        screens.append({"name": f"screen{i}", "x": x, "y": 0, "width": w, "height": h, "logicalDpi": 96,
                        "logicalBaseDpi": 96, "dpr": 1})
        x += w
    config.write_text(json.dumps({"screens": screens}))
    return f"offscreen:configfile={config}"


def _open(tmp_path: Path, platform: str, **action: Any) -> dict[str, Any]:
    """Open (and close) the main window in a fresh process; where it was and what the screens were."""
    env = dict(os.environ, QT_QPA_PLATFORM=platform, PYTHONPATH=str(REPO),
               FACEORG_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-c", OPEN_WINDOW, str(tmp_path / "lib.sqlite"),
                          str(tmp_path / "settings.ini"), json.dumps(action)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _inside(frame: list[int], area: list[int]) -> bool:
    x, y, w, h = frame
    ax, ay, aw, ah = area
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


@pytest.mark.parametrize("screen", [(1024, 768), (1280, 720)])
def test_a_new_window_on_a_small_screen_uses_most_of_it(tmp_path: Path, screen: tuple[int, int]) -> None:
    """Before: 1200x800 whatever the screen, so on 1024x768 and 1280x720 its bottom (and the status bar)
    lay below the screen, or a window manager shrank it to a fallback size."""
    opened = _open(tmp_path, _screens(tmp_path, screen))
    assert _inside(opened["frame"], opened["screens"][0]), opened
    assert opened["frame"][2] >= 0.95 * screen[0] and opened["frame"][3] >= 0.9 * screen[1], opened


def test_a_new_window_on_a_big_screen_is_a_comfortable_size_in_the_middle(tmp_path: Path) -> None:
    opened = _open(tmp_path, _screens(tmp_path, (2560, 1440)))
    x, y, w, h = opened["frame"]
    assert 1100 <= w <= 1600 and 750 <= h <= 1000, opened  # not stretched over a big monitor
    assert abs((x + w / 2) - 1280) <= 2 and abs((y + h / 2) - 720) <= 2, opened


def test_a_window_saved_on_a_big_screen_comes_back_on_a_small_one_clamped_not_shrunk(tmp_path: Path) -> None:
    """Before: Qt's restoreGeometry refused a geometry saved on a screen of a much different width and the
    window opened at Qt's fallback, 740x512 on a 1024x768 screen."""
    saved = _open(tmp_path, _screens(tmp_path, (1600, 1000)), geometry=[60, 40, 1500, 900])
    assert saved["geometry"] == [60, 40, 1500, 900]
    opened = _open(tmp_path, _screens(tmp_path, (1024, 768)))
    assert _inside(opened["frame"], opened["screens"][0]), opened
    assert opened["frame"][2] >= 0.95 * 1024 and opened["frame"][3] >= 0.95 * 768, opened
    back = _open(tmp_path, _screens(tmp_path, (1600, 1000)))
    assert _inside(back["frame"], back["screens"][0]), back


def test_a_window_left_on_a_monitor_since_unplugged_comes_back_onto_the_screen(tmp_path: Path) -> None:
    saved = _open(tmp_path, _screens(tmp_path, (1600, 1000), (1280, 720)), geometry=[2000, 60, 860, 600])
    assert saved["geometry"] == [2000, 60, 860, 600]
    opened = _open(tmp_path, _screens(tmp_path, (1600, 1000)))
    assert _inside(opened["frame"], opened["screens"][0]), opened
    assert opened["geometry"][2:] == [860, 600], opened  # it fits: moved, its size kept


def test_a_window_that_still_fits_comes_back_exactly_where_it_was(tmp_path: Path) -> None:
    platform = _screens(tmp_path, (1600, 1000), (1280, 720))
    _open(tmp_path, platform, geometry=[1700, 50, 1000, 600])
    assert _open(tmp_path, platform)["geometry"] == [1700, 50, 1000, 600]


def test_a_maximized_window_comes_back_maximized_on_a_smaller_screen(tmp_path: Path) -> None:
    """Before: maximized on 1600x1000, it came back on 1024x768 as a 740x512 window, no longer maximized."""
    saved = _open(tmp_path, _screens(tmp_path, (1600, 1000)), geometry=[100, 80, 1200, 800], maximize=True)
    assert saved["maximized"]
    opened = _open(tmp_path, _screens(tmp_path, (1024, 768)))
    assert opened["maximized"] and opened["frame"] == [0, 0, 1024, 768], opened
    assert _open(tmp_path, _screens(tmp_path, (1600, 1000)))["maximized"]


def test_a_damaged_or_foreign_saved_geometry_is_ignored() -> None:
    from PySide6.QtCore import QByteArray

    from faceorg.gui.window_geometry import read_saved_geometry

    assert read_saved_geometry(QByteArray()) is None
    assert read_saved_geometry(QByteArray(b"\x01\xd9\xd0\xcb\x00\x03\x00\x00\x00\x00")) is None  # cut short
    assert read_saved_geometry(QByteArray(b"not a geometry at all, but long enough" * 3)) is None
