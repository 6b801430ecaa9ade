"""The hardened XML parser refuses hostile and broken documents, naming the problem."""

from __future__ import annotations

import pytest

from adapters import MalformedMessage
from adapters.xml_parser import MAX_XML_BYTES, MAX_XML_DEPTH, parse_untrusted_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<m>&xxe;</m>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<m/>"""

XINCLUDE = b"""<m xmlns:xi="http://www.w3.org/2001/XInclude">
<xi:include href="file:///etc/passwd" parse="text"/></m>"""


def _refused(body: bytes) -> str:
    with pytest.raises(MalformedMessage) as caught:
        parse_untrusted_xml(body)
    return str(caught.value)


def test_a_plain_document_parses() -> None:
    tree = parse_untrusted_xml(b'<?xml version="1.0" encoding="UTF-8"?><a><b>x</b><!-- c --></a>')
    assert tree.getroot().findtext("b") == "x"


def test_billion_laughs_is_refused_before_parsing() -> None:
    assert "DOCTYPE" in _refused(BILLION_LAUGHS)


def test_external_entity_is_refused() -> None:
    message = _refused(EXTERNAL_ENTITY)
    assert "DOCTYPE" in message
    assert "root:" not in message  # nothing of /etc/passwd leaks into the error


def test_parameter_entity_is_refused() -> None:
    assert "DOCTYPE" in _refused(PARAMETER_ENTITY)


def test_entity_declaration_without_doctype_is_refused() -> None:
    assert "entity declaration" in _refused(b'<m><!ENTITY x "y"></m>')


def test_doctype_alone_is_refused() -> None:
    assert "DOCTYPE" in _refused(b"<!DOCTYPE m><m/>")


def test_undeclared_entity_reference_is_malformed() -> None:
    message = _refused(b"<m>&nope;</m>")
    assert "line 1" in message
    assert "nope" in message


def test_xinclude_is_refused() -> None:
    assert "XInclude" in _refused(XINCLUDE)


@pytest.mark.parametrize(
    "body",
    [b'<?xml-stylesheet href="x.xsl"?><m/>', b"<m><?php echo 1; ?></m>", b"<m/><?pi after?>"],
)
def test_processing_instructions_are_refused(body: bytes) -> None:
    assert "processing instruction" in _refused(body)


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    depth = MAX_XML_DEPTH + 1
    body = b"<a>" * depth + b"</a>" * depth
    message = _refused(body)
    assert f"nest {depth} deep" in message
    assert f"limit is {MAX_XML_DEPTH}" in message


def test_nesting_at_the_limit_is_accepted() -> None:
    body = b"<a>" * MAX_XML_DEPTH + b"</a>" * MAX_XML_DEPTH
    assert parse_untrusted_xml(body).getroot().tag == "a"


def test_very_deep_nesting_is_refused_without_recursion() -> None:
    body = b"<a>" * 5000 + b"</a>" * 5000  # beyond libxml2's own limit too
    _refused(body)


def test_oversized_document_is_refused() -> None:
    body = b"<m>" + b"x" * MAX_XML_BYTES + b"</m>"
    assert f"limit is {MAX_XML_BYTES} bytes" in _refused(body)


def test_invalid_utf8_is_refused_with_its_offset() -> None:
    message = _refused(b"<m>\xff\xfe</m>")
    assert "not valid UTF-8" in message
    assert "byte offset 3" in message


def test_other_declared_encoding_is_refused() -> None:
    assert "expected UTF-8" in _refused(b'<?xml version="1.0" encoding="ISO-8859-1"?><m/>')


def test_truncated_document_names_line_and_column() -> None:
    message = _refused(b"<m>\n  <a>text</a>\n  <b>")
    assert "not well-formed at line" in message
    assert "column" in message


def test_empty_document_is_refused() -> None:
    assert "empty" in _refused(b"  \n")
