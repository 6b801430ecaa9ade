"""The hostile-input corpus: generated and hand-written requests that must all be refused.

A case is a body, a content type, whether it is signed (validly, so it reaches the
decoder) and by whom, and an optional rewrite of the header fields after signing (to
break the signature envelope itself). `layer` says who must refuse it: "app" (a 4xx
problem body and a refused audit event) or "server" (the HTTP parser closes it with a
4xx before the app sees it; nothing reaches the app, so nothing is audited).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.messages import DATA, GCCPOL, INTERPOL

Headers = list[tuple[str, str]]
HeaderRewrite = Callable[[Headers], Headers]

INTERPOL_SENDER = "ipsg"
GCCPOL_SENDER = "ae-moi"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    media_type: str | None
    sign_as: str | None  # participant id, or None: unsigned
    rewrite: HeaderRewrite | None = None
    layer: str = "app"  # "app" | "server"
    created_offset: int = 0  # seconds added to `created` when signing
    expect: frozenset[int] | None = None  # None: any 4xx


def interpol_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "interpol-red-publish.json").read_text("utf-8"))
    return doc


def interpol_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def gcc_text() -> str:
    return (DATA / "gccpol-missing-new.xml").read_text("utf-8")


def _json(name: str, body: bytes, **kw: Any) -> Case:
    return Case(f"json/{name}", body, INTERPOL, INTERPOL_SENDER, **kw)


def _xml(name: str, body: bytes | str, **kw: Any) -> Case:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return Case(f"xml/{name}", raw, GCCPOL, GCCPOL_SENDER, **kw)


# ---- JSON ---------------------------------------------------------------------------------


def json_truncations() -> Iterator[Case]:
    whole = interpol_bytes(interpol_doc())
    step = max(1, len(whole) // 60)
    for cut in range(0, len(whole) - 1, step):
        yield _json(f"truncated-at-{cut}", whole[:cut])


def json_malformed() -> Iterator[Case]:
    valid = interpol_bytes(interpol_doc())
    raw: dict[str, bytes] = {
        "empty": b"",
        "whitespace": b"  \n\t ",
        "open-brace": b"{",
        "array": b"[]",
        "null": b"null",
        "number": b"1",
        "string": b'"notice"',
        "true": b"true",
        "trailing-comma": b'{"message_id": "x",}',
        "single-quotes": b"{'message_id': 'x'}",
        "nan": b'{"message_id": NaN}',
        "infinity": b'{"message_id": Infinity}',
        "minus-infinity": b'{"height": -Infinity}',
        "comment": b'{/* c */ "message_id": "x"}',
        "line-comment": b'{"a": 1 // c\n}',
        "unquoted-key": b"{message_id: 1}",
        "two-documents": valid + valid,
        "trailing-garbage": valid + b"x",
        "bom": b"\xef\xbb\xbf" + valid,
        "utf16-le": valid.decode("utf-8").encode("utf-16-le"),
        "utf16-bom": valid.decode("utf-8").encode("utf-16"),
        "utf32": valid.decode("utf-8").encode("utf-32"),
        "nul-bytes": valid.replace(b"AL QAHTANI", b"AL\x00QAHTANI"),
        "raw-control-char": valid.replace(b"AL QAHTANI", b"AL\x01QAHTANI"),
        "invalid-utf8-ff": valid.replace(b"AL QAHTANI", b"AL \xffQAHTANI"),
        "invalid-utf8-overlong-slash": valid.replace(b"AL QAHTANI", b"AL \xc0\xafQAHTANI"),
        "invalid-utf8-surrogate-bytes": valid.replace(b"AL QAHTANI", b"AL \xed\xa0\x80Q"),
        "invalid-utf8-truncated-seq": valid.replace(b"AL QAHTANI", b"AL \xe2\x82"),
        "invalid-utf8-latin1": "Vol à main".encode("latin-1").join([b'{"a":"', b'"}']),
        "lone-high-surrogate-escape": valid.replace(b"AL QAHTANI", b"AL \\ud800QAHTANI"),
        "lone-low-surrogate-escape": valid.replace(b"AL QAHTANI", b"\\udc00"),
        "surrogate-in-key": b'{"\\ud800": 1}',
        "bad-escape": valid.replace(b"AL QAHTANI", b"AL \\xQAHTANI"),
        "deep-array": b"[" * 100_000 + b"]" * 100_000,
        "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "deep-unclosed": b"[" * 200_000,
        "huge-integer-literal": valid.replace(b'"weight": 80', b'"weight": ' + b"9" * 5000),
        "huge-exponent": valid.replace(b'"weight": 80', b'"weight": 1e999999'),
        "number-leading-zero": valid.replace(b'"weight": 80', b'"weight": 080'),
        "number-plus": valid.replace(b'"weight": 80', b'"weight": +80'),
        "hex-number": valid.replace(b'"weight": 80', b'"weight": 0x50'),
    }
    for name, body in raw.items():
        yield _json(name, body)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i), v
            yield from _paths(v, (*prefix, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def _wrong_values(value: Any) -> list[tuple[str, Any]]:
    """Values of a JSON type the field can never hold (its sample's type differs)."""
    if isinstance(value, bool):
        return [("string", "true"), ("int", 1), ("list", [True])]
    if isinstance(value, int | float):
        return [("string", str(value)), ("bool", True), ("list", [value]), ("object", {})]
    if isinstance(value, str):
        return [("int", 7), ("bool", False), ("list", [value]), ("object", {"v": value})]
    if isinstance(value, list):
        return [("string", "x"), ("int", 3), ("object", {})]
    if isinstance(value, dict):
        return [("string", "x"), ("list", [value]), ("int", 0)]
    return []


# Fields whose sample value is null: any type is "wrong" only by content; leave them out.
def json_wrong_types() -> Iterator[Case]:
    doc = interpol_doc()
    for path, value in _paths(doc):
        for type_name, wrong in _wrong_values(value):
            dotted = ".".join(str(p) for p in path)
            yield _json(f"wrong-type/{dotted}={type_name}", interpol_bytes(_set(doc, path, wrong)))


def json_values() -> Iterator[Case]:
    doc = interpol_doc()
    n = ("notice",)
    values: dict[str, tuple[tuple[Any, ...], Any]] = {
        "duplicate-key-top": ((), None),
        "height-huge": ((*n, "height"), 10**40),
        "height-negative": ((*n, "height"), -1.78),
        "weight-huge": ((*n, "weight"), 10**30),
        "weight-float-huge": ((*n, "weight"), 1.7e308),
        "name-1mib-minus": ((*n, "name"), "A" * 1_000_000),
        "name-long": ((*n, "name"), "A" * 100_000),
        "forename-empty": ((*n, "forename"), ""),
        "entity-id-bidi": ((*n, "entity_id"), "2026/48213\u202e"),
        "entity-id-arabic-indic": ((*n, "entity_id"), "\u0662\u0660\u0662\u0666/48213"),
        "entity-id-fullwidth": ((*n, "entity_id"), "\uff12\uff10\uff12\uff16/48213"),
        "dob-arabic-indic-digits": ((*n, "date_of_birth"), "١٩٨٠/٠٥/١٣"),
        "dob-extended-arabic-digits": ((*n, "date_of_birth"), "۱۹۸۰/۰۵/۱۳"),
        "dob-fullwidth-digits": ((*n, "date_of_birth"), "１９８０/０５/１３"),
        "dob-tatweel": ((*n, "date_of_birth"), "1980/0\u06405/13"),
        "dob-bidi-override": ((*n, "date_of_birth"), "\u202e1980/05/13"),
        "dob-impossible": ((*n, "date_of_birth"), "1980/02/31"),
        "dob-year-zero": ((*n, "date_of_birth"), "0000/01/01"),
        "publication-devanagari-digits": ((*n, "date_of_publication"), "२०२६/११/२०"),
        "sent-at-arabic-indic": (("sent_at",), "٢٠٢٦-11-20T08:15:00Z"),
        "sent-at-no-zone": (("sent_at",), "2026-11-20T08:15:00"),
        "sent-at-year-99999": (("sent_at",), "99999-11-20T08:15:00Z"),
        "message-id-bidi": (("message_id",), "6f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11\u202e"),
        "message-id-fullwidth": (("message_id",), "６f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11"),
        "message-id-long": (("message_id",), "a" * 10_000),
        "sender-confusable-cyrillic": (("sender_id",), "ірsg"),
        "sender-zero-width": (("sender_id",), "ip\u200bsg"),
        "sender-other": (("sender_id",), "ncb-fr"),
        "message-type-unknown": (("message_type",), "notice.delete"),
        "message-type-case": (("message_type",), "NOTICE.PUBLISH"),
        "notice-type-unknown": ((*n, "notice_type"), "mauve"),
        "country-confusable": ((*n, "requesting_country_id"), "ＦＲ"),
        "country-lower": ((*n, "requesting_country_id"), "fr"),
        "country-unassigned": ((*n, "requesting_country_id"), "XX"),
        "nationality-arabic-letters": ((*n, "nationalities"), ["سع"]),
        "nationalities-huge-list": ((*n, "nationalities"), ["SA"] * 50_000),
        "sex-unknown": ((*n, "sex_id"), "Q"),
        "tlp-unknown": ((*n, "caveats", "tlp"), "TLP:PURPLE"),
        "notice-missing": (("notice",), None),
        "extra-top-key": (("surprise",), 1),
        "aliases-deep": ((*n, "aliases"), [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]),
        "name-nul-escape": ((*n, "name"), "AL\u0000QAHTANI"),
        "name-ansi-escape": ((*n, "name"), "AL\u001b[31mQAHTANI"),
        "name-c1-control": ((*n, "name"), "AL\u0085QAHTANI"),
        "name-bidi-override": ((*n, "name"), "AL \u202eINATHAQ"),
        "name-bidi-isolate": ((*n, "name"), "AL \u2067QAHTANI\u2069"),
        "name-noncharacter": ((*n, "name"), "AL\uffffQAHTANI"),
        "name-bom-inside": ((*n, "name"), "AL\ufeffQAHTANI"),
        "original-script-bidi-embedding": ((*n, "name_in_original_script"), "\u202bالقحطاني"),
        "charge-bidi-override": ((*n, "distinguishing_marks"), "Scar \u202eno tfel"),
        "document-number-bidi": ((*n, "identity_documents", 0, "number"), "A123\u202e4567"),
        "image-link-javascript": ((*n, "image_link"), "javascript:alert(1)"),
        "image-link-file": ((*n, "image_link"), "file:///etc/passwd"),
    }
    for name, (path, value) in values.items():
        if name == "duplicate-key-top":
            text = interpol_bytes(doc)
            body = text.replace(b'"message_id":', b'"message_id": "x", "message_id":', 1)
        elif name == "notice-missing":
            body = interpol_bytes({k: v for k, v in doc.items() if k != "notice"})
        else:
            body = interpol_bytes(_set(doc, path, value))
        yield _json(name, body)
    dup_nested = interpol_bytes(doc).replace(b'"name": "AL QAHTANI"', b'"name": "A", "name": "B"')
    yield _json("duplicate-key-nested", dup_nested)
    escaped_dup = interpol_bytes(doc).replace(
        b'"message_id":', b'"message_id": "x", "message\\u005fid":', 1
    )
    yield _json("duplicate-key-escaped-spelling", escaped_dup)


# ---- XML ----------------------------------------------------------------------------------


def xml_truncations() -> Iterator[Case]:
    whole = gcc_text().encode("utf-8")
    step = max(1, len(whole) // 60)
    for cut in range(0, len(whole) - 1, step):
        yield _xml(f"truncated-at-{cut}", whole[:cut])


def _gcc(old: str, new: str) -> str:
    text = gcc_text()
    assert old in text, old
    return text.replace(old, new, 1)


_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ROOT = '<gcc:Message xmlns:gcc="urn:gccpol:alert:1" schemaVersion="1.0">'


def _with_doctype(doctype: str, *, entity_ref: str | None = None) -> str:
    text = gcc_text().replace(_DECL, _DECL + doctype + "\n", 1)
    if entity_ref is not None:
        text = text.replace("AL MAZROUEI", entity_ref, 1)
    return text


def xml_malformed() -> Iterator[Case]:
    text = gcc_text()
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    raw: dict[str, str | bytes] = {
        "empty": b"",
        "not-xml": "hello",
        "json-body": b'{"message_id": "x"}',
        "only-declaration": _DECL,
        "unclosed-root": _DECL + _ROOT,
        "mismatched-tags": _gcc("</gcc:Sender>", "</gcc:Sendr>"),
        "two-roots": text + text.replace(_DECL, ""),
        "trailing-garbage": text + "garbage",
        "undeclared-prefix": _gcc("<gcc:Sender>ae-moi</gcc:Sender>", "<x:Sender>ae-moi</x:Sender>"),
        "wrong-namespace": text.replace("urn:gccpol:alert:1", "urn:evil:1"),
        "no-namespace": text.replace(' xmlns:gcc="urn:gccpol:alert:1"', ""),
        "wrong-root": _gcc(_ROOT, _ROOT.replace("Message", "Mess")).replace(
            "</gcc:Message>", "</gcc:Mess>"
        ),
        "billion-laughs": _with_doctype(
            f'<!DOCTYPE gcc:Message [<!ENTITY l0 "ha">{lol}]>', entity_ref="&l9;"
        ),
        "quadratic-blowup": _with_doctype(
            f'<!DOCTYPE gcc:Message [<!ENTITY a "{"x" * 50_000}">]>', entity_ref="&a;" * 20
        ),
        "external-entity-file": _with_doctype(
            '<!DOCTYPE gcc:Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            entity_ref="&xxe;",
        ),
        "external-entity-http": _with_doctype(
            '<!DOCTYPE gcc:Message [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>',
            entity_ref="&xxe;",
        ),
        "parameter-entity": _with_doctype(
            '<!DOCTYPE gcc:Message [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
        ),
        "external-dtd": _with_doctype('<!DOCTYPE gcc:Message SYSTEM "http://127.0.0.1:9/a.dtd">'),
        "internal-doctype-harmless": _with_doctype("<!DOCTYPE gcc:Message>"),
        "internal-entity-harmless": _with_doctype(
            '<!DOCTYPE gcc:Message [<!ENTITY n "X">]>', entity_ref="&n;"
        ),
        "undefined-entity": _gcc("AL MAZROUEI", "&nope;"),
        "xinclude": _gcc(
            "<gcc:Sex>2</gcc:Sex>",
            '<gcc:Sex>2</gcc:Sex><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            'href="file:///etc/passwd" parse="text"/>',
        ),
        "xinclude-in-text": _gcc(
            "<gcc:Place",
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/hostname"/>'
            "<gcc:Place",
        ),
        "xsi-schema-location": _gcc(
            _ROOT,
            _ROOT[:-1] + ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="urn:gccpol:alert:1 http://127.0.0.1:9/evil.xsd">',
        ),
        "processing-instruction": _gcc(
            _ROOT, '<?xml-stylesheet href="http://127.0.0.1:9/x"?>' + _ROOT
        ),
        "deep-nesting": _gcc(
            "<gcc:Sex>2</gcc:Sex>", "<gcc:Sex>2</gcc:Sex>" + "<gcc:X>" * 5000 + "</gcc:X>" * 5000
        ),
        "deep-unclosed": _DECL + _ROOT + "<gcc:X>" * 100_000,
        "many-attributes": _gcc(
            _ROOT, _ROOT[:-1] + "".join(f' a{i}="x"' for i in range(5000)) + ">"
        ),
        "huge-attribute": _gcc(_ROOT, _ROOT[:-1] + f' a="{"x" * 900_000}">'),
        "duplicate-attribute": _gcc('role="MISSING"', 'role="MISSING" role="WANTED"'),
        "duplicate-message-id": _gcc(
            "<gcc:MessageType>", "<gcc:MessageID>other</gcc:MessageID><gcc:MessageType>"
        ),
        "cdata-in-id": _gcc(
            "<gcc:Sender>ae-moi</gcc:Sender>", "<gcc:Sender><![CDATA[ae-moi]]>x</gcc:Sender>"
        ),
        "comment-in-id": _gcc(
            "<gcc:Sender>ae-moi</gcc:Sender>", "<gcc:Sender>ae<!-- c -->-moi-x</gcc:Sender>"
        ),
        "encoding-latin1-declared": text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'),
        "encoding-utf16-declared": text.replace('encoding="UTF-8"', 'encoding="UTF-16"'),
        "encoding-ebcdic-declared": text.replace('encoding="UTF-8"', 'encoding="cp037"'),
        "utf16-bytes": text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
        "invalid-utf8": text.encode("utf-8").replace("مريم".encode(), b"\xff\xfe\xfd"),
        "overlong-utf8": text.encode("utf-8").replace(b"ae-moi", b"ae\xc0\xadmoi"),
        "nul-char-ref": _gcc("AL MAZROUEI", "AL&#0;MAZROUEI"),
        "control-char-ref": _gcc("AL MAZROUEI", "AL&#1;MAZROUEI"),
        "surrogate-char-ref": _gcc("AL MAZROUEI", "&#xD800;"),
        "hijri-arabic-indic-digits": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>١٤٤٨-٠٦-١٠<"),
        "hijri-extended-arabic-digits": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>۱۴۴۸-۰۶-۱۰<"),
        "gregorian-fullwidth-digits": _gcc(
            "<gcc:Gregorian>2026-11-20<", "<gcc:Gregorian>２０２６-１１-２０<"
        ),
        "hijri-tatweel": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>1448-0\u06406-10<"),
        "hijri-bidi-override": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>\u202e1448-06-10<"),
        "hijri-disagrees-with-gregorian": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>1448-07-10<"),
        "hijri-month-13": _gcc("<gcc:Hijri>1448-06-10<", "<gcc:Hijri>1448-13-10<"),
        "name-bidi-override": _gcc("<gcc:FirstName>مريم<", "<gcc:FirstName>مر\u202eيم<"),
        "name-bidi-isolate": _gcc("AL MAZROUEI", "AL \u2066MAZROUEI\u2069"),
        "name-c1-control": _gcc("AL MAZROUEI", "AL\u0085MAZROUEI"),
        "place-bidi-override": _gcc("Dubai International Airport", "\u202eDubai Airport"),
        "name-noncharacter": _gcc("AL MAZROUEI", "AL\ufffeMAZROUEI"),
        "alert-id-bidi": _gcc("GCC-ARE-1448-000123", "GCC-ARE-1448-000123\u202e"),
        "alert-id-arabic-digits": _gcc("GCC-ARE-1448-000123", "GCC-ARE-١٤٤٨-000123"),
        "alert-id-zero-width": _gcc("GCC-ARE-1448-000123", "GCC-ARE-1448-\u200b000123"),
        "sender-confusable": _gcc("<gcc:Sender>ae-moi<", "<gcc:Sender>ае-moi<"),
        "sender-other": _gcc("<gcc:Sender>ae-moi<", "<gcc:Sender>sa-psd<"),
        "height-huge": _gcc("<gcc:HeightCm>162<", "<gcc:HeightCm>" + "9" * 400 + "<"),
        "height-negative": _gcc("<gcc:HeightCm>162<", "<gcc:HeightCm>-162<"),
        "height-arabic-digits": _gcc("<gcc:HeightCm>162<", "<gcc:HeightCm>١٦٢<"),
        "weight-exponent": _gcc("<gcc:WeightKg>55<", "<gcc:WeightKg>5.5e1<"),
        "sex-unknown": _gcc("<gcc:Sex>2<", "<gcc:Sex>7<"),
        "message-type-unknown": _gcc("<gcc:MessageType>NEW<", "<gcc:MessageType>DELETE<"),
        "classification-unknown": _gcc(
            "<gcc:Classification>RESTRICTED<", "<gcc:Classification>COSMIC<"
        ),
        "message-id-missing": _gcc(
            "<gcc:MessageID>0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1</gcc:MessageID>", ""
        ),
        "alert-missing": text.split("<gcc:Alert>")[0] + "</gcc:Message>",
        "unknown-element": _gcc("<gcc:Sex>2</gcc:Sex>", "<gcc:Sex>2</gcc:Sex><gcc:Evil/>"),
        "long-name": _gcc("AL MAZROUEI", "A" * 200_000),
        "sent-at-no-zone": _gcc("2026-11-20T08:15:00Z", "2026-11-20T08:15:00"),
    }
    for name, body in raw.items():
        yield _xml(name, body)


# ---- the envelope: headers and signatures -------------------------------------------------


def _replace(name: str, value: str) -> HeaderRewrite:
    def rewrite(headers: Headers) -> Headers:
        return [(n, value if n.lower() == name else v) for n, v in headers]

    return rewrite


def _drop(name: str) -> HeaderRewrite:
    return lambda headers: [(n, v) for n, v in headers if n.lower() != name]


def _add(name: str, value: str, *, before: bool = False) -> HeaderRewrite:
    def rewrite(headers: Headers) -> Headers:
        return [(name, value), *headers] if before else [*headers, (name, value)]

    return rewrite


def _sig_input(transform: Callable[[str], str]) -> HeaderRewrite:
    def rewrite(headers: Headers) -> Headers:
        return [(n, transform(v) if n.lower() == "signature-input" else v) for n, v in headers]

    return rewrite


def _fold(name: str) -> HeaderRewrite:
    """obs-fold (RFC 9112 §5.2): the value continued on a line starting with a space."""

    def rewrite(headers: Headers) -> Headers:
        out: Headers = []
        for n, v in headers:
            if n.lower() == name and len(v) > 10:
                out.append((n, v[:10] + "\r\n " + v[10:]))
            else:
                out.append((n, v))
        return out

    return rewrite


def envelope_cases() -> Iterator[Case]:
    body = interpol_bytes(interpol_doc())

    def env(name: str, **kw: Any) -> Case:
        kw.setdefault("sign_as", INTERPOL_SENDER)
        return Case(f"envelope/{name}", kw.pop("body", body), kw.pop("media_type", INTERPOL), **kw)

    yield env("unsigned", sign_as=None)
    yield env("unsigned-gcc", sign_as=None, body=gcc_text().encode(), media_type=GCCPOL)
    yield env("signature-only", rewrite=_drop("signature-input"))
    yield env("signature-input-only", rewrite=_drop("signature"))
    yield env("no-content-digest", rewrite=_drop("content-digest"))
    yield env("no-content-type", rewrite=_drop("content-type"))
    yield env("content-type-unknown", media_type="application/json")
    yield env("content-type-xml-for-json", media_type=GCCPOL)
    yield env("content-type-huge", media_type="application/" + "x" * 5000)
    yield env("wrong-senders-schema", media_type=GCCPOL, body=gcc_text().encode())
    yield env("signed-by-other-participant", sign_as="ncb-fr")
    # Duplicate fields: RFC 9110 §5.3 combines them; a dictionary's last member wins.
    yield env("duplicate-signature-garbage-last", rewrite=_add("Signature", "sig1=:AAAA:"))
    yield env(
        "duplicate-signature-input-last",
        rewrite=_add("Signature-Input", 'sig1=("@method");created=1;keyid="x"'),
    )
    yield env("duplicate-content-type", rewrite=_add("Content-Type", "application/json"))
    yield env("duplicate-content-digest", rewrite=_add("Content-Digest", "sha-256=:AAAA:"))
    # h11 unfolds obs-fold (RFC 9112 §5.2 allows it); the unfolded value no longer verifies.
    yield env("folded-signature", rewrite=_fold("signature"))
    yield env("folded-signature-input", rewrite=_fold("signature-input"))
    yield env("header-name-space", rewrite=_add("Signature ", "x"), layer="server")
    yield env("header-nul", rewrite=_add("X-Evil", "a\x00b"), layer="server")
    sf: dict[str, Callable[[str], str]] = {
        "unclosed-list": lambda v: v.replace(")", "", 1),
        "unquoted-component": lambda v: v.replace('"@method"', "@method", 1),
        "created-string": lambda v: _param(v, "created", '"now"'),
        "created-float": lambda v: _param(v, "created", "1.5"),
        "created-negative": lambda v: _param(v, "created", "-1"),
        "created-zero": lambda v: _param(v, "created", "0"),
        "created-huge": lambda v: _param(v, "created", "999999999999999"),
        "created-too-many-digits": lambda v: _param(v, "created", "9" * 40),
        "created-bool": lambda v: _param(v, "created", "?1"),
        "keyid-token": lambda v: v.replace('keyid="ipsg-2026"', "keyid=ipsg-2026"),
        "keyid-unknown": lambda v: v.replace('keyid="ipsg-2026"', 'keyid="nobody-2026"'),
        "keyid-huge": lambda v: v.replace('keyid="ipsg-2026"', f'keyid="{"k" * 8000}"'),
        "alg-rsa": lambda v: v + ';alg="rsa-pss-sha512"',
        "non-ascii": lambda v: v.replace("sig1", "sïg1", 1),
        "empty": lambda v: "",
        "many-components": lambda v: v.replace("(", "(" + '"x" ' * 3000, 1),
        "duplicate-component": lambda v: v.replace('"@method"', '"@method" "@method"', 1),
        "inner-list-nested": lambda v: v.replace("(", "((", 1),
        "byte-sequence": lambda v: "sig1=:AAAA:",
        "unknown-derived": lambda v: v.replace('"@method"', '"@evil"', 1),
        "expires-before-created": lambda v: v + ";expires=1",
        "trailing-garbage": lambda v: v + " ;;",
        "label-uppercase": lambda v: v.replace("sig1", "SIG1", 1),
    }
    for name, transform in sf.items():
        yield env(f"signature-input/{name}", rewrite=_sig_input(transform))
    bad_sig = {
        "not-base64": "sig1=:!!!:",
        "short": "sig1=:AAAA:",
        "token": "sig1=abc",
        "string": 'sig1="abc"',
        "empty": "",
        "list": "sig1=(:AAAA:)",
        "wrong-label": "sig2=:" + "A" * 86 + "==:",
        "all-zero-64-bytes": "sig1=:" + "A" * 86 + "==:",
        "huge": "sig1=:" + "A" * 20_000 + ":",
    }
    for name, value in bad_sig.items():
        yield env(f"signature/{name}", rewrite=_replace("signature", value))
    digests = {
        "sha512-only": "sha-512=:" + "A" * 86 + "==:",
        "malformed": "sha-256=abc",
        "wrong": "sha-256=:" + "A" * 43 + "=:",
        "empty": "",
    }
    for name, value in digests.items():
        yield env(f"content-digest/{name}", rewrite=_replace("content-digest", value))
    for name, offset in {
        "created-1h-ago": -3600,
        "created-1h-ahead": 3600,
        "created-10y-ago": -10 * 365 * 86400,
        "created-50y-ahead": 50 * 365 * 86400,
    }.items():
        yield env(f"absurd-created/{name}", created_offset=offset)
    yield env("authority-other", rewrite=_replace("host", "evil.example"))
    yield env("header-40k", rewrite=_add("X-Pad", "p" * 40_000), expect=frozenset({431}))
    yield env(
        "headers-600-fields",
        expect=frozenset({431}),
        rewrite=lambda h: [*h, *((f"X-F{i}", "v" * 60) for i in range(600))],
    )
    yield env("header-300k", rewrite=_add("X-Pad", "p" * 300_000), layer="server")
    yield env(
        "body-2mib",
        sign_as=None,
        body=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        expect=frozenset({413}),
    )
    yield env(
        "body-2mib-chunked",
        sign_as=None,
        body=b"[" * (2 * 1024 * 1024),
        rewrite=lambda h: [*h, ("Transfer-Encoding", "chunked")],
        expect=frozenset({413}),
    )


def _param(signature_input: str, name: str, value: str) -> str:
    parts = signature_input.split(";")
    return ";".join(f"{name}={value}" if p.startswith(f"{name}=") else p for p in parts)


def all_cases() -> list[Case]:
    cases = [
        *json_truncations(),
        *json_malformed(),
        *json_wrong_types(),
        *json_values(),
        *xml_truncations(),
        *xml_malformed(),
        *envelope_cases(),
    ]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
