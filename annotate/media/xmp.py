"""Names in a photo's metadata for photo libraries: an XMP sidecar with MWG face regions
(``mwg-rs``, the Metadata Working Group's region schema that digiKam, Lightroom, Immich and
PhotoPrism read), written beside an annotated copy as ``NAME.EXT.xmp`` (digiKam's and
Immich's naming). Originals are never touched.

The packet is small and fixed, so it is written here with ``xml.etree`` (which escapes every
name) rather than through an XMP toolkit: the Python ones wrap the C library Exempi, a system
dependency for a few lines of XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .publish import atomic_path

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def face_regions(
    width: int, height: int, boxes: list[tuple[float, float, float, float]], names: list[str | None]
) -> str:
    """The XMP packet of one picture ``width`` x ``height`` px: a ``Face`` region per xyxy box
    (MWG areas: centre and size as shares of the picture), named where ``names`` has a name."""
    meta = ET.Element(_q("x:xmpmeta"))
    rdf = ET.SubElement(meta, _q("rdf:RDF"))
    description = ET.SubElement(rdf, _q("rdf:Description"), {_q("rdf:about"): ""})
    regions = ET.SubElement(description, _q("mwg-rs:Regions"), {_q("rdf:parseType"): "Resource"})
    ET.SubElement(
        regions,
        _q("mwg-rs:AppliedToDimensions"),
        {_q("stDim:w"): str(width), _q("stDim:h"): str(height), _q("stDim:unit"): "pixel"},
    )
    bag = ET.SubElement(ET.SubElement(regions, _q("mwg-rs:RegionList")), _q("rdf:Bag"))
    for (x1, y1, x2, y2), name in zip(boxes, names):
        x1, x2 = max(0.0, x1), min(float(width), x2)
        y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 <= x1 or y2 <= y1:
            continue
        item = ET.SubElement(bag, _q("rdf:li"), {_q("rdf:parseType"): "Resource"})
        area = {
            _q("stArea:x"): f"{(x1 + x2) / 2 / width:.6f}",
            _q("stArea:y"): f"{(y1 + y2) / 2 / height:.6f}",
            _q("stArea:w"): f"{(x2 - x1) / width:.6f}",
            _q("stArea:h"): f"{(y2 - y1) / height:.6f}",
            _q("stArea:unit"): "normalized",
        }
        ET.SubElement(item, _q("mwg-rs:Area"), area)
        ET.SubElement(item, _q("mwg-rs:Type")).text = "Face"
        if name:
            ET.SubElement(item, _q("mwg-rs:Name")).text = name
    body = ET.tostring(meta, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="w"?>\n'


def sidecar(path: Path) -> Path:
    """``photo.jpg`` -> ``photo.jpg.xmp``."""
    return path.with_name(path.name + ".xmp")


def write_sidecar(picture: Path, packet: str, replace: bool = False) -> Path:
    """Write ``packet`` as ``picture``'s sidecar, atomically (an existing one only with ``replace``)."""
    target = sidecar(picture)
    with atomic_path(target, replace) as tmp:
        Path(tmp).write_text(packet, encoding="utf-8")
    return target
