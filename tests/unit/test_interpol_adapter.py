"""adapters.interpol: decoding the sample, every kind of bad input, encoding with losses,
refusals, and reference minting."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import Adapter, MalformedMessage, SchemaViolations, TranslationRefused
from adapters.interpol import ADAPTER, MAX_BODY_BYTES, decode_with_losses
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    Colour,
    Dissemination,
    Evaluation,
    Event,
    HandlingCode,
    LocalizedText,
    MessageKind,
    Notice,
    NoticeCategory,
    Offence,
    PartialDate,
    PersonName,
    Provenance,
    Reference,
    RequestedAction,
    Sex,
    Subject,
    SubjectRole,
    Tlp,
    Warrant,
)

SAMPLE = Path(__file__).parent.parent / "data" / "interpol-red-publish.json"


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text("utf-8"))
    return loaded


def body(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def violations(message: dict[str, Any] | bytes) -> dict[str, str]:
    raw = message if isinstance(message, bytes) else body(message)
    with pytest.raises(SchemaViolations) as info:
        ADAPTER.decode(raw)
    return {v.path: v.reason for v in info.value.violations}


# ---------------------------------------------------------------------------- decode


def test_sample_decodes_to_the_canonical_notice() -> None:
    message = ADAPTER.decode(SAMPLE.read_bytes())
    assert message.kind is MessageKind.PUBLISH
    assert message.sent_at == dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)
    assert message.sender == "ipsg"
    assert message.source_schema == "interpol"
    n = message.notice
    assert n.category is NoticeCategory.WANTED
    assert n.requested_action is RequestedAction.ARREST
    assert n.reference("INTERPOL") == "2026/48213"
    assert n.originating_country == "FR"
    assert n.issued == PartialDate(year=2026, month=11, day=20)
    s = n.subject
    assert s is not None
    assert s.role is SubjectRole.ACCUSED
    assert s.names == (
        PersonName(script="Latn", family="AL QAHTANI", given="MOHAMMED ABDULLAH SAAD"),
        PersonName(script="Arab", family="القحطاني", given="محمد عبدالله سعد"),
    )
    assert s.father_given == "ABDULLAH"
    assert s.mother_names == (PersonName(script="Latn", family="AL DOSARI", given="NOURA"),)
    assert s.aliases == (PersonName(script="Latn", family="AL-KAHTANI", given="MOHAMED"),)
    assert s.sex is Sex.MALE
    assert s.languages == ("ara", "eng")
    assert s.height_m == Decimal("1.78")
    assert str(s.height_m) == "1.78"  # exact, not a binary float
    assert s.weight_kg == Decimal(80)
    assert s.eye_colours == (Colour.BROWN,)
    assert s.hair_colours == (Colour.BLACK,)
    assert s.identity_documents[0].expiry_date == PartialDate(year=2029, month=1, day=31)
    assert n.offences == (
        Offence(
            descriptions=(
                LocalizedText(text="Vol à main armée"),
                LocalizedText(text="Armed robbery", lang="en"),
            ),
            warrant=Warrant(
                reference="PAR/2026/7781",
                issuing_country="FR",
                issuing_authority="Tribunal judiciaire de Paris",
                date=PartialDate(year=2026, month=9, day=1),
            ),
        ),
    )
    assert n.event is None
    assert n.dissemination == Dissemination(tlp=Tlp.AMBER)


def test_adapter_identity() -> None:
    adapter: Adapter = ADAPTER  # satisfies the protocol (checked by mypy)
    assert adapter.schema == "interpol"
    assert adapter.media_type == "application/vnd.interpol.notice+json"
    assert adapter.reference_system == "INTERPOL"


def test_partial_dates_and_offsets() -> None:
    msg = sample()
    msg["sent_at"] = "2026-11-20T10:15:00.5+02:00"
    msg["notice"]["date_of_birth"] = "1980/05"
    msg["notice"]["date_of_publication"] = "2026"
    decoded = ADAPTER.decode(body(msg))
    assert decoded.sent_at == dt.datetime(2026, 11, 20, 8, 15, 0, 500000, tzinfo=dt.UTC)
    assert decoded.notice.subject is not None
    assert decoded.notice.subject.birth_date == PartialDate(year=1980, month=5)
    assert decoded.notice.issued == PartialDate(year=2026)


def test_zero_height_and_weight_mean_unknown() -> None:
    msg = sample()
    msg["notice"]["height"] = 0
    msg["notice"]["weight"] = 0.0
    subject = ADAPTER.decode(body(msg)).notice.subject
    assert subject is not None
    assert subject.height_m is None
    assert subject.weight_kg is None


def test_original_script_that_is_not_arabic_is_zyyy() -> None:
    msg = sample()
    msg["notice"]["name_in_original_script"] = "ИВАНОВ"
    msg["notice"]["forename_in_original_script"] = None
    subject = ADAPTER.decode(body(msg)).notice.subject
    assert subject is not None
    assert subject.names[1] == PersonName(script="Zyyy", family="ИВАНОВ")


def test_cancel_carries_identification_and_reports_its_reason() -> None:
    msg = {
        "message_id": "0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1",
        "message_type": "notice.cancel",
        "sent_at": "2026-12-01T00:00:00Z",
        "sender_id": "ipsg",
        "notice": {
            "notice_type": "red",
            "entity_id": "2026/48213",
            "external_references": [{"system": "GCCPOL", "id": "GCC-SAU-1448-000001"}],
            "requesting_country_id": "FR",
            "cancel_reason": "Person arrested",
        },
    }
    decoded, losses = decode_with_losses(body(msg))
    assert decoded.kind is MessageKind.CANCEL
    assert decoded.notice.references == (
        Reference(system="INTERPOL", id="2026/48213"),
        Reference(system="GCCPOL", id="GCC-SAU-1448-000001"),
    )
    assert decoded.notice.subject is None
    assert [(x.field, x.source_value) for x in losses] == [
        ("notice.cancel_reason", "Person arrested")
    ]
    encoded = ADAPTER.encode(decoded)
    out = json.loads(encoded.body)
    assert out["notice"] == {
        "notice_type": "red",
        "entity_id": "2026/48213",
        "external_references": [{"system": "GCCPOL", "id": "GCC-SAU-1448-000001"}],
        "requesting_country_id": "FR",
    }
    assert ADAPTER.decode(encoded.body) == decoded


def test_cancel_may_not_carry_notice_content() -> None:
    msg = sample()
    msg["message_type"] = "notice.cancel"
    found = violations(msg)
    assert found["notice.name"].startswith("unknown key 'name'")
    assert "notice.is_diffusion" in found


# ---------------------------------------------------------------------------- hostile bytes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"message_id": ', "malformed JSON: Expecting value at line 1 column 16"),
        (b"\xff\xfe{}", "invalid UTF-8 at byte 0"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"height": NaN}', "NaN is not a JSON number"),
        (b'{"height": -Infinity}', "-Infinity is not a JSON number"),
        (b"[1, 2]", "the top level must be a JSON object; got array"),
        (b'"text"', "the top level must be a JSON object; got string"),
        (b'{"a": "\\ud800"}', "unpaired surrogate"),
        (b"", "malformed JSON: Expecting value at line 1 column 1"),
    ],
)
def test_malformed_bytes_say_why(raw: bytes, expected: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        ADAPTER.decode(raw)
    assert expected in str(info.value)


def test_oversized_body_is_refused_before_parsing() -> None:
    raw = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with pytest.raises(MalformedMessage, match="limit is 1048576"):
        ADAPTER.decode(raw)


def test_one_mebibyte_exactly_is_not_too_large() -> None:
    raw = b'{"pad": "' + b"x" * (MAX_BODY_BYTES - 11) + b'"}'
    assert len(raw) == MAX_BODY_BYTES
    with pytest.raises(SchemaViolations):  # parsed; then the schema objects
        ADAPTER.decode(raw)


@pytest.mark.parametrize("depth", [33, 100, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    raw = b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    with pytest.raises(MalformedMessage, match="deeper than 32"):
        ADAPTER.decode(raw)


def test_nesting_of_32_is_parsed() -> None:
    raw = b'{"a": ' + b"[" * 31 + b"]" * 31 + b"}"
    with pytest.raises(SchemaViolations):
        ADAPTER.decode(raw)


# ---------------------------------------------------------------------------- schema violations


def test_every_violation_is_reported_with_its_path() -> None:
    msg = sample()
    del msg["sender_id"]
    msg["notice"]["date_of_birth"] = "1980/04/31"
    msg["notice"]["nationalities"] = ["XX"]
    msg["notice"]["languages_spoken_ids"] = ["ARA", "DEU"]
    msg["notice"]["height"] = "1.78"
    msg["notice"]["is_diffusion"] = 1
    msg["notice"]["nickname"] = "Abu X"
    msg["notice"]["aliases"][0]["forename"] = 7
    found = violations(msg)
    assert found["sender_id"] == "required key 'sender_id' is missing"
    assert found["notice.date_of_birth"] == "no such date: '1980/04/31'"
    assert "'XX'" in found["notice.nationalities[0]"]
    assert "alpha-2" in found["notice.nationalities[0]"]
    assert "'DEU'" in found["notice.languages_spoken_ids[1]"]
    assert found["notice.height"] == "expected a JSON number; got string '1.78'"
    assert "got number 1" in found["notice.is_diffusion"]
    assert found["notice.nickname"].startswith("unknown key 'nickname'")
    assert "got number 7" in found["notice.aliases[0].forename"]
    assert len(found) == 8


@pytest.mark.parametrize(
    ("key", "value", "path", "fragment"),
    [
        ("date_of_birth", "1981/02/29", "notice.date_of_birth", "no such date"),
        ("date_of_birth", "2000/13", "notice.date_of_birth", "month must be 01-12"),
        ("date_of_birth", "13/05/1980", "notice.date_of_birth", "expected a date"),
        ("date_of_birth", "0000", "notice.date_of_birth", "year 0000"),
        ("entity_id", "2026/12345678", "notice.entity_id", "expected YYYY/N with 1-7 digits"),
        ("notice_type", "pink", "notice.notice_type", "got string 'pink'"),
        ("sex_id", "X", "notice.sex_id", "'M', 'F' or 'U'"),
        ("height", -1, "notice.height", "at least 0; got -1"),
        ("height", 3.5, "notice.height", "at most 3; got 3.5"),
        ("weight", 900, "notice.weight", "at most 700; got 900"),
        ("eyes_colors_id", ["PUR"], "notice.eyes_colors_id[0]", "got string 'PUR'"),
        ("hairs_id", ["BROH"], "notice.hairs_id[0]", "got string 'BROH'"),
        ("country_of_birth_id", "sa", "notice.country_of_birth_id", "alpha-2"),
        ("languages_spoken_ids", ["ara"], "notice.languages_spoken_ids[0]", "ISO 639-2/B"),
        ("languages_spoken_ids", ["XQZ"], "notice.languages_spoken_ids[0]", "'XQZ'"),
        ("name", "", "notice.name", "at least 1 character"),
        ("aliases", [{}], "notice.aliases[0]", "an alias needs a name or a forename"),
        ("date_of_event", "2026/11/01", "notice.date_of_event", "yellow and black notices only"),
        ("un_reference", "UN-1", "notice.un_reference", "un notices only"),
        ("arrest_warrants", [], "notice.arrest_warrants", "at least one arrest warrant"),
        ("nationalities", ["SA", "SA"], "notice.nationalities", "listed twice"),
        ("image_links", ["file:///etc/passwd"], "notice.image_links[0]", "https?"),
    ],
)
def test_field_rules(key: str, value: Any, path: str, fragment: str) -> None:
    msg = sample()
    msg["notice"][key] = value
    found = violations(msg)
    assert path in found, found
    assert fragment in found[path]


@pytest.mark.parametrize(
    ("key", "value", "path", "fragment"),
    [
        ("message_id", "not-a-uuid", "message_id", "expected a UUID"),
        ("message_type", "notice.delete", "message_type", "notice.publish, notice.update or"),
        ("sent_at", "2026-11-20T08:15:00", "sent_at", "RFC 3339 date-time with offset"),
        ("sent_at", "2026-02-30T08:15:00Z", "sent_at", "no such date-time"),
        ("sender_id", "has space", "sender_id", "participant id"),
    ],
)
def test_envelope_rules(key: str, value: Any, path: str, fragment: str) -> None:
    msg = sample()
    msg[key] = value
    found = violations(msg)
    assert fragment in found[path]


def test_diffusion_must_name_its_audience() -> None:
    msg = sample()
    msg["notice"]["is_diffusion"] = True
    found = violations(msg)
    assert "must name its audience" in found["notice.caveats.restricted_to_country_ids"]
    msg["notice"]["caveats"]["restricted_to_country_ids"] = ["DE"]
    assert ADAPTER.decode(body(msg)).notice.is_diffusion


def test_type_rules_are_reported_together_with_field_errors() -> None:
    msg = sample()
    msg["notice"]["notice_type"] = "blue"
    msg["notice"]["place"] = "Paris"
    msg["notice"]["sex_id"] = "Q"
    found = violations(msg)
    assert set(found) == {"notice.place", "notice.sex_id"}


def test_event_fields_belong_to_yellow() -> None:
    msg = sample()
    msg["notice"]["notice_type"] = "yellow"
    msg["notice"]["date_of_event"] = "2026/11/18"
    msg["notice"]["place"] = "Dubai International Airport"
    msg["notice"]["country"] = "AE"
    event = ADAPTER.decode(body(msg)).notice.event
    assert event == Event(
        date=PartialDate(year=2026, month=11, day=18),
        place=LocalizedText(text="Dubai International Airport"),
        country="AE",
    )


def test_external_reference_rules() -> None:
    msg = sample()
    msg["notice"]["external_references"] = [
        {"system": "INTERPOL", "id": "2026/1"},
    ]
    assert "entity_id" in violations(msg)["notice.external_references"]
    msg["notice"]["external_references"] = [
        {"system": "GCCPOL", "id": "A"},
        {"system": "GCCPOL", "id": "B"},
    ]
    assert "referenced twice" in violations(msg)["notice.external_references"]


def test_provenance_is_parsed() -> None:
    msg = sample()
    msg["_provenance"] = {
        "origin": "ae-moi",
        "origin_message_id": "0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1",
        "body_sha256": "ab" * 32,
        "keyid": "ae-moi-2026",
        "signature": "sig1=:AAAA:",
        "audit_index": 7,
        "losses": [{"field": "subject.kunya", "source_value": "أبو محمد", "reason": "no kunya"}],
    }
    decoded = ADAPTER.decode(body(msg))
    assert decoded.provenance is not None
    assert decoded.provenance.audit_index == 7
    assert decoded.provenance.losses[0].field == "subject.kunya"
    assert ADAPTER.decode(ADAPTER.encode(decoded).body) == decoded
    msg["_provenance"]["audit_index"] = -1
    assert "_provenance.audit_index" in violations(msg)


# ---------------------------------------------------------------------------- encode


def canonical(**notice: Any) -> CanonicalMessage:
    base: dict[str, Any] = {
        "category": NoticeCategory.INFO_REQUEST,
        "references": (Reference(system="INTERPOL", id="2026/1234567"),),
        "originating_country": "AE",
        "subject": Subject(
            names=(PersonName(script="Latn", family="AL MAZROUEI", given="MARYAM"),)
        ),
    }
    base.update(notice)
    return CanonicalMessage(
        message_id="0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1",
        kind=MessageKind.PUBLISH,
        sent_at=dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC),
        sender="gateway",
        source_schema="gccpol",
        notice=Notice(**base),
    )


def test_sample_re_encodes_in_documented_order_without_loss() -> None:
    decoded = ADAPTER.decode(SAMPLE.read_bytes())
    encoded = ADAPTER.encode(decoded)
    assert encoded.losses == ()
    assert json.loads(encoded.body) == sample()
    assert list(json.loads(encoded.body)["notice"]) == list(sample()["notice"])
    assert b" " not in encoded.body.replace(b"\xd8", b"").split(b'"notice"')[0]  # compact
    assert b'"height":1.78,' in encoded.body
    assert ADAPTER.encode(decoded).body == encoded.body  # deterministic


def test_gcc_style_notice_encodes_with_every_loss() -> None:
    arab = PersonName(
        script="Arab",
        lang="ar",
        first="مريم",
        father="خالد",
        grandfather="سالم",
        family="المزروعي",
        given="مريم خالد سالم",
    )
    latin = PersonName(
        script="Latn",
        lang="en",
        romanization="ICAO9303",
        first="MARYAM",
        father="KHALED",
        grandfather="SALEM",
        family="AL MAZROUEI",
        given="MARYAM KHALED SALEM",
    )
    message = canonical(
        category=NoticeCategory.MISSING,
        requested_action=RequestedAction.MONITOR,
        references=(
            Reference(system="GCCPOL", id="GCC-ARE-1448-000123"),
            Reference(system="INTERPOL", id="2026/1234567"),
        ),
        originating_agency=LocalizedText(text="وزارة الداخلية", lang="ar"),
        issued=PartialDate(year=2026, month=11, day=20),
        subject=Subject(
            role=SubjectRole.MISSING,
            names=(latin, arab),
            father_given="KHALED",
            mother_names=(PersonName(script="Arab", lang="ar", full="فاطمة الكعبي"),),
            kunya="أم خالد",
            laqab="الصغيرة",
            tribe="المزروعي",
            sex=Sex.FEMALE,
            birth_date=PartialDate(year=1991, month=1, day=16),  # 1 Rajab 1411
            eye_colours=(Colour.BROWN, Colour.BLOND),
            hair_colours=(Colour.HAZEL,),
        ),
        offences=(
            Offence(
                descriptions=(
                    LocalizedText(text="اختطاف", lang="ar"),
                    LocalizedText(text="Abduction", lang="en"),
                    LocalizedText(text="Enlèvement", lang="fr"),
                ),
                legal_basis="Penal Code art. 344",
            ),
        ),
        event=Event(place=LocalizedText(text="Dubai International Airport", lang="en")),
        dissemination=Dissemination(
            classification=Classification.RESTRICTED, handling_codes=(HandlingCode.H0,)
        ),
        evaluation=Evaluation(source_reliability="B", information_accuracy="2"),
    )
    encoded = ADAPTER.encode(message)
    losses = {x.field: x for x in encoded.losses}
    expected = {
        "notice.requested_action",
        "notice.originating_agency",
        "notice.evaluation.source_reliability",
        "notice.evaluation.information_accuracy",
        "subject.kunya",
        "subject.laqab",
        "subject.tribe",
        "subject.birth_date",
        "subject.mother_names[0]",
        "subject.names[Latn].romanization",
        "subject.names[Latn].lang",
        "subject.names[Arab].lang",
        "subject.eye_colours[1]",
        "subject.hair_colours[0]",
        "notice.offences[0].descriptions[0].lang",
        "notice.offences[0].descriptions[2]",
        "notice.offences[0].legal_basis",
        "notice.event.place.lang",
        "notice.dissemination.handling_codes[0]",
    }
    assert set(losses) == expected
    assert losses["subject.kunya"].source_value == "أم خالد"
    assert losses["subject.eye_colours[1]"].source_value == "blond"
    assert "1 Rajab 1411" in losses["subject.birth_date"].reason
    assert losses["subject.birth_date"].source_value == "1991-01-16"
    assert losses["notice.dissemination.handling_codes[0]"].reason == (
        "handling code H0 not expressible"
    )
    assert losses["notice.requested_action"].source_value == "monitor"
    out = json.loads(encoded.body)["notice"]
    assert out["external_references"] == [{"system": "GCCPOL", "id": "GCC-ARE-1448-000123"}]
    assert out["name"] == "AL MAZROUEI"
    assert out["forename"] == "MARYAM KHALED SALEM"  # the join is exact: no loss
    assert out["forename_in_original_script"] == "مريم خالد سالم"
    assert out["mother_name"] is None
    assert out["date_of_birth"] == "1991/01/16"  # carried exactly
    assert out["eyes_colors_id"] == ["BRO", "OTHD"]
    assert out["hairs_id"] == ["OTHD"]
    assert out["arrest_warrants"][0]["charge"] == "اختطاف"
    assert out["arrest_warrants"][0]["charge_translation"] == "Abduction"
    assert out["place"] == "Dubai International Airport"
    assert out["caveats"]["tlp"] == "TLP:AMBER"  # RESTRICTED → AMBER: the inverse, no loss
    decoded = ADAPTER.decode(encoded.body)  # what we send, we accept
    assert decoded.notice.subject is not None
    assert decoded.notice.subject.birth_date == PartialDate(year=1991, month=1, day=16)


def test_no_rajab_loss_on_other_days_or_partial_dates() -> None:
    for birth in (PartialDate(year=1991, month=1, day=17), PartialDate(year=1991, month=1)):
        encoded = ADAPTER.encode(canonical(subject=Subject(birth_date=birth)))
        assert encoded.losses == ()


def test_english_only_charge_fills_both_keys_and_round_trips() -> None:
    offence = Offence(descriptions=(LocalizedText(text="Armed robbery", lang="en"),))
    message = canonical(category=NoticeCategory.WANTED, offences=(offence,))
    encoded = ADAPTER.encode(message)
    warrant = json.loads(encoded.body)["notice"]["arrest_warrants"][0]
    assert warrant["charge"] == warrant["charge_translation"] == "Armed robbery"
    assert ADAPTER.decode(encoded.body).notice.offences == (offence,)


def test_latin_mother_name_as_one_string_goes_to_mother_name() -> None:
    mother = PersonName(script="Latn", full="FATIMA AL KAABI")
    encoded = ADAPTER.encode(canonical(subject=Subject(mother_names=(mother,))))
    out = json.loads(encoded.body)["notice"]
    assert (out["mother_forename"], out["mother_name"]) == (None, "FATIMA AL KAABI")
    assert encoded.losses == ()


def test_image_links_are_carried_with_a_loss_each() -> None:
    links = ("https://img.example.org/a.jpg", "https://img.example.org/b.jpg")
    encoded = ADAPTER.encode(canonical(subject=Subject(image_links=links)))
    assert [x.reason for x in encoded.losses] == ["image carried as a reference only"] * 2
    assert json.loads(encoded.body)["notice"]["image_links"] == list(links)


def test_tlp_given_wins_over_classification_with_a_loss() -> None:
    dissemination = Dissemination(tlp=Tlp.RED, classification=Classification.UNCLASSIFIED)
    encoded = ADAPTER.encode(canonical(dissemination=dissemination))
    assert json.loads(encoded.body)["notice"]["caveats"]["tlp"] == "TLP:RED"
    assert [x.field for x in encoded.losses] == ["notice.dissemination.classification"]


def test_height_and_weight_are_written_exactly() -> None:
    subject = Subject(height_m=Decimal("1.625"), weight_kg=Decimal("55.5"))
    encoded = ADAPTER.encode(canonical(subject=subject))
    assert b'"height":1.625,"weight":55.5' in encoded.body


def test_provenance_is_written_last() -> None:
    provenance = Provenance(
        origin="ae-moi",
        origin_message_id="m-1",
        body_sha256=hashlib.sha256(b"x").hexdigest(),
        keyid="ae-moi-2026",
        signature="sig1=:AAAA:",
        audit_index=3,
    )
    message = canonical().model_copy(update={"provenance": provenance})
    out = json.loads(ADAPTER.encode(message).body)
    assert list(out)[-1] == "_provenance"
    assert out["_provenance"]["audit_index"] == 3


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("notice", "code", "field"),
    [
        ({"references": ()}, "required-field-unavailable", "notice.references[INTERPOL]"),
        ({"originating_country": None}, "required-field-unavailable", "notice.originating_country"),
        ({"originating_country": "XK"}, "unknown-country", "notice.originating_country"),
        ({"subject": Subject(sex=Sex.NOT_APPLICABLE)}, "sex-not-applicable", "subject.sex"),
        (
            {"subject": Subject(nationalities=("ZZ",))},
            "unknown-country",
            "subject.nationalities[0]",
        ),
        ({"category": NoticeCategory.WANTED}, "missing-judicial-data", "notice.offences"),
        (
            {
                "category": NoticeCategory.WANTED,
                "offences": (Offence(legal_basis="art. 1", warrant=Warrant(issuing_country="FR")),),
            },
            "missing-judicial-data",
            "notice.offences",
        ),
        (
            {"dissemination": Dissemination(handling_codes=(HandlingCode.H0, HandlingCode.H2))},
            "dissemination-downgrade",
            "notice.dissemination.handling_codes[1]",
        ),
        (
            {"dissemination": Dissemination(handling_codes=(HandlingCode.H3,), handling_note="x")},
            "dissemination-downgrade",
            "notice.dissemination.handling_codes[0]",
        ),
        (
            {"dissemination": Dissemination(classification=Classification.CONFIDENTIAL)},
            "dissemination-downgrade",
            "notice.dissemination.classification",
        ),
        (
            {"dissemination": Dissemination(tlp=Tlp.AMBER, classification=Classification.SECRET)},
            "dissemination-downgrade",
            "notice.dissemination.classification",
        ),
        ({"subject": Subject(height_m=Decimal("3.5"))}, "invalid-value", "notice.height"),
    ],
)
def test_refusals(notice: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(TranslationRefused) as info:
        ADAPTER.encode(canonical(**notice))
    assert (info.value.code, info.value.field) == (code, field)


def test_un_notice_encodes_and_its_fields_stay() -> None:
    message = canonical(
        category=NoticeCategory.UN_SPECIAL, un_reference="QDi.001", un_resolution="1267"
    )
    out = json.loads(ADAPTER.encode(message).body)["notice"]
    assert (out["notice_type"], out["un_reference"]) == ("un", "QDi.001")


def test_event_on_a_blue_notice_is_a_loss() -> None:
    message = canonical(event=Event(country="AE"))
    encoded = ADAPTER.encode(message)
    assert [x.field for x in encoded.losses] == ["notice.event.country"]
    assert json.loads(encoded.body)["notice"]["country"] is None


def test_naive_sent_at_is_refused() -> None:
    message = canonical().model_copy(update={"sent_at": dt.datetime(2026, 1, 1)})
    with pytest.raises(TranslationRefused) as info:
        ADAPTER.encode(message)
    assert info.value.field == "sent_at"


# ---------------------------------------------------------------------------- references


def test_mint_reference_follows_the_convention() -> None:
    notice = Notice(
        category=NoticeCategory.MISSING,
        issued=PartialDate(year=2026, month=11),
        references=(Reference(system="GCCPOL", id="GCC-ARE-1448-000123"),),
    )
    digest = hashlib.sha256(b"GCCPOL:GCC-ARE-1448-000123").hexdigest()
    assert ADAPTER.mint_reference(notice) == f"2026/{int(digest, 16) % 10**7}"
    assert ADAPTER.mint_reference(notice) == ADAPTER.mint_reference(copy.deepcopy(notice))


def test_mint_reference_sorts_references_and_defaults_the_year() -> None:
    refs = (Reference(system="X", id="2"), Reference(system="GCCPOL", id="1"))
    notice = Notice(category=NoticeCategory.WARNING, references=refs)
    swapped = Notice(category=NoticeCategory.WARNING, references=refs[::-1])
    minted = ADAPTER.mint_reference(notice)
    digest = hashlib.sha256(b"GCCPOL:1\nX:2").hexdigest()
    assert minted == f"1970/{int(digest, 16) % 10**7}"
    assert ADAPTER.mint_reference(swapped) == minted
    assert not minted.split("/")[1].startswith("0")
