"""Write face names into a sidecar: MWG Regions, Microsoft Photo RegionInfo and ``Iptc4xmpExt:PersonInImage``,
merged into what the sidecar already holds.

Everything else in an existing sidecar is kept as it is; of its face regions, only those at the place of a
face faceorg writes are replaced (another tool's regions of other faces, pets and focus areas stay). The
file is replaced atomically and the previous one kept next to it as ``<sidecar>.bak``.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import iterparse

from faceorg.files import write_bytes_atomic
from faceorg.xmp.orientation import Box, same_place, upright_to_stored
from faceorg.xmp.rdf import (
    IPTC_EXT,
    MP,
    MPREG,
    MPRI,
    MWG_RS,
    PREFIXES,
    RDF,
    ST_AREA,
    ST_DIM,
    X,
    XmpError,
    number,
    parse,
    parse_document,
    properties,
    q,
    text,
    value,
)
from faceorg.xmp.regions import NOT_FACES, read_names

BACKUP_SUFFIX = ".bak"
_ARRAYS = {q(RDF, "Bag"), q(RDF, "Seq"), q(RDF, "Alt")}
_PACKET_HEAD = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_TAIL = '\n<?xpacket end="w"?>\n'


@dataclass(frozen=True)
class NamedBox:
    """A face to write: its person's name and its box normalised to the upright photo."""

    name: str
    box: Box


@dataclass
class SidecarUpdate:
    """A sidecar's new text and what it changes (names as the region lists hold them)."""

    data: bytes
    changed: bool
    names_before: list[str] = field(default_factory=list)
    names_after: list[str] = field(default_factory=list)


def _register_prefixes(data: bytes) -> None:
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    try:
        for _event, (prefix, uri) in iterparse(io.BytesIO(data), events=("start-ns",)):
            ours = prefix in PREFIXES or uri in PREFIXES.values()
            if prefix and not ours and not re.fullmatch(r"ns\d+", prefix):
                ET.register_namespace(prefix, uri)
    except Exception:  # noqa: BLE001 - the document was parsed already; prefixes are cosmetic
        pass


def _el(parent: ET.Element, ns: str, local: str, text_value: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, q(ns, local), attrs)
    if text_value is not None:
        el.text = text_value
    return el


def _resource(parent: ET.Element, ns: str, local: str) -> ET.Element:
    return _el(parent, ns, local, **{q(RDF, "parseType"): "Resource"})


