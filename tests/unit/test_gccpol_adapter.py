"""The GCCPOL adapter: decode, every refusal of bad input, encode losses and refusals, trips."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import (
    AdapterError,
    MalformedMessage,
    SchemaViolations,
    TranslationRefused,
    adapter_for_media_type,
    adapter_for_schema,
)
from adapters.gccpol import ADAPTER, decode_alert, encode_alert
from schemas.canonical import (
    CanonicalMessage,
    Colour,
    Dissemination,
    LocalizedText,
    MessageKind,
    NoticeCategory,
    Offence,
    PartialDate,
    PersonName,
    Reference,
    Sex,
    Tlp,
    Warrant,
)
from tests.strategies_gccpol import gccpol_messages

SAMPLE_PATH = Path(__file__).parents[1] / "data" / "gccpol-missing-new.xml"
SAMPLE = SAMPLE_PATH.read_text("utf-8")


def _edit(old: str, new: str) -> bytes:
    assert old in SAMPLE, old
    return SAMPLE.replace(old, new, 1).encode()


def _violations(body: bytes) -> dict[str, str]:
    with pytest.raises(SchemaViolations) as caught:
        decode_alert(body)
    return {v.path: v.reason for v in caught.value.violations}


@pytest.fixture(scope="module")
def sample() -> CanonicalMessage:
    return decode_alert(SAMPLE.encode())


def _subject(message: CanonicalMessage, **changes: Any) -> CanonicalMessage:
    assert message.notice.subject is not None
    subject = message.notice.subject.model_copy(update=changes)
    return message.model_copy(
        update={"notice": message.notice.model_copy(update={"subject": subject})}
    )


def _notice(message: CanonicalMessage, **changes: Any) -> CanonicalMessage:
    return message.model_copy(update={"notice": message.notice.model_copy(update=changes)})


def _loss_fields(message: CanonicalMessage) -> dict[str, str]:
    return {loss.field: loss.reason for loss in encode_alert(message).losses}


# ---------------------------------------------------------------------------- decode


def test_the_sample_decodes(sample: CanonicalMessage) -> None:
    n = sample.notice
    assert sample.kind is MessageKind.PUBLISH
    assert sample.sent_at == dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)
    assert sample.sender == "ae-moi"
    assert sample.source_schema == "gccpol"
    assert n.category is NoticeCategory.MISSING
    assert n.reference("GCCPOL") == "GCC-ARE-1448-000123"
    assert n.originating_country == "AE"
    assert n.issued == PartialDate(year=2026, month=11, day=20)
    assert n.dissemination.restricted_to == ()
    assert n.evaluation is not None and n.evaluation.source_reliability == "B"
    s = n.subject
    assert s is not None
    assert [name.script for name in s.names] == ["Latn", "Arab"]
    assert s.names[1].given == "مريم خالد سالم" and s.names[1].family == "المزروعي"
    assert s.names[0].romanization == "ICAO9303"
    assert s.father_given == "KHALED"
    assert s.mother_names[0] == PersonName(script="Arab", lang="ar", full="فاطمة الكعبي")
    assert s.sex is Sex.FEMALE
    assert s.birth_date == PartialDate(year=1991, month=3, day=4)
    assert s.birth_country == "AE" and s.nationalities == ("AE",) and s.languages == ("ara",)
    assert s.height_m == Decimal("1.62") and s.weight_kg == Decimal(55)
    assert s.eye_colours == (Colour.BROWN,) and s.hair_colours == (Colour.BLACK,)
    assert n.event is not None and n.event.place == LocalizedText(
        text="Dubai International Airport", lang="en"
    )


def test_the_adapter_is_registered() -> None:
    assert adapter_for_schema("gccpol") is ADAPTER
    assert adapter_for_media_type("application/vnd.gccpol.alert+xml; charset=utf-8") is ADAPTER
    assert ADAPTER.reference_system == "GCCPOL"


def test_a_withdrawal_carries_only_identification() -> None:
    body = _edit("<gcc:MessageType>NEW<", "<gcc:MessageType>WITHDRAW<")
    message = decode_alert(body)
    assert message.kind is MessageKind.CANCEL
    assert message.notice.subject is None and message.notice.reference("GCCPOL")
    encoded = encode_alert(message)
    assert b"<gcc:Subject" not in encoded.body
    assert decode_alert(encoded.body) == message


def test_offsets_are_normalised_to_utc() -> None:
    message = decode_alert(_edit("2026-11-20T08:15:00Z", "2026-11-20T12:15:00+04:00"))
    assert message.sent_at == dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<gcc:Message xmlns:gcc='urn:gccpol:alert:1'><unclosed>", "not well-formed at line 1"),
        (b"<!DOCTYPE m>" + SAMPLE.split("?>", 1)[1].encode(), "DOCTYPE"),
        (
            b'<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><m>&b;</m>',
            "DOCTYPE",
        ),
        (SAMPLE.encode() + b" " * (1024 * 1024), "limit is 1048576 bytes"),
        (b"<a>" * 40 + b"</a>" * 40, "nest 33 deep"),
        (SAMPLE.encode().replace("مريم".encode(), b"\xd9"), "not valid UTF-8"),
    ],
)
def test_hostile_or_broken_bytes_are_malformed(body: bytes, expected: str) -> None:
    with pytest.raises(MalformedMessage, match=expected):
        decode_alert(body)


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (
            _edit("<gcc:Sex>2</gcc:Sex>", "<gcc:Sex>2</gcc:Sex><gcc:Shoe>44</gcc:Shoe>"),
            "/Message/Alert/Subject/Shoe",
            "unknown element",
        ),
        (
            _edit("<gcc:AlertCategory>MISSING</gcc:AlertCategory>", ""),
            "/Message/Alert/Header/AlertCategory",
            "required element AlertCategory is missing",
        ),
        (_edit(">MISSING<", ">LOST<"), "/Message/Alert/Header/AlertCategory", "LOST"),
        (
            _edit(
                "<gcc:Hijri>1411-08-18</gcc:Hijri><gcc:Gregorian>1991-03-04</gcc:Gregorian>",
                "<gcc:Hijri>1447-02-30</gcc:Hijri><gcc:Gregorian>2025-08-24</gcc:Gregorian>",
            ),
            "/Message/Alert/Subject/BirthDate/Hijri",
            "has 29 days",
        ),
        (
            _edit(
                "<gcc:Gregorian>1991-03-04</gcc:Gregorian>",
                "<gcc:Gregorian>1991-04-31</gcc:Gregorian>",
            ),
            "/Message/Alert/Subject/BirthDate/Gregorian",
            "does not exist",
        ),
        (
            _edit("<gcc:Hijri>1411-08-18</gcc:Hijri>", "<gcc:Hijri>1411-08-19</gcc:Hijri>"),
            "/Message/Alert/Subject/BirthDate",
            "disagree",
        ),
        (
            _edit(
                "<gcc:Nationality>ARE</gcc:Nationality>", "<gcc:Nationality>XYZ</gcc:Nationality>"
            ),
            "/Message/Alert/Subject/Nationality[1]",
            "not an assigned ISO 3166-1 alpha-3",
        ),
        (
            _edit("<gcc:Language>ar</gcc:Language>", "<gcc:Language>qq</gcc:Language>"),
            "/Message/Alert/Subject/Language[1]",
            "not an ISO 639-1",
        ),
        (
            re.sub(r'<gcc:Name script="Arab".*?</gcc:Name>', "", SAMPLE, flags=re.S).encode(),
            "/Message/Alert/Subject",
            "Arabic name",
        ),
        (_edit(">MISSING<", ">WANTED<"), "/Message/Alert", "Offence"),
        (
            _edit('<gcc:Subject role="MISSING">', '<gcc:Subject role="MISSING" colour="x">'),
            "/Message/Alert/Subject/@colour",
            "unknown attribute",
        ),
        (
            _edit("<gcc:HandlingCode>H0<", "<gcc:HandlingCode>H3<"),
            "/Message/Alert/Header/Handling",
            "HandlingNote",
        ),
    ],
)
def test_schema_violations_name_the_path(body: bytes, path: str, reason: str) -> None:
    found = _violations(body)
    assert path in found, found
    assert reason in found[path]


def test_every_violation_is_reported() -> None:
    body = SAMPLE.replace(">MISSING<", ">LOST<", 1).replace(">ARE<", ">XYZ<").encode()
    found = _violations(body)
    assert "/Message/Alert/Header/AlertCategory" in found
    assert "/Message/Alert/Header/OriginatingState" in found
    assert "/Message/Alert/Subject/Nationality[1]" in found


def test_wrong_root_element() -> None:
    assert "/Notice" in _violations(b'<Notice xmlns="urn:gccpol:alert:1"/>')


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_adapter_errors(body: bytes) -> None:
    with contextlib.suppress(AdapterError):
        decode_alert(body)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(SAMPLE.encode()) - 1), st.binary(min_size=1, max_size=8))
def test_corrupted_samples_raise_only_adapter_errors(at: int, junk: bytes) -> None:
    body = SAMPLE.encode()
    with contextlib.suppress(AdapterError):
        decode_alert(body[:at] + junk + body[at + len(junk) :])


# ---------------------------------------------------------------------------- encode


def test_encoding_the_sample_is_exact_and_deterministic(sample: CanonicalMessage) -> None:
    first = encode_alert(sample)
    assert first.losses == ()
    assert first.body == encode_alert(sample).body
    assert first.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<gcc:Message')
    assert first.body.index(b'script="Arab"') < first.body.index(b'script="Latn"')
    assert decode_alert(first.body) == sample


def test_name_split_by_guess(sample: CanonicalMessage) -> None:
    latin = PersonName(script="Latn", family="AL QAHTANI", given="MOHAMMED ABDULLAH SAAD")
    arab = PersonName(script="Arab", family="القحطاني", given="محمد عبدالله سعد")
    message = _subject(sample, names=(latin, arab), father_given="ABDULLAH")
    encoded = encode_alert(message)
    losses = {loss.field: loss for loss in encoded.losses}
    assert "name split by guess" in losses["subject.names[Latn].given"].reason
    assert losses["subject.names[Arab].given"].source_value == "محمد عبدالله سعد"
    assert "subject.father_given" not in losses  # the guess put ABDULLAH where it belongs
    back = decode_alert(encoded.body).notice.subject
    assert back is not None
    assert back.names[0].given == "MOHAMMED ABDULLAH SAAD" and back.names[0].father == "ABDULLAH"
    assert back.father_given == "ABDULLAH"


def test_partial_birth_date_crosses_calendars(sample: CanonicalMessage) -> None:
    message = _subject(sample, birth_date=PartialDate(year=1991, month=3))
    encoded = encode_alert(message)
    assert b'<gcc:BirthDate precision="month">' in encoded.body
    assert b"<gcc:Hijri>1411-08-01</gcc:Hijri>" in encoded.body
    loss = next(x for x in encoded.losses if x.field == "subject.birth_date")
    assert loss.source_value == "1991-03"
    assert "1411-08-15 .. 1411-09-15 AH" in loss.reason
    assert decode_alert(encoded.body).notice.subject.birth_date == PartialDate(year=1991, month=3)  # type: ignore[union-attr]


def test_colour_losses(sample: CanonicalMessage) -> None:
    message = _subject(
        sample, eye_colours=(Colour.BROWNISH, Colour.GREEN), hair_colours=(Colour.BLACK,)
    )
    losses = _loss_fields(message)
    assert "no GCC code for brownish; 02 written" in losses["subject.eye_colours[0]"]
    assert "one eye colour" in losses["subject.eye_colours[1]"]
    assert "subject.hair_colours[0]" not in losses


def test_language_without_639_1_code(sample: CanonicalMessage) -> None:
    message = _subject(sample, languages=("ara", "gsw", "haw"))  # Swiss German has no 639-1 code
    losses = _loss_fields(message)
    assert "no ISO 639-1 code" in losses["subject.languages[2]"]
    assert "subject.languages[1]" not in losses or "639-1" in losses["subject.languages[1]"]


def test_height_and_weight_rounding(sample: CanonicalMessage) -> None:
    message = _subject(sample, height_m=Decimal("1.785"), weight_kg=Decimal("80.4"))
    encoded = encode_alert(message)
    assert b"<gcc:HeightCm>179</gcc:HeightCm>" in encoded.body  # half up
    assert b"<gcc:WeightKg>80</gcc:WeightKg>" in encoded.body
    losses = {loss.field: loss.reason for loss in encoded.losses}
    assert "rounded to whole centimetres" in losses["subject.height_m"]
    assert "rounded to whole kilograms" in losses["subject.weight_kg"]
    exact = _loss_fields(_subject(sample, height_m=Decimal("1.78"), weight_kg=Decimal(80)))
    assert "subject.height_m" not in exact and "subject.weight_kg" not in exact


def test_exclusion_becomes_a_handling_note(sample: CanonicalMessage) -> None:
    caveats = Dissemination(restricted_to=("AE", "SA"), excluded=("QA",), tlp=Tlp.AMBER)
    encoded = encode_alert(_notice(sample, dissemination=caveats))
    assert b"<gcc:HandlingCode>H0</gcc:HandlingCode>" in encoded.body
    assert b"<gcc:HandlingCode>H3</gcc:HandlingCode>" in encoded.body
    assert b"<gcc:HandlingNote>Not releasable to: QAT</gcc:HandlingNote>" in encoded.body
    assert b"<gcc:ReleasableTo>ARE SAU</gcc:ReleasableTo>" in encoded.body
    assert b"<gcc:Classification>RESTRICTED</gcc:Classification>" in encoded.body
    losses = {loss.field: loss.reason for loss in encoded.losses}
    assert "exclusion carried as handling note" in losses["notice.dissemination.excluded"]
    assert "notice.dissemination.tlp" not in losses  # AMBER ↔ RESTRICTED is exact


def test_tlp_red_is_secret_with_a_loss(sample: CanonicalMessage) -> None:
    encoded = encode_alert(_notice(sample, dissemination=Dissemination(tlp=Tlp.RED)))
    assert b"<gcc:Classification>SECRET</gcc:Classification>" in encoded.body
    assert any(loss.field == "notice.dissemination.tlp" for loss in encoded.losses)


def test_image_links_are_references(sample: CanonicalMessage) -> None:
    encoded = encode_alert(_subject(sample, image_links=("https://img.example/1.jpg",)))
    assert b"<gcc:ImageReference>https://img.example/1.jpg</gcc:ImageReference>" in encoded.body
    assert (
        _loss_fields(_subject(sample, image_links=("https://img.example/1.jpg",)))[
            "subject.image_links[0]"
        ]
        == "image carried as a reference only"
    )


def test_diffusion_and_kunya(sample: CanonicalMessage) -> None:
    message = _subject(_notice(sample, is_diffusion=True), kunya="أبو محمد")
    encoded = encode_alert(message)
    assert "no diffusions" in {x.field: x.reason for x in encoded.losses}["notice.is_diffusion"]
    assert "<gcc:Kunya>أبو محمد</gcc:Kunya>".encode() in encoded.body


def test_text_is_normalised_with_a_loss(sample: CanonicalMessage) -> None:
    message = _subject(sample, distinguishing_marks="Scar on\nleft cheek\x07")
    encoded = encode_alert(message)
    assert b"<gcc:DistinguishingMarks>Scar on left cheek</gcc:DistinguishingMarks>" in encoded.body
    assert any(x.field == "subject.distinguishing_marks" for x in encoded.losses)


# ---------------------------------------------------------------------------- refusals


def _refusal(message: CanonicalMessage) -> TranslationRefused:
    with pytest.raises(TranslationRefused) as caught:
        encode_alert(message)
    return caught.value


def test_un_notice_has_no_counterpart(sample: CanonicalMessage) -> None:
    refused = _refusal(_notice(sample, category=NoticeCategory.UN_SPECIAL))
    assert (refused.code, refused.field) == ("no-counterpart", "notice.category")


def test_no_arabic_name_is_refused(sample: CanonicalMessage) -> None:
    refused = _refusal(
        _subject(sample, names=(PersonName(script="Latn", family="DOE", given="JOHN"),))
    )
    assert (refused.code, refused.field) == ("required-field-unavailable", "subject.names[Arab]")


@pytest.mark.parametrize(
    "date", [PartialDate(year=1920, month=5, day=1), PartialDate(year=2080), PartialDate(year=1924)]
)
def test_date_outside_the_hijri_range_is_refused(
    sample: CanonicalMessage, date: PartialDate
) -> None:
    refused = _refusal(_subject(sample, birth_date=date))
    assert (refused.code, refused.field) == ("date-outside-hijri-range", "subject.birth_date")


def test_wanted_without_judicial_data_is_refused(sample: CanonicalMessage) -> None:
    wanted = _notice(sample, category=NoticeCategory.WANTED)
    refused = _refusal(wanted)
    assert (refused.code, refused.field) == ("missing-judicial-data", "notice.offences")
    warrant_only = _notice(wanted, offences=(Offence(warrant=Warrant(reference="PAR/1")),))
    assert _refusal(warrant_only).code == "missing-judicial-data"
    charged = _notice(wanted, offences=(Offence(descriptions=(LocalizedText(text="Vol"),)),))
    assert b'<gcc:Description xml:lang="und">Vol</gcc:Description>' in encode_alert(charged).body


def test_missing_gccpol_reference_is_refused(sample: CanonicalMessage) -> None:
    refused = _refusal(_notice(sample, references=(Reference(system="INTERPOL", id="2026/1"),)))
    assert (refused.code, refused.field) == (
        "required-field-unavailable",
        "notice.references[GCCPOL]",
    )


def test_unknown_country_is_refused(sample: CanonicalMessage) -> None:
    refused = _refusal(_subject(sample, nationalities=("ZZ",)))
    assert (refused.code, refused.field) == ("unknown-country", "subject.nationalities[0]")


# ---------------------------------------------------------------------------- references


def test_mint_reference_is_deterministic(sample: CanonicalMessage) -> None:
    notice = _notice(sample, references=(Reference(system="INTERPOL", id="2026/48213"),)).notice
    minted = ADAPTER.mint_reference(notice)
    assert minted == ADAPTER.mint_reference(notice)
    assert minted.startswith("GCC-ARE-1448-") and len(minted) == len("GCC-ARE-1448-000000")
    other = notice.model_copy(update={"references": (Reference(system="INTERPOL", id="2026/1"),)})
    assert ADAPTER.mint_reference(other) != minted
    undated = notice.model_copy(update={"issued": None})
    assert ADAPTER.mint_reference(undated).startswith("GCC-ARE-1447-")  # 2026-01-01 = 1447 AH


# ---------------------------------------------------------------------------- properties


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gccpol_messages())
def test_decode_encode_decode_is_stable(body: bytes) -> None:
    decoded = decode_alert(body)
    encoded = encode_alert(decoded)
    assert decode_alert(encoded.body) == decoded


def test_a_gccpol_reference_that_is_not_an_alert_id_is_refused(sample: CanonicalMessage) -> None:
    bad = _notice(sample, references=(Reference(system="GCCPOL", id="GCC-AAA-1448-000001"),))
    refused = _refusal(bad)
    assert (refused.code, refused.field) == (
        "required-field-unavailable",
        "notice.references[GCCPOL]",
    )
    assert "'AAA' is not an assigned ISO 3166-1 alpha-3 code" in refused.reason
