"""Write small DNG files for tests: a Bayer mosaic made from an RGB image, optionally with a JPEG preview.

A hand-written little-endian TIFF writer (no dependency): the raw CFA image (RGGB, 16-bit, uncompressed) in
IFD 0, or, with a preview, the preview JPEG in IFD 0 (NewSubFileType 1, as cameras and Adobe's converter
store it) and the raw image in its SubIFD. Enough of DNG 1.4 for LibRaw: DNGVersion, UniqueCameraModel,
the CFA layout, black and white levels, a colour matrix (XYZ to linear sRGB: the mosaic is linear sRGB) and the
as-shot neutral (1, 1, 1), and the EXIF DateTimeOriginal.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 1, 2, 3, 4, 5, 10
_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, SRATIONAL: 8}
_FORMAT = {BYTE: "B", SHORT: "H", LONG: "I"}
WHITE = 65535
# XYZ (D65) to linear sRGB, x 10000: the colour matrix of a camera whose raw channels are linear sRGB.
XYZ_TO_SRGB = [32406, -15372, -4986, -9689, 18758, 415, 557, -2040, 10570]

Entry = tuple[int, list[int] | list[tuple[int, int]] | str | bytes]  # (type, values)


def _pack(kind: int, values: list[int] | list[tuple[int, int]] | str | bytes) -> tuple[int, bytes]:
    if kind == ASCII:
        assert isinstance(values, str)
        raw = values.encode() + b"\0"
        return len(raw), raw
    if kind == BYTE and isinstance(values, bytes):
        return len(values), values
    assert isinstance(values, list)
    if kind in (RATIONAL, SRATIONAL):
        fmt = "<ii" if kind == SRATIONAL else "<II"
        return len(values), b"".join(struct.pack(fmt, *v) for v in values)  # type: ignore[misc]
    return len(values), struct.pack(f"<{len(values)}{_FORMAT[kind]}", *values)


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray(b"II*\0\0\0\0\0")

    def blob(self, data: bytes) -> int:
        if len(self.out) % 2:
            self.out += b"\0"
        offset = len(self.out)
        self.out += data
        return offset

    def ifd(self, entries: dict[int, Entry], next_ifd: int = 0) -> int:
        """Write an IFD (values that do not fit in 4 bytes go right after it); returns its offset."""
        if len(self.out) % 2:
            self.out += b"\0"
        start = len(self.out)
        tags = sorted(entries)
        extra_at = start + 2 + 12 * len(tags) + 4
        table, extra = bytearray(struct.pack("<H", len(tags))), bytearray()
        for tag in tags:
            kind, values = entries[tag]
            count, raw = _pack(kind, values)
            if len(raw) <= 4:
                field = raw.ljust(4, b"\0")
            else:
                field = struct.pack("<I", extra_at + len(extra))
                extra += raw + (b"\0" if len(raw) % 2 else b"")
            table += struct.pack("<HHI", tag, kind, count) + field
        table += struct.pack("<I", next_ifd)
        self.out += table + extra
        return start


def bayer_mosaic(rgb: np.ndarray) -> np.ndarray:
    """An RGGB mosaic (uint16, linear light) of an sRGB uint8 image (even width and height)."""
    linear = (np.asarray(rgb, np.float64) / 255.0) ** 2.2 * WHITE
    h, w = linear.shape[:2]
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = linear[0::2, 0::2, 0]
    cfa[0::2, 1::2] = linear[0::2, 1::2, 1]
    cfa[1::2, 0::2] = linear[1::2, 0::2, 1]
    cfa[1::2, 1::2] = linear[1::2, 1::2, 2]
    return cfa


def write_dng(path: Path, upright: Image.Image, *, orientation: int = 1, preview_side: int | None = None,
              preview: Image.Image | None = None, taken: str = "2022:05:06 07:08:09") -> Path:
    """A DNG of ``upright`` (RGB) stored as a camera would with EXIF ``orientation`` (1, 3, 6 or 8); with
    ``preview_side``, a JPEG preview of that long side (stored unrotated, without EXIF, as cameras do),
    rendered from ``preview`` (upright) when given, else from the photo itself."""
    from tests.imagegen import STORE_FOR_ORIENTATION

    stored = upright.convert("RGB")
    for op in STORE_FOR_ORIENTATION[orientation]:
        stored = stored.transpose(op)
    w, h = stored.size
    stored = stored.crop((0, 0, w - w % 2, h - h % 2))
    w, h = stored.size
    cfa = bayer_mosaic(np.asarray(stored))
    writer = _Writer()
    strip = writer.blob(cfa.astype("<u2").tobytes())
    dng: dict[int, Entry] = {
        50706: (BYTE, [1, 4, 0, 0]),  # DNGVersion
        50707: (BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        50708: (ASCII, "faceorg test camera"),  # UniqueCameraModel
        271: (ASCII, "faceorg"),  # Make
        272: (ASCII, "test camera"),  # Model
        274: (SHORT, [orientation]),
        306: (ASCII, taken),  # DateTime
        50721: (SRATIONAL, [(v, 10000) for v in XYZ_TO_SRGB]),  # ColorMatrix1: the camera sees linear sRGB
        50778: (SHORT, [21]),  # CalibrationIlluminant1: D65
        50728: (RATIONAL, [(1, 1), (1, 1), (1, 1)]),  # AsShotNeutral
    }
    raw: dict[int, Entry] = {
        254: (LONG, [0]),  # NewSubFileType: the main image
        256: (LONG, [w]), 257: (LONG, [h]), 258: (SHORT, [16]), 259: (SHORT, [1]),
        262: (SHORT, [32803]),  # PhotometricInterpretation: CFA
        273: (LONG, [strip]), 277: (SHORT, [1]), 278: (LONG, [h]), 279: (LONG, [cfa.size * 2]), 284: (SHORT, [1]),
        33421: (SHORT, [2, 2]),  # CFARepeatPatternDim
        33422: (BYTE, bytes([0, 1, 1, 2])),  # CFAPattern: RGGB
        50714: (SHORT, [0]),  # BlackLevel
        50717: (LONG, [WHITE]),  # WhiteLevel
    }
    if preview_side is None:
        first = writer.ifd({**dng, **raw})
    else:
        small = stored.copy()
        if preview is not None:
            small = preview.convert("RGB")
            for op in STORE_FOR_ORIENTATION[orientation]:
                small = small.transpose(op)
        small.thumbnail((preview_side, preview_side))
        jpeg = io.BytesIO()
        small.save(jpeg, "JPEG", quality=92)
        preview = writer.blob(jpeg.getvalue())
        sub = writer.ifd(raw)
        first = writer.ifd({**dng,
                            254: (LONG, [1]),  # a reduced-resolution copy
                            256: (LONG, [small.width]), 257: (LONG, [small.height]), 258: (SHORT, [8, 8, 8]),
                            259: (SHORT, [7]),  # JPEG
                            262: (SHORT, [6]), 277: (SHORT, [3]), 273: (LONG, [preview]),
                            279: (LONG, [len(jpeg.getvalue())]), 278: (LONG, [small.height]),
                            330: (LONG, [sub])})  # SubIFDs
    writer.out[4:8] = struct.pack("<I", first)
    path.write_bytes(bytes(writer.out))
    return path