def _fmt(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v else "0"


def _bag(parent: ET.Element) -> ET.Element:
    return _el(parent, RDF, "Bag")


def _mwg_item(bag: ET.Element, face: NamedBox, stored: Box) -> None:
    li = _el(bag, RDF, "li", **{q(RDF, "parseType"): "Resource"})
    area = _resource(li, MWG_RS, "Area")
    x, y, w, h = stored
    for key, v in (("x", x + w / 2), ("y", y + h / 2), ("w", w), ("h", h)):
        _el(area, ST_AREA, key, _fmt(v))
    _el(area, ST_AREA, "unit", "normalized")
    _el(li, MWG_RS, "Name", face.name)
    _el(li, MWG_RS, "Type", "Face")


def _mp_item(bag: ET.Element, face: NamedBox, stored: Box) -> None:
    li = _el(bag, RDF, "li", **{q(RDF, "parseType"): "Resource"})
    _el(li, MPREG, "PersonDisplayName", face.name)
    _el(li, MPREG, "Rectangle", ", ".join(_fmt(v) for v in stored))


def _dimensions(regions: ET.Element, size: tuple[int, int]) -> None:
    for old in regions.findall(q(MWG_RS, "AppliedToDimensions")):
        regions.remove(old)
    dims = ET.Element(q(MWG_RS, "AppliedToDimensions"), {q(RDF, "parseType"): "Resource"})
    _el(dims, ST_DIM, "w", str(size[0]))
    _el(dims, ST_DIM, "h", str(size[1]))
    _el(dims, ST_DIM, "unit", "pixel")
    regions.insert(0, dims)


def _struct_node(prop: ET.Element) -> ET.Element | None:
    """The element holding a struct property's fields (itself, or its rdf:Description), None when in attributes."""
    if prop.get(q(RDF, "parseType")) == "Resource":
        return prop
    desc = prop.find(q(RDF, "Description"))
    return desc


def _array(node: ET.Element, ns: str, local: str) -> ET.Element | None:
    prop = node.find(q(ns, local))
    if prop is None:
        return None
    return next((c for c in prop if c.tag in _ARRAYS), None)


def _li_box(li: ET.Element, fmt: str) -> tuple[str, Box | None, bool]:
    """An existing region item's name, stored box, and whether it is a face."""
    v: Any = value(li)
    if not isinstance(v, dict):
        return "", None, False
    if fmt == "mwg":
        name = text(v.get(q(MWG_RS, "Name")))
        is_face = (text(v.get(q(MWG_RS, "Type"))) or "Face").lower() not in NOT_FACES
        area = v.get(q(MWG_RS, "Area"))
        if not isinstance(area, dict) or text(area.get(q(ST_AREA, "unit"))).lower() == "pixel":
            return name, None, is_face
        cx, cy, w, h = (number(area.get(q(ST_AREA, k))) for k in ("x", "y", "w", "h"))
        if cx is None or cy is None or w is None or h is None:
            return name, None, is_face
        return name, (cx - w / 2, cy - h / 2, w, h), is_face
    name = text(v.get(q(MPREG, "PersonDisplayName")))
    try:
        x, y, w, h = (float(p) for p in text(v.get(q(MPREG, "Rectangle"))).split(","))
    except ValueError:
        return name, None, True
    return name, (x, y, w, h), True


def _merge_list(bag: ET.Element, fmt: str, ours: list[tuple[NamedBox, Box]]) -> tuple[list[str], list[str]]:
    """Put our faces into a region bag; the face names before and after.

    An existing face region at one of our faces' places is replaced, unless it already has that face's name
    (then it stays as its writer made it); the other items stay.
    """
    before, after = [], []
    satisfied: set[int] = set()
    for li in list(bag):
        name, box, is_face = _li_box(li, fmt)
        if is_face and name:
            before.append(name)
        at = [i for i, (_, s) in enumerate(ours) if box is not None and is_face and same_place(box, s) > 0]
        if not at:
            if is_face and name:
                after.append(name)
            continue
        same = next((i for i in at if ours[i][0].name == name and i not in satisfied), None)
        if same is not None:
            satisfied.add(same)
            after.append(name)
        else:
            bag.remove(li)
    for i, (face, stored) in enumerate(ours):
        if i not in satisfied:
            (_mwg_item if fmt == "mwg" else _mp_item)(bag, face, stored)
            after.append(face.name)
    return before, after


def _new_tree() -> tuple[ET.Element, ET.Element]:
    root = ET.Element(q(X, "xmpmeta"))
    root.set(q(X, "xmptk"), "faceorg")
    rdf = ET.SubElement(root, q(RDF, "RDF"))
    return root, rdf


def _take(rdf: ET.Element, ns: str, local: str) -> list[tuple[ET.Element, ET.Element]]:
    """Every (description, property element) of a top-level property."""
    return [(d, p) for d in rdf.findall(q(RDF, "Description")) for p in d.findall(q(ns, local))]


def merge_sidecar(existing: bytes | None, faces: list[NamedBox], orientation: int,
                  stored_size: tuple[int, int]) -> SidecarUpdate:
    """The sidecar ``existing`` (None: a new one) with ``faces`` written as MWG and MP regions and their names
    added to ``PersonInImage``; raises :class:`~faceorg.xmp.rdf.XmpError` when ``existing`` is not XMP."""
    if existing is not None:
        _register_prefixes(existing)
        root, rdf = parse_document(existing)
    else:
        _register_prefixes(b"")
        root, rdf = _new_tree()
    ours = [(f, upright_to_stored(f.box, orientation)) for f in faces]
    ours_desc = ET.Element(q(RDF, "Description"), {q(RDF, "about"): ""})
    before: list[str] = []
    after: list[str] = []
    for ns, local, inner_ns, inner, fmt in ((MWG_RS, "Regions", MWG_RS, "RegionList", "mwg"),
                                           (MP, "RegionInfo", MPRI, "Regions", "mp")):
        editable = False
        for desc, prop in _take(rdf, ns, local):
            node = _struct_node(prop)
            bag = _array(node, inner_ns, inner) if node is not None else None
            if node is None or bag is None or editable:
                desc.remove(prop)  # a shape we cannot edit in place (or a repeat): written afresh
                continue
            editable = True
            b, a = _merge_list(bag, fmt, ours)
            if fmt == "mwg":
                before, after = b, a
                _dimensions(node, stored_size)
        if not editable and ours:
            node = _resource(ours_desc, ns, local)
            if fmt == "mwg":
                _dimensions(node, stored_size)
            bag = _bag(_el(node, inner_ns, inner))
            _, a = _merge_list(bag, fmt, ours)
            if fmt == "mwg":
                after = a
    # PersonInImage: the names it had, less those of replaced regions no face carries any more, plus ours.
    old_people: list[str] = []
    for desc, prop in _take(rdf, IPTC_EXT, "PersonInImage"):
        v = value(prop)
        old_people += [text(n) for n in (v if isinstance(v, list) else [v]) if text(n)]
        desc.remove(prop)
    gone = set(before) - set(after)
    people = list(dict.fromkeys([n for n in old_people if n not in gone] + after))
    if people:
        bag = _bag(_el(ours_desc, IPTC_EXT, "PersonInImage"))
        for name in people:
            _el(bag, RDF, "li", name)
    if len(ours_desc):
        rdf.append(ours_desc)
    for desc in rdf.findall(q(RDF, "Description")):  # drop descriptions this left empty
        if not len(desc) and set(desc.attrib) <= {q(RDF, "about")}:
            rdf.remove(desc)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    wrapped = existing is None or existing.lstrip().startswith(b"<?xpacket")
    data = ((_PACKET_HEAD + body + _PACKET_TAIL) if wrapped else body + "\n").encode("utf-8")
    changed = (existing is None or sorted(before) != sorted(after) or sorted(old_people) != sorted(people)
               or _boxes(existing) != _boxes(data))
    return SidecarUpdate(data=data, changed=changed, names_before=before, names_after=after)


def _boxes(data: bytes) -> list[tuple[str, tuple[float, ...]]]:
    """The (name, rounded box) pairs of a sidecar's MWG and MP regions, to tell a real change from a rewrite."""
    try:
        names = read_names(properties(parse(data)))
    except XmpError:
        return []
    return sorted((r.name, tuple(round(v, 4) for v in r.box)) for r in names.regions)


def backup_path(sidecar: Path) -> Path:
    return sidecar.with_name(sidecar.name + BACKUP_SUFFIX)


def write_sidecar(path: Path, data: bytes) -> Path | None:
    """Replace ``path`` with ``data`` atomically, keeping the previous file as ``<path>.bak``; the backup's path."""
    backup = None
    if path.exists():
        backup = backup_path(path)
        write_bytes_atomic(backup, path.read_bytes())
    write_bytes_atomic(path, data)
    return backup
