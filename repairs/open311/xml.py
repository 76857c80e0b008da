"""Open311 GeoReport v2 XML documents, built with ElementTree (we only ever write XML, never parse it).

Element names follow the spec: `<services><service>`, `<service_definition>`, `<service_requests><request>`
and `<errors><error>`. A list inside a document becomes a plural wrapper with singular children
(`<attributes><attribute>`, `<values><value>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

XML_MEDIA_TYPE = "application/xml"

# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _singular(tag: str) -> str:
    return tag[:-1] if tag.endswith("s") and len(tag) > 1 else "item"


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    child = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _append(child, str(key), inner)
    elif isinstance(value, list | tuple):
        item_tag = _singular(tag)
        for item in value:
            _append(child, item_tag, item)
    else:
        child.text = _text(value)


def _serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def document(root_tag: str, item_tag: str, items: Iterable[Mapping[str, Any]]) -> bytes:
    """`<root><item>...</item>...</root>`, e.g. services/service or service_requests/request."""
    root = ET.Element(root_tag)
    for item in items:
        _append(root, item_tag, item)
    return _serialise(root)


def single(root_tag: str, fields: Mapping[str, Any]) -> bytes:
    """One object as the root element, e.g. `<service_definition>`."""
    root = ET.Element(root_tag)
    for key, value in fields.items():
        _append(root, str(key), value)
    return _serialise(root)


def errors(entries: Iterable[tuple[int, str]]) -> bytes:
    """The Open311 error document: `<errors><error><code>403</code><description>..</description>..`."""
    return document("errors", "error", [{"code": code, "description": text} for code, text in entries])
