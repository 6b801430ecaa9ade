"""The hardened parser asks libxml2 first whether a tree holds anything to refuse (too deep,
a processing instruction, an entity reference, an XInclude element) and walks the tree in
Python only when it does (adapters/xml_parser.py). Over generated documents the result must
be what walking every tree gives: the same refusal, with the same message, or none.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import xml_parser
from adapters._errors import MalformedMessage

_LEAVES = st.sampled_from(
    (
        "<a/>",
        "<b>text</b>",
        "<!-- a comment -->",
        "<?pi data?>",
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="x"/>',
        '<y:include xmlns:y="http://www.w3.org/2003/XInclude"/>',
        '<z:other xmlns:z="urn:other"/>',
        "tail text",
    )
)


def _nest(depth: int, inner: str) -> str:
    return "<d>" * depth + inner + "</d>" * depth


_BODIES = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(
            lambda parts: "<e>" + "".join(parts) + "</e>"
        ),
        st.tuples(st.integers(1, 34), children).map(lambda t: _nest(*t)),
    ),
    max_leaves=12,
)


def _outcome(check: object, body: bytes) -> str:
    try:
        check(body)  # type: ignore[operator]
    except MalformedMessage as exc:
        return f"refused: {exc}"
    return "accepted"


def _walking_every_tree(body: bytes) -> None:
    # parse_untrusted_xml raises only what the walk finds, so this is the walk on every tree
    tree = xml_parser.parse_untrusted_xml(body)
    xml_parser._walk(tree.getroot())


@settings(max_examples=400, deadline=None)
@given(_BODIES)
def test_asking_libxml2_first_refuses_what_the_walk_refuses(inner: str) -> None:
    body = f"<root>{inner}</root>".encode()
    fast = _outcome(xml_parser.parse_untrusted_xml, body)
    assert fast == _outcome(_walking_every_tree, body)


def test_the_depth_limit_is_exact() -> None:
    at_limit = f"<r>{_nest(xml_parser.MAX_XML_DEPTH - 1, '')}</r>".encode()
    assert _outcome(xml_parser.parse_untrusted_xml, at_limit) == "accepted"
    over = f"<r>{_nest(xml_parser.MAX_XML_DEPTH, '')}</r>".encode()
    assert _outcome(xml_parser.parse_untrusted_xml, over).startswith("refused: xml: elements nest")
