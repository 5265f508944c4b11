"""Sidecar file names: ``photo.jpg.xmp`` (digiKam, darktable, Immich) and ``photo.xmp`` (Lightroom)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Naming = Literal["jpg.xmp", "xmp"]
NAMINGS: tuple[Naming, ...] = ("jpg.xmp", "xmp")


def sidecar_path(photo: str | Path, naming: Naming = "jpg.xmp") -> Path:
    """The sidecar a tool of the given naming would use for ``photo`` (``jpg.xmp``: the full name plus .xmp)."""
    p = Path(photo)
    return p.with_name(p.name + ".xmp") if naming == "jpg.xmp" else p.with_suffix(".xmp")


def existing_sidecars(photo: str | Path) -> list[Path]:
    """The photo's sidecars that exist: ``photo.jpg.xmp`` first, then ``photo.xmp`` (either as ``.XMP`` too)."""
    out: list[Path] = []
    for naming in NAMINGS:
        base = sidecar_path(photo, naming)
        for candidate in (base, base.with_suffix(".XMP")):
            if candidate != Path(photo) and candidate.is_file() and candidate not in out:
                out.append(candidate)
                break
    return out
