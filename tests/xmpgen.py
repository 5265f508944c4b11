"""Photos with face names written by exiftool, for the XMP tests: real LFW faces, rotated and tagged with an
EXIF orientation, regions placed with Pillow's own pixel operations (not faceorg's orientation maths)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

# The pixel operation that turns an upright image into the stored one for each EXIF orientation (the inverse
# of what a viewer applies).
TO_STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
TILE = 250
# Where the face is in an LFW photo (deep-funneled: centred), generously: x, y, w, h in tile pixels.
FACE_IN_TILE = (68, 62, 114, 128)


def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl)")
    return path


def run_exiftool(*args: str | Path) -> str:
    done = subprocess.run([exiftool(), "-q", "-q", *map(str, args)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def side_by_side(sources: list[Path]) -> Image.Image:
    """LFW photos in a row, upright."""
    out = Image.new("RGB", (TILE * len(sources), TILE))
    for i, src in enumerate(sources):
        with Image.open(src) as im:
            out.paste(im.convert("RGB"), (i * TILE, 0))
    return out


def face_boxes(count: int) -> list[tuple[int, int, int, int]]:
    """The upright pixel box of each tile's face."""
    x, y, w, h = FACE_IN_TILE
    return [(i * TILE + x, y, w, h) for i in range(count)]


def stored_box(upright_size: tuple[int, int], box: tuple[int, int, int, int],
               orientation: int) -> tuple[float, float, float, float]:
    """``box`` of the upright image as a normalised box of the stored image, found by drawing it and applying
    the same pixel operation as the photo (top-left x, y, w, h)."""
    mask = Image.new("L", upright_size)
    x, y, w, h = box
    ImageDraw.Draw(mask).rectangle((x, y, x + w - 1, y + h - 1), fill=255)
    op = TO_STORED[orientation]
    if op is not None:
        mask = mask.transpose(op)
    left, top, right, bottom = mask.getbbox() or (0, 0, 0, 0)
    sw, sh = mask.size
    return (left / sw, top / sh, (right - left) / sw, (bottom - top) / sh)


def save_oriented(upright: Image.Image, path: Path, orientation: int) -> tuple[int, int]:
    """Save ``upright`` as stored with EXIF ``orientation``; the stored size."""
    op = TO_STORED[orientation]
    stored = upright.transpose(op) if op is not None else upright.copy()
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, quality=95, exif=exif.tobytes())
    return stored.size


def mwg_arg(names: list[str], boxes: list[tuple[float, float, float, float]], size: tuple[int, int]) -> str:
    """exiftool's argument writing MWG regions (centre-based areas)."""
    items = ",".join(
        f"{{Area={{X={x + w / 2:.6f},Y={y + h / 2:.6f},W={w:.6f},H={h:.6f},Unit=normalized}},Name={n},Type=Face}}"
        for n, (x, y, w, h) in zip(names, boxes))
    return f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={size[0]},H={size[1]},Unit=pixel}},RegionList=[{items}]}}"


def mp_arg(names: list[str], boxes: list[tuple[float, float, float, float]]) -> str:
    """exiftool's argument writing Microsoft Photo regions (top-left rectangles; "|," escapes a comma)."""
    items = ",".join(f"{{PersonDisplayName={n},Rectangle={x:.6f}|, {y:.6f}|, {w:.6f}|, {h:.6f}}}"
                     for n, (x, y, w, h) in zip(names, boxes))
    return f"-XMP-MP:RegionInfoMP={{Regions=[{items}]}}"


def write_names(photo: Path, names: list[str], upright_boxes: list[tuple[int, int, int, int]], orientation: int,
                upright_size: tuple[int, int], *, fmt: str, where: str) -> Path:
    """Write ``names`` at ``upright_boxes`` with exiftool as ``fmt`` (mwg | mp) regions, into the photo
    (``where="embedded"``) or a new sidecar (``"jpg.xmp"``: photo.jpg.xmp, ``"xmp"``: photo.xmp); the file."""
    stored = [stored_box(upright_size, b, orientation) for b in upright_boxes]
    size = upright_size if orientation < 5 else (upright_size[1], upright_size[0])
    arg = mwg_arg(names, stored, size) if fmt == "mwg" else mp_arg(names, stored)
    target = (photo if where == "embedded" else photo.with_name(photo.name + ".xmp") if where == "jpg.xmp"
              else photo.with_suffix(".xmp"))
    run_exiftool("-overwrite_original", arg, target)
    return target
