"""The provenance block every delivered message carries (signatures.md, End-to-end provenance).

A translated message is not the bytes its origin signed, so the origin's signature cannot
travel with it; instead the gateway adds, just before delivery, who sent the original, its
id, the SHA-256 of the origin's signed bytes, the origin's keyid and Signature value, the
audit index of its "received" event and the loss report:

- INTERPOL JSON: a top-level key ``_provenance`` (the last key; the others keep their order);
- GCC XML: a ``<gcc:Provenance>`` element, the last child of the root ``<gcc:Message>``.

A block already present (a message passed through twice) is replaced, never duplicated.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson
from lxml import etree

from adapters._errors import MalformedMessage
from schemas.canonical import Provenance

__all__ = [
    "GCC_MEDIA_TYPE",
    "GCC_NAMESPACE",
    "INTERPOL_MEDIA_TYPE",
    "attach_provenance",
    "provenance_json",
]

INTERPOL_MEDIA_TYPE: Final = "application/vnd.interpol.notice+json"
GCC_MEDIA_TYPE: Final = "application/vnd.gccpol.alert+xml"
GCC_NAMESPACE: Final = "urn:gccpol:alert:1"
_G = "{" + GCC_NAMESPACE + "}"

# No DTD, no entity expansion, no network: the bytes come from our own encoder, but a
# parser that can be made to fetch or expand things is never used here.
_PARSER: Final = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)


def provenance_json(provenance: Provenance) -> dict[str, Any]:
    """The ``_provenance`` object, keys in the documented order."""
    return {
        "origin": provenance.origin,
        "origin_message_id": provenance.origin_message_id,
        "body_sha256": provenance.body_sha256,
        "keyid": provenance.keyid,
        "signature": provenance.signature,
        "audit_index": provenance.audit_index,
        "losses": [
            {"field": x.field, "source_value": x.source_value, "reason": x.reason}
            for x in provenance.losses
        ],
    }


def attach_provenance(media_type: str, body: bytes, provenance: Provenance) -> bytes:
    """``body`` (an encoded message of ``media_type``) with the provenance block added."""
    essence = media_type.split(";", 1)[0].strip().lower()
    if essence == INTERPOL_MEDIA_TYPE:
        return _attach_json(body, provenance)
    if essence == GCC_MEDIA_TYPE:
        return _attach_xml(body, provenance)
    raise ValueError(
        f"provenance: media type {media_type!r} has no provenance form; expected "
        f"{INTERPOL_MEDIA_TYPE} or {GCC_MEDIA_TYPE}"
    )


def _attach_json(body: bytes, provenance: Provenance) -> bytes:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"provenance: body is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MalformedMessage(
            f"provenance: body is a JSON {type(message).__name__}, expected an object"
        )
    message.pop("_provenance", None)
    message["_provenance"] = provenance_json(provenance)
    return orjson.dumps(message)


def _attach_xml(body: bytes, provenance: Provenance) -> bytes:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedMessage(f"provenance: body is not XML: {exc}") from exc
    if root.tag != f"{_G}Message":
        raise MalformedMessage(
            f"provenance: root element is {root.tag!r}, expected {_G}Message", "/"
        )
    for old in root.findall(f"{_G}Provenance"):
        root.remove(old)
    block = _append_block(root)
    for tag, text in (
        ("Origin", provenance.origin),
        ("OriginMessageID", provenance.origin_message_id),
        ("BodySHA256", provenance.body_sha256),
        ("KeyID", provenance.keyid),
        ("Signature", provenance.signature),
        ("AuditIndex", str(provenance.audit_index)),
    ):
        etree.SubElement(block, f"{_G}{tag}").text = _xml_text(text)
    for loss in provenance.losses:
        element = etree.SubElement(
            block,
            f"{_G}Loss",
            {"field": _xml_text(loss.field), "sourceValue": _xml_text(loss.source_value)},
        )
        element.text = _xml_text(loss.reason)
    # Keep the original's declaration so a reader sees the same encoding it was sent in.
    declared = body.lstrip().startswith(b"<?xml")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=declared)


# XML 1.0 §2.2 Char: what an XML document can carry at all. A loss's source value comes
# from the other schema (JSON) and may hold control characters; they are dropped here.
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def _append_block(root: etree._Element) -> etree._Element:
    """Append an empty <gcc:Provenance>; pretty-printed input keeps its indentation."""
    children = list(root)
    block = etree.SubElement(root, f"{_G}Provenance")
    indent = root.text if root.text is not None and not root.text.strip() else None
    if children and indent is not None:
        block.tail = children[-1].tail
        children[-1].tail = indent
    return block
