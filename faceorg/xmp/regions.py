"""The face names one XMP packet holds: regions with a box, and names without one.

Read in this order: MWG Regions (``mwg-rs:RegionList``: box centre, width and height), Microsoft Photo
(``MP:RegionInfo``: ``MPReg:Rectangle`` "x, y, w, h" from the top-left), then names without a box
(``Iptc4xmpExt:PersonInImage``, digiKam's ``TagsList`` "People/...", Lightroom's ``lr:hierarchicalSubject``
"People|..."). Boxes stay relative to the stored (not yet rotated) image, as the standards define them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faceorg.xmp.orientation import Box, overlap
from faceorg.xmp.rdf import DIGIKAM, IPTC_EXT, LR, MP, MPREG, MPRI, MWG_RS, ST_AREA, ST_DIM, number, q, text

#: Region types that are not a person's face (MWG: Pet, Focus, BarCode).
NOT_FACES = {"pet", "focus", "barcode"}
#: A region covering at least this fraction of both sides is a whole-frame tag, not a face.
WHOLE_FRAME = 0.95
#: digiKam's own face tags that are not anybody's name.
_DIGIKAM_INTERNAL = {"unknown", "unconfirmed", "ignored"}
PEOPLE_ROOTS = {"people", "persons", "person", "personen", "personnes", "personas"}


@dataclass(frozen=True)
class Region:
    """A named face region: ``box`` normalised to the stored image (top-left x, y, width, height)."""

    name: str
    box: Box
    format: str  # "mwg" | "mp"
    # Set when the writer gave the region relative to the upright image (AppliedToDimensions swapped).
    upright: bool = False


@dataclass
class XmpNames:
    """What one XMP packet says about the people in a photo."""

    regions: list[Region] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # names without a box, in order, no repeats
    skipped: list[str] = field(default_factory=list)  # regions left out, one phrase each (pet, whole frame...)

    @property
    def empty(self) -> bool:
        return not self.regions and not self.hints


def _clip(box: Box) -> Box | None:
    x, y, w, h = box
    x0, y0, x1, y1 = max(0.0, x), max(0.0, y), min(1.0, x + w), min(1.0, y + h)
    if x1 - x0 <= 1e-4 or y1 - y0 <= 1e-4:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def _mwg_regions(value: Any, image_size: tuple[int, int] | None, out: XmpNames) -> None:
    if not isinstance(value, dict):
        return
    dims = value.get(q(MWG_RS, "AppliedToDimensions"))
    dim_w = dim_h = None
    if isinstance(dims, dict):
        dim_w, dim_h = number(dims.get(q(ST_DIM, "w"))), number(dims.get(q(ST_DIM, "h")))
    # A writer that measured the regions on the upright image gives its (swapped) dimensions.
    upright = bool(image_size and dim_w and dim_h and image_size[0] != image_size[1]
                   and (round(dim_w), round(dim_h)) == (image_size[1], image_size[0]))
    items = value.get(q(MWG_RS, "RegionList"))
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = text(item.get(q(MWG_RS, "Name")))
        kind = text(item.get(q(MWG_RS, "Type"))) or "Face"
        area = item.get(q(MWG_RS, "Area"))
        if kind.lower() in NOT_FACES:
            out.skipped.append(f"{kind.lower()} region {name!r}")
            continue
        if not isinstance(area, dict):
            continue
        cx, cy, w, h = (number(area.get(q(ST_AREA, k))) for k in ("x", "y", "w", "h"))
        if cx is None or cy is None or w is None or h is None:
            out.skipped.append(f"region {name!r} without a usable area")
            continue
        if text(area.get(q(ST_AREA, "unit"))).lower() == "pixel":
            if not dim_w or not dim_h:
                out.skipped.append(f"region {name!r} in pixels without image dimensions")
                continue
            cx, w, cy, h = cx / dim_w, w / dim_w, cy / dim_h, h / dim_h
        _add(out, name, (cx - w / 2, cy - h / 2, w, h), "mwg", upright)


def _add(out: XmpNames, name: str, raw: Box, fmt: str, upright: bool = False) -> None:
    box = _clip(raw)
    if box is None:
        out.skipped.append(f"empty region {name!r}")
    elif box[2] >= WHOLE_FRAME and box[3] >= WHOLE_FRAME:
        out.skipped.append(f"whole-frame region {name!r}")
    elif not name:
        out.skipped.append("region without a name")
    else:
        out.regions.append(Region(name=name, box=box, format=fmt, upright=upright))


def _mp_regions(value: Any, out: XmpNames) -> None:
    if not isinstance(value, dict):
        return
    items = value.get(q(MPRI, "Regions"))
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = text(item.get(q(MPREG, "PersonDisplayName")))
        rect = text(item.get(q(MPREG, "Rectangle")))
        if not rect:
            _hint(out, name)  # a name for the whole photo
            continue
        try:
            x, y, w, h = (float(p) for p in rect.split(","))
        except ValueError:
            out.skipped.append(f"region {name!r} with an unreadable rectangle {rect!r}")
            continue
        _add(out, name, (x, y, w, h), "mp")


def _hint(out: XmpNames, name: str) -> None:
    name = name.strip()
    if name and name not in out.hints:
        out.hints.append(name)


def _tag_names(items: Any, separator: str) -> list[str]:
    """Leaf names of "People<sep>...<sep>Name" keyword paths."""
    names = []
    for item in items if isinstance(items, list) else [items]:
        parts = [p.strip() for p in text(item).split(separator)]
        if len(parts) >= 2 and parts[0].lower() in PEOPLE_ROOTS and parts[-1].lower() not in _DIGIKAM_INTERNAL:
            names.append(parts[-1])
    return names


def read_names(props: dict[str, Any], image_size: tuple[int, int] | None = None) -> XmpNames:
    """The names in one packet's properties (see :func:`faceorg.xmp.rdf.properties`).

    ``image_size``: the stored image's (width, height), to recognise regions measured on the upright image.
    """
    out = XmpNames()
    _mwg_regions(props.get(q(MWG_RS, "Regions")), image_size, out)
    mwg = list(out.regions)
    _mp_regions(props.get(q(MP, "RegionInfo")), out)
    # Tools that write both (digiKam, exiftool's MWG composite) repeat each face: keep the MWG copy.
    out.regions = mwg + [r for r in out.regions[len(mwg):]
                         if not any(m.name == r.name and overlap(m.box, r.box) >= 0.5 for m in mwg)]
    people = props.get(q(IPTC_EXT, "PersonInImage"))
    for name in people if isinstance(people, list) else [people] if people else []:
        _hint(out, text(name))
    for name in _tag_names(props.get(q(DIGIKAM, "TagsList")), "/"):
        _hint(out, name)
    for name in _tag_names(props.get(q(LR, "hierarchicalSubject")), "|"):
        _hint(out, name)
    boxed = {r.name for r in out.regions}
    out.hints = [n for n in out.hints if n not in boxed]
    return out
