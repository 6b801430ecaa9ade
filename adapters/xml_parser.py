"""A hardened XML parser for untrusted wire bytes (GCCPOL alerts).

What a hostile document can try, and where it stops (spec/schemas.md: "No DTD, no entity
declarations, no external references: a document that has one is refused"):

- size: more than `MAX_XML_BYTES` is refused before any parsing;
- encoding: the bytes must be UTF-8 (a declaration naming another encoding is refused), so
  the raw-byte checks below see what the parser sees;
- DTDs and entities (billion laughs, XXE, parameter entities): a ``<!DOCTYPE`` or
  ``<!ENTITY`` anywhere in the raw bytes is refused before parsing; the parser itself never
  loads a DTD, never resolves or expands entities and never touches the network, and the
  parsed tree is checked again (``docinfo``, entity nodes) as a second line of defence;
- XInclude: an element in an XInclude namespace is refused (lxml never processes XInclude
  unless asked; refusing makes the intent explicit);
- processing instructions other than the XML declaration are refused;
- depth: more than `MAX_XML_DEPTH` nested elements is refused (libxml2's own limit is 256);
- malformed XML: `MalformedMessage` with the line and column libxml2 reports.

Comments are allowed and carry no meaning.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree

from adapters._errors import MalformedMessage

__all__ = ["MAX_XML_BYTES", "MAX_XML_DEPTH", "parse_untrusted_xml"]

MAX_XML_BYTES: Final = 1024 * 1024
MAX_XML_DEPTH: Final = 32

_XINCLUDE_NAMESPACES: Final = frozenset(
    {"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"}
)
# Whether any element nests deeper than MAX_XML_DEPTH (the root is at depth 1), and any
# element in an XInclude namespace: evaluated by libxml2 (an XPath object locks itself
# for each call, so it can be shared between threads).
_TOO_DEEP: Final = etree.XPath("boolean(" + "/".join(["*"] * MAX_XML_DEPTH) + ")")
_XINCLUDE_TAGS: Final = tuple(f"{{{namespace}}}*" for namespace in _XINCLUDE_NAMESPACES)
# An XML declaration: <?xml version="1.0" encoding="..." standalone="..."?>
_DECLARATION = re.compile(rb"\A<\?xml\s[^?]*\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe, and this one is cheap.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_pis=False,
        remove_comments=False,
        collect_ids=False,
    )


def _check_bytes(body: bytes) -> None:
    if len(body) > MAX_XML_BYTES:
        raise MalformedMessage(
            f"xml: the document is {len(body)} bytes; the limit is {MAX_XML_BYTES} bytes"
        )
    if not body.strip():
        raise MalformedMessage("xml: the document is empty")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(
            f"xml: the document is not valid UTF-8 (byte offset {exc.start}: {exc.reason})"
        ) from None
    declaration = _DECLARATION.match(body.lstrip(b"\xef\xbb\xbf"))
    if declaration is not None:
        encoding = _DECLARED_ENCODING.search(declaration.group(0))
        if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            name = encoding.group(1).decode("ascii")
            raise MalformedMessage(f"xml: the declared encoding is {name!r}; expected UTF-8")
    # Refused before parsing: the parser below never acts on them, but a document that
    # declares a DTD or entities is hostile or broken either way (schemas.md).
    if b"<!DOCTYPE" in body:
        raise MalformedMessage("xml: a DOCTYPE declaration is not allowed")
    if b"<!ENTITY" in body:
        raise MalformedMessage("xml: an entity declaration is not allowed")


def _check_tree(tree: etree._ElementTree) -> None:
    docinfo: Any = tree.docinfo  # the stubs miss DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MalformedMessage("xml: a DOCTYPE declaration is not allowed")
    root = tree.getroot()
    for sibling in (*root.itersiblings(preceding=True), *root.itersiblings()):
        if isinstance(sibling, etree._ProcessingInstruction):
            raise MalformedMessage(
                f"xml: processing instruction <?{sibling.target!s}?> is not allowed",
                path=f"line {sibling.sourceline}",
            )
    # Asked of libxml2 first, which answers "nothing here" for an ordinary document without
    # a Python step per node; anything found is then located and named by the walk below,
    # exactly as it always was (the walk alone cost more than the parse).
    if (
        _TOO_DEEP(root)
        or next(root.iter(etree.ProcessingInstruction, etree.Entity), None) is not None
        or next(root.iter(*_XINCLUDE_TAGS), None) is not None
    ):
        _walk(root)


def _walk(root: etree._Element) -> None:
    """Raise for the first element nested too deep, processing instruction, entity
    reference or XInclude element, in the walk's order."""
    # Iterative walk with an explicit depth so that the depth check cannot recurse.
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise MalformedMessage(
                f"xml: elements nest {depth} deep at line {node.sourceline}; "
                f"the limit is {MAX_XML_DEPTH}"
            )
        for child in node:
            if isinstance(child, etree._ProcessingInstruction):
                raise MalformedMessage(
                    f"xml: processing instruction <?{child.target!s}?> is not allowed",
                    path=f"line {child.sourceline}",
                )
            if isinstance(child, etree._Entity):
                raise MalformedMessage(
                    f"xml: entity reference &{child.name}; is not allowed",
                    path=f"line {child.sourceline}",
                )
            if isinstance(child, etree._Comment):
                continue
            if etree.QName(child).namespace in _XINCLUDE_NAMESPACES:
                raise MalformedMessage(
                    "xml: XInclude is not allowed", path=f"line {child.sourceline}"
                )
            stack.append((child, depth + 1))


def parse_untrusted_xml(body: bytes) -> etree._ElementTree:
    """Parse ``body`` or raise `MalformedMessage` naming the problem (see module docstring)."""
    _check_bytes(body)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        message = (exc.msg or "not well-formed").strip()
        raise MalformedMessage(
            f"xml: not well-formed at line {line}, column {column}: {message}"
        ) from None
    if root is None:  # recover mode is off, so this is defensive only
        raise MalformedMessage("xml: the document has no root element")
    tree = root.getroottree()
    _check_tree(tree)
    return tree
