"""EXIF orientation maths for normalised boxes.

MWG and Microsoft Photo regions are relative to the image as it is stored (before its EXIF orientation is
applied, as digiKam and exiftool treat them); faceorg stores boxes in the upright photo. A box is
``(x, y, w, h)``: top-left corner and size, as fractions of the image's width and height.
"""

from __future__ import annotations

from collections.abc import Callable

Box = tuple[float, float, float, float]
Point = tuple[float, float]

# Where a point of the stored image lands in the upright one, per EXIF orientation 1..8.
_TO_UPRIGHT: dict[int, Callable[[float, float], Point]] = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (1 - v, u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (v, 1 - u),
}
# The inverse maps: every orientation is its own inverse except 6 and 8, which undo each other.
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def transposes(orientation: int) -> bool:
    """Orientations 5..8 swap width and height."""
    return orientation in (5, 6, 7, 8)


def _map(box: Box, fn: Callable[[float, float], Point]) -> Box:
    x, y, w, h = box
    (ax, ay), (bx, by) = fn(x, y), fn(x + w, y + h)
    left, top = min(ax, bx), min(ay, by)
    return (left, top, abs(bx - ax), abs(by - ay))


def _orientation(value: int) -> int:
    return value if value in _TO_UPRIGHT else 1


def stored_to_upright(box: Box, orientation: int) -> Box:
    """A normalised box of the stored image as a normalised box of the upright image."""
    return _map(box, _TO_UPRIGHT[_orientation(orientation)])


def upright_to_stored(box: Box, orientation: int) -> Box:
    """A normalised box of the upright image as a normalised box of the stored image."""
    return _map(box, _TO_UPRIGHT[_INVERSE[_orientation(orientation)]])


def stored_size(upright_width: int, upright_height: int, orientation: int) -> tuple[int, int]:
    """The stored image's (width, height) from the upright one's."""
    return (upright_height, upright_width) if transposes(orientation) else (upright_width, upright_height)


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (any common unit)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def centre_inside(a: Box, b: Box) -> bool:
    """Whether the centre of ``a`` lies inside ``b``."""
    cx, cy = a[0] + a[2] / 2, a[1] + a[3] / 2
    return b[0] <= cx <= b[0] + b[2] and b[1] <= cy <= b[1] + b[3]


def same_place(a: Box, b: Box, min_overlap: float = 0.3) -> float:
    """How well two boxes mark the same face: their overlap, or half a point when each one's centre is inside
    the other (a tool's region is often much larger or smaller than a detector's box); 0 when neither."""
    iou = overlap(a, b)
    if iou >= min_overlap:
        return iou
    if centre_inside(a, b) and centre_inside(b, a):
        return max(iou, min_overlap / 2)
    return 0.0
