"""Find the XMP packet embedded in a photo file, without decoding the image."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_START, _END = b"<x:xmpmeta", b"</x:xmpmeta>"


def _jpeg_packet(f: mmap.mmap) -> bytes | None:
    """The standard XMP segment of a JPEG (APP1), reading segment headers only."""
    pos = 2
    while pos + 4 <= len(f):
        if f[pos] != 0xFF:
            return None
        marker = f[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", f[pos + 2:pos + 4])
        body = f[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body.startswith(_JPEG_XMP):
            return bytes(body[len(_JPEG_XMP):])
        pos += 2 + length
    return None


def embedded_packet(path: str | Path) -> bytes | None:
    """The photo's embedded XMP packet (the ``x:xmpmeta`` element), or None when it has none.

    JPEGs are read segment by segment; other formats (TIFF, PNG, HEIC, RAW) are searched for the packet.
    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as f:
            if f[:2] == b"\xff\xd8":
                return _jpeg_packet(f)
            start = f.find(_START)
            if start < 0:
                return None
            end = f.find(_END, start)
            return bytes(f[start:end + len(_END)]) if end >= 0 else None
