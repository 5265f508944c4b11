"""Safe XMP parsing and a reader for RDF properties in any of their serialisations.

XMP allows one value several spellings (a struct as ``rdf:parseType="Resource"``, as an
``rdf:Description`` child, or as attributes); :func:`properties` reads them all into plain Python:
a simple value is a ``str``, a struct a ``dict`` keyed by Clark names (``{uri}local``), an array a
``list``. Parsing goes through ``defusedxml`` (no entity expansion, no external references).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
MP = "http://ns.microsoft.com/photo/1.2/"
MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
LR = "http://ns.adobe.com/lightroom/1.0/"
XML = "http://www.w3.org/XML/1998/namespace"

#: The prefixes faceorg writes (and that readers expect to see).
PREFIXES = {
    "x": X, "rdf": RDF, "mwg-rs": MWG_RS, "stArea": ST_AREA, "stDim": ST_DIM, "MP": MP, "MPRI": MPRI,
    "MPReg": MPREG, "Iptc4xmpExt": IPTC_EXT, "digiKam": DIGIKAM, "lr": LR,
}


def q(ns: str, local: str) -> str:
    """A Clark name ``{ns}local``."""
    return f"{{{ns}}}{local}"


class XmpError(Exception):
    """XMP that cannot be read (not well-formed, unsafe, or not XMP at all)."""


def parse_document(data: bytes) -> tuple[ET.Element, ET.Element]:
    """The root and the ``rdf:RDF`` element of an XMP packet or file, parsed safely; raises :class:`XmpError`."""
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise XmpError(f"not well-formed XMP ({exc})") from exc
    rdf = root if root.tag == q(RDF, "RDF") else root.find(f".//{q(RDF, 'RDF')}")
    if rdf is None:
        raise XmpError("not XMP (no rdf:RDF element)")
    return root, rdf


def parse(data: bytes) -> ET.Element:
    """The ``rdf:RDF`` element of an XMP packet or file (see :func:`parse_document`)."""
    return parse_document(data)[1]


_ARRAYS = {q(RDF, "Bag"), q(RDF, "Seq"), q(RDF, "Alt")}
_SKIP_ATTRS = {q(RDF, "about"), q(RDF, "parseType"), q(RDF, "resource"), q(RDF, "ID"), q(RDF, "nodeID"),
               q(XML, "lang")}


def _fields(node: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in node.attrib.items() if k not in _SKIP_ATTRS}
    for child in node:
        if child.tag == q(RDF, "Description"):  # a nested description: its fields are this node's
            out.update(_fields(child))
        else:
            out[child.tag] = value(child)
    return out


def value(el: ET.Element) -> Any:
    """The value of a property element (or an array item)."""
    if el.get(q(RDF, "parseType")) == "Resource":
        return _fields(el)
    children = list(el)
    if not children:
        attrs = {k: v for k, v in el.attrib.items() if k not in _SKIP_ATTRS}
        if attrs:
            return attrs
        return (el.text or "").strip() or el.get(q(RDF, "resource"), "")
    first = children[0]
    if first.tag in _ARRAYS:
        return [value(li) for li in first if li.tag == q(RDF, "li")]
    return _fields(el)


def properties(rdf: ET.Element) -> dict[str, Any]:
    """Every top-level property of every ``rdf:Description``, read into plain values."""
    out: dict[str, Any] = {}
    for desc in rdf.findall(q(RDF, "Description")):
        out.update(_fields(desc))
    return out


def text(v: Any) -> str:
    """A simple value as text (the first item of an array, e.g. a language alternative)."""
    if isinstance(v, list):
        return text(v[0]) if v else ""
    return v.strip() if isinstance(v, str) else ""


def number(v: Any) -> float | None:
    try:
        return float(text(v))
    except ValueError:
        return None
