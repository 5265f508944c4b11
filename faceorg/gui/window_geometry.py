"""Where the main window opens: a size that suits the screen it is on, and a saved geometry brought back onto
today's screens.

Qt's own ``restoreGeometry`` gives up when the screen's width changed much since the geometry was saved (a
laptop away from its big monitor, a lower resolution): the window then opens at Qt's fallback size, about
two thirds of the screen's height at the window's minimum width, and a maximized window no longer comes back
maximized. Here the saved bytes are read instead, and the normal geometry is moved onto a screen and clamped
to it; the maximized flag is kept whatever the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QMargins, QPoint, QRect, QSize

COMFORTABLE = QSize(1280, 840)  # the default window on a big screen (client area)
FRAME_GUESS = QMargins(4, 32, 4, 4)  # title bar and borders a window manager adds, before the window is shown
_MAGIC = 0x1D9D0CB  # QWidget::saveGeometry's first four bytes


@dataclass(frozen=True)
class SavedGeometry:
    """What ``QWidget.saveGeometry`` stored: the frame and the normal (not maximized) client geometry."""

    frame: QRect
    normal: QRect
    maximized: bool
    full_screen: bool

    def frame_margins(self) -> QMargins:
        """The window manager's decorations when the geometry was saved (a guess when that is not plausible)."""
        if self.maximized or self.full_screen:
            return FRAME_GUESS  # a maximized frame says little about the normal window's decorations
        m = QMargins(self.normal.left() - self.frame.left(), self.normal.top() - self.frame.top(),
                     self.frame.right() - self.normal.right(), self.frame.bottom() - self.normal.bottom())
        plausible = all(0 <= v <= 64 for v in (m.left(), m.top(), m.right(), m.bottom()))
        return m if plausible else FRAME_GUESS


def read_saved_geometry(data: QByteArray) -> SavedGeometry | None:
    """The geometry in ``data`` as ``QWidget.saveGeometry`` writes it (format 1.x to 3.x); None when empty,
    damaged or of another format."""
    if data.isEmpty():
        return None
    stream = QDataStream(data, QIODevice.OpenModeFlag.ReadOnly)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    magic = stream.readUInt32()
    major = stream.readUInt16()
    stream.readUInt16()  # minor version
    if magic != _MAGIC or major > 3:
        return None
    frame, normal = QRect(), QRect()
    stream >> frame
    stream >> normal
    stream.readInt32()  # screen number: screens are matched by position instead
    maximized = stream.readUInt8() != 0
    full_screen = stream.readUInt8() != 0
    if stream.status() != QDataStream.Status.Ok or not normal.isValid():
        return None
    return SavedGeometry(frame, normal, maximized, full_screen)


def default_rect(available: QRect, minimum: QSize, frame: QMargins = FRAME_GUESS) -> QRect:
    """The client rectangle of a new window on a screen whose free area is ``available``: a comfortable size,
    or all of the free area on a screen smaller than that, centered, never smaller than ``minimum``."""
    room = _room(available, frame)
    size = COMFORTABLE.boundedTo(room).expandedTo(minimum)
    rect = QRect(QPoint(0, 0), size)
    rect.moveCenter(available.center())
    return fit_rect(rect, available, minimum, frame)


def fit_rect(rect: QRect, available: QRect, minimum: QSize, frame: QMargins = FRAME_GUESS) -> QRect:
    """``rect`` (a client rectangle) no larger than the free area ``available`` with its ``frame``, and moved
    so that the whole frame lies in it: the top-left corner wins when even ``minimum`` does not fit."""
    size = rect.size().boundedTo(_room(available, frame)).expandedTo(minimum)
    left = min(rect.left(), available.right() - frame.right() - size.width() + 1)
    top = min(rect.top(), available.bottom() - frame.bottom() - size.height() + 1)
    left = max(left, available.left() + frame.left())
    top = max(top, available.top() + frame.top())
    return QRect(QPoint(left, top), size)


def roomy_size(wanted: QSize, available: QRect, frame: QMargins = FRAME_GUESS) -> QSize:
    """``wanted`` for a dialog, or nine tenths of the free area ``available`` (less its frame) where smaller."""
    room = _room(available, frame)
    return wanted.boundedTo(QSize(room.width() * 9 // 10, room.height() * 9 // 10))


def best_screen_area(rect: QRect, areas: list[QRect]) -> int | None:
    """The index of the area ``rect`` overlaps most; None when it overlaps none (a monitor since unplugged)."""
    best, best_overlap = None, 0
    for i, area in enumerate(areas):
        overlap = rect.intersected(area)
        covered = overlap.width() * overlap.height() if overlap.isValid() else 0
        if covered > best_overlap:
            best, best_overlap = i, covered
    return best


def _room(available: QRect, frame: QMargins) -> QSize:
    return QSize(available.width() - frame.left() - frame.right(),
                 available.height() - frame.top() - frame.bottom())
