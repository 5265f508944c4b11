"""A photo's face names from its sidecars and its embedded XMP, each source reported when it is broken."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faceorg.xmp.orientation import Box, overlap, stored_to_upright
from faceorg.xmp.packet import embedded_packet
from faceorg.xmp.rdf import XmpError, parse, properties
from faceorg.xmp.regions import Region, XmpNames, read_names
from faceorg.xmp.sidecar import existing_sidecars

#: Regions of different names overlapping this much mark one face with several names.
SAME_BOX = 0.6
#: Sidecars larger than this are not XMP a photo tool wrote; they are reported and skipped.
MAX_SIDECAR = 16 << 20


@dataclass(frozen=True)
class UprightRegion:
    """A named region as a normalised box of the upright photo, and the file it came from."""

    name: str
    box: Box
    format: str
    source: str


@dataclass
class PhotoNames:
    """Everything the XMP of one photo says about its people, ready to match with its faces."""

    regions: list[UprightRegion] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    hint_source: str | None = None
    problems: list[str] = field(default_factory=list)  # broken sidecars, several names for one box
    skipped: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the files read that held names


def _read_source(data: bytes, image_size: tuple[int, int] | None) -> XmpNames:
    return read_names(properties(parse(data)), image_size)


def _sources(photo: Path, embedded: bool, problems: list[str]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for side in existing_sidecars(photo):
        try:
            if side.stat().st_size > MAX_SIDECAR:
                problems.append(f"{side}: too large for a sidecar, skipped")
                continue
            found.append((str(side), side.read_bytes()))
        except OSError as exc:
            problems.append(f"{side}: cannot read ({exc.strerror or exc})")
    if embedded:
        try:
            packet = embedded_packet(photo)
        except (OSError, ValueError) as exc:
            problems.append(f"{photo}: cannot read its embedded XMP ({exc})")
        else:
            if packet:
                found.append((str(photo), packet))
    return found


def _one_name_per_box(regions: list[UprightRegion], problems: list[str]) -> list[UprightRegion]:
    """Drop regions that mark one face with different names (each such face reported once)."""
    clash: set[int] = set()
    for i, a in enumerate(regions):
        for j in range(i + 1, len(regions)):
            b = regions[j]
            if a.name != b.name and overlap(a.box, b.box) >= SAME_BOX:
                clash |= {i, j}
    reported: set[int] = set()
    for i in sorted(clash):
        if i in reported:
            continue
        group = [j for j in sorted(clash) if overlap(regions[i].box, regions[j].box) >= SAME_BOX]
        reported |= set(group)
        names = ", ".join(dict.fromkeys(regions[j].name for j in group))
        problems.append(f"{regions[i].source}: several names for one face ({names}); none applied")
    return [r for i, r in enumerate(regions) if i not in clash]


def read_photo_names(photo: str | Path, orientation: int = 1, stored_size: tuple[int, int] | None = None, *,
                     embedded: bool = True) -> PhotoNames:
    """The face names of a photo: regions from the first source that has any (``photo.jpg.xmp``, then
    ``photo.xmp``, then the embedded XMP: a sidecar is what tools edit), names without a box from all.

    ``orientation`` is the photo's EXIF orientation; region boxes come back in the upright photo.
    ``stored_size`` (the stored image's width and height) recognises regions a writer measured on the upright
    image. A broken source is reported in ``problems`` and skipped.
    """
    out = PhotoNames()
    chosen: list[Region] | None = None
    chosen_source = ""
    for source, data in _sources(Path(photo), embedded, out.problems):
        try:
            names = _read_source(data, stored_size)
        except XmpError as exc:
            out.problems.append(f"{source}: {exc}; skipped")
            continue
        if names.empty:
            continue
        out.sources.append(source)
        out.skipped += [f"{source}: {s}" for s in names.skipped]
        if chosen is None and names.regions:
            chosen, chosen_source = names.regions, source
        for hint in names.hints:
            if hint not in out.hints:
                out.hints.append(hint)
                out.hint_source = out.hint_source or source
    regions = [UprightRegion(r.name, r.box if r.upright else stored_to_upright(r.box, orientation), r.format,
                             chosen_source) for r in chosen or []]
    out.regions = _one_name_per_box(regions, out.problems)
    boxed = {r.name for r in regions}
    out.hints = [h for h in out.hints if h not in boxed]
    return out
