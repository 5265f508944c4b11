"""The app's SVG icons, found in ``resources/`` of a source checkout, a PyInstaller bundle or an install."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

RESOURCES_ENV = "FACEORG_RESOURCES"


@cache
def resources_dir() -> Path | None:
    """The folder holding ``faceorg.svg`` and ``icons/``, or None when none is found."""
    candidates = []
    if os.environ.get(RESOURCES_ENV):
        candidates.append(Path(os.environ[RESOURCES_ENV]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(__file__).resolve().parents[2] / "resources")  # source checkout
    candidates.append(Path(sys.prefix) / "share" / "faceorg" / "resources")
    for path in candidates:
        if (path / "faceorg.svg").is_file():
            return path
    return None


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon when it is missing: buttons keep their text)."""
    base = resources_dir()
    path = base / "icons" / f"{name}.svg" if base else None
    return QIcon(str(path)) if path and path.is_file() else QIcon()


@cache
def app_icon() -> QIcon:
    base = resources_dir()
    return QIcon(str(base / "faceorg.svg")) if base else QIcon()


def with_selected_color(base: QIcon, color: QColor, sizes: tuple[int, ...] = (16, 20, 24, 32, 48)) -> QIcon:
    """``base``, drawn in ``color`` where it is selected (the icons are dark lines: on a highlighted row Qt
    only tints them with the highlight, which leaves them barely visible)."""
    out = QIcon(base)
    for size in sizes:
        pixmap = base.pixmap(size, size)
        if pixmap.isNull():
            continue
        tinted = QPixmap(pixmap.size())
        tinted.setDevicePixelRatio(pixmap.devicePixelRatio())
        tinted.fill(QColor(0, 0, 0, 0))
        p = QPainter(tinted)
        p.drawPixmap(0, 0, pixmap)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        p.fillRect(tinted.rect(), color)
        p.end()
        out.addPixmap(tinted, QIcon.Mode.Selected)
    return out
