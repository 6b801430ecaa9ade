"""adapters.provenance: the block each delivered message carries, read back by the adapters."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters._errors import MalformedMessage
from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.provenance import GCC_MEDIA_TYPE, INTERPOL_MEDIA_TYPE, attach_provenance
from schemas.canonical import Loss, Provenance

DATA = Path(__file__).resolve().parents[1] / "data"
INTERPOL_BODY = (DATA / "interpol-red-publish.json").read_bytes()
GCC_BODY = (DATA / "gccpol-missing-new.xml").read_bytes()
NS = "{urn:gccpol:alert:1}"

PROVENANCE = Provenance(
    origin="ncb-fr",
    origin_message_id="7d3c1b52-9a8e-4f1e-8d7b-2a5f0c1e9b34",
    body_sha256="ab" * 32,
    keyid="ncb-fr-2026",
    signature="sig1=:c2lnbmF0dXJl:",
    audit_index=41,
    losses=(
        Loss(field="notice.eyes_colors_id[1]", source_value="BRO", reason="one eye colour only"),
        Loss(field="notice.forename", source_value='<Zoë & "Anna">', reason="no second name"),
    ),
)


def test_interpol_block_is_last_and_other_keys_keep_their_order() -> None:
    out = attach_provenance(INTERPOL_MEDIA_TYPE, INTERPOL_BODY, PROVENANCE)
    original = orjson.loads(INTERPOL_BODY)
    got = orjson.loads(out)
    assert list(got) == [*original, "_provenance"]
    assert {k: v for k, v in got.items() if k != "_provenance"} == original
    assert got["_provenance"] == {
        "origin": "ncb-fr",
        "origin_message_id": PROVENANCE.origin_message_id,
        "body_sha256": "ab" * 32,
        "keyid": "ncb-fr-2026",
        "signature": "sig1=:c2lnbmF0dXJl:",
        "audit_index": 41,
        "losses": [
            {
                "field": "notice.eyes_colors_id[1]",
                "source_value": "BRO",
                "reason": "one eye colour only",
            },
            {
                "field": "notice.forename",
                "source_value": '<Zoë & "Anna">',
                "reason": "no second name",
            },
        ],
    }
    assert b"\n" not in out  # compact


def test_gcc_block_is_the_last_child_in_the_documented_order() -> None:
    out = attach_provenance(GCC_MEDIA_TYPE, GCC_BODY, PROVENANCE)
    assert out.startswith(b"<?xml")
    root = etree.fromstring(out)
    assert root[-1].tag == f"{NS}Provenance"
    block = root[-1]
    assert [c.tag.removeprefix(NS) for c in block] == [
        "Origin",
        "OriginMessageID",
        "BodySHA256",
        "KeyID",
        "Signature",
        "AuditIndex",
        "Loss",
        "Loss",
    ]
    assert block.findtext(f"{NS}AuditIndex") == "41"
    loss = block.findall(f"{NS}Loss")[1]
    assert loss.get("field") == "notice.forename"
    assert loss.get("sourceValue") == '<Zoë & "Anna">'
    assert loss.text == "no second name"
    # everything before the block is untouched
    before = etree.fromstring(GCC_BODY)
    assert [etree.tostring(c, with_tail=False) for c in before] == [
        etree.tostring(c, with_tail=False) for c in root[:-1]
    ]


@pytest.mark.parametrize(
    ("media_type", "body", "adapter"),
    [(INTERPOL_MEDIA_TYPE, INTERPOL_BODY, INTERPOL), (GCC_MEDIA_TYPE, GCC_BODY, GCCPOL)],
)
def test_attaching_twice_replaces_the_block(media_type: str, body: bytes, adapter: object) -> None:
    first = attach_provenance(media_type, body, PROVENANCE)
    other = PROVENANCE.model_copy(update={"audit_index": 99, "losses": ()})
    second = attach_provenance(media_type, first, other)
    assert second.count(b"Provenance>" if media_type == GCC_MEDIA_TYPE else b"_provenance") == (
        2 if media_type == GCC_MEDIA_TYPE else 1
    )
    assert adapter.decode(second).provenance == other  # type: ignore[attr-defined]


def test_media_type_parameters_are_ignored_and_unknown_ones_refused() -> None:
    out = attach_provenance(f"{INTERPOL_MEDIA_TYPE}; charset=utf-8", INTERPOL_BODY, PROVENANCE)
    assert b"_provenance" in out
    with pytest.raises(ValueError, match="no provenance form"):
        attach_provenance("application/json", INTERPOL_BODY, PROVENANCE)


def test_hostile_or_broken_bodies_are_refused() -> None:
    with pytest.raises(MalformedMessage, match="not JSON"):
        attach_provenance(INTERPOL_MEDIA_TYPE, b"{", PROVENANCE)
    with pytest.raises(MalformedMessage, match="expected an object"):
        attach_provenance(INTERPOL_MEDIA_TYPE, b"[1]", PROVENANCE)
    with pytest.raises(MalformedMessage, match="root element"):
        attach_provenance(GCC_MEDIA_TYPE, b"<other/>", PROVENANCE)
    # an entity is not expanded (and a DTD not loaded) by the hardened parser
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<gcc:Message xmlns:gcc="urn:gccpol:alert:1"><gcc:MessageID>&x;</gcc:MessageID>'
        b"</gcc:Message>"
    )
    out = attach_provenance(GCC_MEDIA_TYPE, hostile, PROVENANCE)
    assert b"root:" not in out


def test_characters_xml_cannot_carry_are_dropped() -> None:
    odd = PROVENANCE.model_copy(
        update={"losses": (Loss(field="notice.x", source_value="a\x00b\x1fc", reason="r"),)}
    )
    out = attach_provenance(GCC_MEDIA_TYPE, GCC_BODY, odd)
    assert GCCPOL.decode(out).provenance.losses[0].source_value == "abc"  # type: ignore[union-attr]


# XML-carriable text without surrounding blanks (the decoders trim element text).
_text = (
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)

provenances = st.builds(
    Provenance,
    origin=st.sampled_from(["ncb-fr", "ae-moi", "ipsg"]),
    origin_message_id=st.uuids().map(str),
    body_sha256=st.binary(min_size=32, max_size=32).map(bytes.hex),
    keyid=st.from_regex(r"[a-z][a-z0-9-]{2,20}", fullmatch=True),
    signature=st.binary(min_size=64, max_size=64).map(lambda b: f"sig1=:{b.hex()}:"),
    audit_index=st.integers(min_value=0, max_value=2**40),
    losses=st.lists(st.builds(Loss, field=_text, source_value=_text, reason=_text), max_size=4).map(
        tuple
    ),
)


@settings(max_examples=60, deadline=None)
@given(provenance=provenances)
def test_decoders_read_back_what_was_attached(provenance: Provenance) -> None:
    for media_type, body, adapter in (
        (INTERPOL_MEDIA_TYPE, INTERPOL_BODY, INTERPOL),
        (GCC_MEDIA_TYPE, GCC_BODY, GCCPOL),
    ):
        assert adapter.decode(attach_provenance(media_type, body, provenance)).provenance == (
            provenance
        )
