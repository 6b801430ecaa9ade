"""The GCCPOL-side wire model: an Arabic-first XML alert (spec/schemas.md, "GCCPOL side").

Namespace ``urn:gccpol:alert:1``, ``schemaVersion="1.0"``. Each pydantic model below is one
XML element: a field's alias is the child element's local name (``"AlertID"``), ``"@name"``
an attribute (``"@xml:lang"`` the XML namespace's ``lang``), ``"#text"`` the element's own
text. Field order is the element order (``xs:sequence`` in schemas/gccpol-alert.xsd); a
``tuple`` field is a repeated element. `read_message` builds the models from a parsed tree
(unknown, misplaced and repeated elements, unknown attributes, stray text are reported with
their path) and `write_message` renders a model back into XML, both driven by the same field
layout, so the reader, the writer and the XSD name the same elements (a unit test walks the
XSD and compares). `write_message` builds the text itself; `write_message_lxml`, through
lxml elements, is the reference it must match byte for byte.

Every value keeps its wire form (codes as written, dates as ``YYYY-MM-DD`` strings), after
XML Schema's ``collapse`` whitespace rule for token values, so re-encoding a decoded alert
gives the same text. Rules the XSD cannot state (assigned country and language codes,
calendars that agree, rules by message kind and category) are checked by the models; the
XSD states the structure and the lexical forms and is checked as well.

The date-pair rule uses `schemas.hijri` and the code lists `schemas.codes` (leaf modules
that depend only on field libraries and `schemas.canonical`): schemas import nothing from
adapters or gateway (tests/unit/test_layering.py).
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast

from lxml import etree
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from schemas import codes, hijri
from schemas.text import refuse_hidden_characters

__all__ = [
    "NAMESPACE",
    "SCHEMA_VERSION",
    "XSD_PATH",
    "Alert",
    "Description",
    "DualDate",
    "Event",
    "ExternalReference",
    "Handling",
    "Header",
    "IdentityDocument",
    "LangText",
    "Message",
    "Name",
    "Offence",
    "PhysicalDescription",
    "Place",
    "Provenance",
    "ProvenanceLoss",
    "Subject",
    "Warrant",
    "WireProblem",
    "alert_xsd",
    "collapse",
    "element_names",
    "message_element",
    "read_message",
    "serialize",
    "write_message",
    "write_message_lxml",
    "xsd_problems",
]

NAMESPACE: Final = "urn:gccpol:alert:1"
SCHEMA_VERSION: Final = "1.0"
XML_NAMESPACE: Final = "http://www.w3.org/XML/1998/namespace"
XSD_PATH: Final = Path(__file__).with_name("gccpol-alert.xsd")
ARABIC_LETTERS: Final = re.compile(
    "[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
)


# ============================================================================ value types


_XML_SPACE = re.compile(r"[ \t\r\n]+")


def collapse(value: object) -> object:
    """XML Schema ``whiteSpace="collapse"``: runs of space/tab/CR/LF → one space, trimmed."""
    if isinstance(value, str):
        if " " not in value and "\t" not in value and "\n" not in value and "\r" not in value:
            return value
        return _XML_SPACE.sub(" ", value).strip(" ")
    return value


_Collapse = BeforeValidator(collapse)


def _assigned_alpha3(code: str) -> str:
    if not codes.is_alpha3(code):
        raise ValueError(f"{code!r} is not an assigned ISO 3166-1 alpha-3 code")
    return code


def _assigned_639_1(code: str) -> str:
    if codes.language_from_639_1(code) is None:
        raise ValueError(f"{code!r} is not an ISO 639-1 language code")
    return code


def _check_alert_id(value: str) -> str:
    _, state, year, _ = value.split("-")
    _assigned_alpha3(state)
    if not hijri.HIJRI_FIRST.year <= int(year) <= hijri.HIJRI_LAST.year:
        raise ValueError(
            f"the Hijri year in {value!r} must be {hijri.HIJRI_FIRST.year}-"
            f"{hijri.HIJRI_LAST.year}, got {year}"
        )
    return value


def _check_releasable(value: str) -> str:
    if value == "ALL":
        return value
    seen: set[str] = set()
    for code in value.split(" "):
        _assigned_alpha3(code)
        if code in seen:
            raise ValueError(f"{code} is listed twice")
        seen.add(code)
    return value


def _check_datetime(value: str) -> str:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    return value


def _check_hijri(value: str) -> str:
    try:
        hijri.parse_hijri(value)
    except hijri.CalendarError as exc:
        raise ValueError(exc.reason) from None
    return value


def _check_gregorian(value: str) -> str:
    try:
        hijri.parse_gregorian(value)
    except hijri.CalendarError as exc:
        raise ValueError(exc.reason) from None
    return value


def _pattern(regex: str) -> Any:
    """A token pattern; the XSD states the same pattern (without the anchors)."""
    return Field(pattern=f"^(?:{regex})$")


# Lexical forms the encoder also checks itself (adapters.gccpol, before building a model
# without validation): one pattern each, here.
MESSAGE_ID_PATTERN: Final = (
    "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
SENDER_ID_PATTERN: Final = "[A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}"
SENT_AT_PATTERN: Final = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?"
    "(Z|[+\\-][0-9]{2}:[0-9]{2})"
)
SYSTEM_NAME_PATTERN: Final = "[A-Z][A-Z0-9_\\-]{0,31}"
AUDIT_INDEX_PATTERN: Final = "[0-9]{1,18}"
SHA256_HEX_PATTERN: Final = "[0-9a-f]{64}"


Token = Annotated[
    str, _Collapse, Field(min_length=1, max_length=1000), AfterValidator(refuse_hidden_characters)
]
LongToken = Annotated[
    str, _Collapse, Field(min_length=1, max_length=4000), AfterValidator(refuse_hidden_characters)
]
RawText = Annotated[str, Field(max_length=4096)]  # kept as written (provenance)
Alpha3 = Annotated[str, _Collapse, _pattern("[A-Z]{3}"), AfterValidator(_assigned_alpha3)]
Lang1 = Annotated[str, _Collapse, _pattern("[a-z]{2}"), AfterValidator(_assigned_639_1)]
XmlLang = Annotated[str, _Collapse, _pattern("[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")]
MessageId = Annotated[str, _Collapse, _pattern(MESSAGE_ID_PATTERN)]
SenderId = Annotated[str, _Collapse, _pattern(SENDER_ID_PATTERN)]
SentAt = Annotated[str, _Collapse, _pattern(SENT_AT_PATTERN), AfterValidator(_check_datetime)]
AlertId = Annotated[
    str, _Collapse, _pattern("GCC-[A-Z]{3}-[0-9]{4}-[0-9]{6}"), AfterValidator(_check_alert_id)
]
SystemName = Annotated[str, _Collapse, _pattern(SYSTEM_NAME_PATTERN)]
IsoDateText = Annotated[str, _Collapse, _pattern("[0-9]{4}-[0-9]{2}-[0-9]{2}")]
HeightCm = Annotated[str, _Collapse, _pattern("[0-9]{1,2}|[12][0-9]{2}|300")]
WeightKg = Annotated[str, _Collapse, _pattern("[0-9]{1,2}|[1-6][0-9]{2}|700")]
Years = Annotated[str, _Collapse, _pattern("[0-9]{1,3}")]
AuditIndex = Annotated[str, _Collapse, _pattern(AUDIT_INDEX_PATTERN)]
Sha256Hex = Annotated[str, _Collapse, _pattern(SHA256_HEX_PATTERN)]
ReleasableTo = Annotated[
    str, _Collapse, _pattern("ALL|[A-Z]{3}( [A-Z]{3})*"), AfterValidator(_check_releasable)
]
ImageUrl = Annotated[str, _Collapse, _pattern("https?://[^\\s]+"), Field(max_length=2048)]

MessageTypeCode = Annotated[Literal["NEW", "AMEND", "WITHDRAW"], _Collapse]
CategoryCode = Annotated[
    Literal[
        "WANTED",
        "MISSING",
        "UNIDENTIFIED_BODY",
        "INFO_REQUEST",
        "WARNING",
        "THREAT",
        "MODUS_OPERANDI",
    ],
    _Collapse,
]
ActionCode = Annotated[Literal["ARREST", "LOCATE", "IDENTIFY", "INFORM", "MONITOR"], _Collapse]
RoleCode = Annotated[
    Literal[
        "ACCUSED",
        "CONVICTED",
        "SUSPECT",
        "MISSING",
        "ABDUCTED",
        "UNIDENTIFIED",
        "WITNESS",
        "VICTIM",
        "PERSON_OF_INTEREST",
    ],
    _Collapse,
]
SexCode = Annotated[Literal["0", "1", "2", "9"], _Collapse]
ColourCode = Annotated[
    Literal["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "99"], _Collapse
]
ClassificationCode = Annotated[
    Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"], _Collapse
]
HandlingCodeValue = Annotated[Literal["H0", "H1", "H2", "H3"], _Collapse]
Reliability = Annotated[Literal["A", "B", "C", "X"], _Collapse]
Accuracy = Annotated[Literal["1", "2", "3", "4"], _Collapse]
Script = Annotated[Literal["Arab", "Latn"], _Collapse]
Romanization = Annotated[Literal["ICAO9303", "UNGEGN", "ALA-LC", "NATIONAL", "UNKNOWN"], _Collapse]
Precision = Annotated[Literal["day", "month", "year"], _Collapse]
SchemaVersion = Annotated[Literal["1.0"], _Collapse]


class _Xml(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)


def _unique(values: tuple[str, ...], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value} is given twice")
        seen.add(value)


def _kind(info: ValidationInfo) -> str | None:
    context = info.context
    return context.get("kind") if isinstance(context, dict) else None


# ============================================================================ elements


class LangText(_Xml):
    """Text with an optional ``xml:lang``."""

    text: Token = Field(alias="#text")
    lang: XmlLang | None = Field(default=None, alias="@xml:lang")


class LongLangText(_Xml):
    text: LongToken = Field(alias="#text")
    lang: XmlLang | None = Field(default=None, alias="@xml:lang")


class Description(_Xml):
    """An offence description; ``xml:lang`` is required (``und`` = not stated)."""

    text: LongToken = Field(alias="#text")
    lang: XmlLang = Field(alias="@xml:lang")


class DualDate(_Xml):
    """A date in both calendars (schemas.hijri states the agreement rule)."""

    precision: Precision | None = Field(default=None, alias="@precision")  # None = day
    hijri: Annotated[IsoDateText, AfterValidator(_check_hijri)] = Field(alias="Hijri")
    gregorian: Annotated[IsoDateText, AfterValidator(_check_gregorian)] = Field(alias="Gregorian")

    @model_validator(mode="after")
    def _calendars_agree(self) -> DualDate:
        try:
            hijri.check_pair(self.hijri, self.gregorian, self.precision or "day")
        except hijri.CalendarError as exc:
            raise ValueError(exc.reason) from None
        return self


class ExternalReference(_Xml):
    system: SystemName = Field(alias="@system")
    id: Token = Field(alias="#text")


class Handling(_Xml):
    classification: ClassificationCode = Field(alias="Classification")
    handling_codes: tuple[HandlingCodeValue, ...] = Field(default=(), alias="HandlingCode")
    handling_note: LongToken | None = Field(default=None, alias="HandlingNote")
    releasable_to: ReleasableTo = Field(alias="ReleasableTo")
    source_reliability: Reliability | None = Field(default=None, alias="SourceReliability")
    information_accuracy: Accuracy | None = Field(default=None, alias="InformationAccuracy")

    @model_validator(mode="after")
    def _note_with_h3(self) -> Handling:
        _unique(self.handling_codes, "HandlingCode")
        if "H3" in self.handling_codes and self.handling_note is None:
            raise ValueError("HandlingCode H3 (other restriction) needs a HandlingNote")
        if self.handling_note is not None and "H3" not in self.handling_codes:
            raise ValueError("a HandlingNote belongs to HandlingCode H3, which is absent")
        return self


class Header(_Xml):
    alert_id: AlertId = Field(alias="AlertID")
    external_references: tuple[ExternalReference, ...] = Field(
        default=(), alias="ExternalReference"
    )
    alert_category: CategoryCode = Field(alias="AlertCategory")
    requested_action: ActionCode | None = Field(default=None, alias="RequestedAction")
    originating_state: Alpha3 = Field(alias="OriginatingState")
    originating_agency: LangText | None = Field(default=None, alias="OriginatingAgency")
    issue_date: DualDate | None = Field(default=None, alias="IssueDate")
    handling: Handling | None = Field(default=None, alias="Handling")
    withdrawal_reason: LongLangText | None = Field(default=None, alias="WithdrawalReason")

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Header:
        problems: list[str] = []
        systems = [ref.system for ref in self.external_references]
        if "GCCPOL" in systems:
            problems.append("the GCCPOL identifier is AlertID, not an ExternalReference")
        for system in sorted({s for s in systems if systems.count(s) > 1}):
            problems.append(f"ExternalReference system {system} is given twice")
        kind = _kind(info)
        if kind in ("NEW", "AMEND"):
            for alias, value in (
                ("RequestedAction", self.requested_action),
                ("IssueDate", self.issue_date),
                ("Handling", self.handling),
            ):
                if value is None:
                    problems.append(f"{alias} is required in a {kind} message")
            if self.withdrawal_reason is not None:
                problems.append(f"WithdrawalReason belongs to WITHDRAW, not {kind}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Name(_Xml):
    script: Script = Field(alias="@script")
    lang: XmlLang | None = Field(default=None, alias="@xml:lang")
    romanization: Romanization | None = Field(default=None, alias="@romanization")
    first: Token | None = Field(default=None, alias="FirstName")
    father: Token | None = Field(default=None, alias="FatherName")
    grandfather: Token | None = Field(default=None, alias="GrandfatherName")
    family: Token | None = Field(default=None, alias="FamilyName")

    @model_validator(mode="after")
    def _rules(self) -> Name:
        if self.script == "Latn" and self.romanization is None:
            raise ValueError('a Latin name (script="Latn") needs its romanization attribute')
        if self.script == "Arab" and self.romanization is not None:
            raise ValueError('romanization belongs to the Latin name, not script="Arab"')
        if not (self.first or self.father or self.grandfather or self.family):
            raise ValueError(
                "a Name needs at least one of FirstName, FatherName, GrandfatherName, FamilyName"
            )
        return self


class Place(_Xml):
    locality: LangText | None = Field(default=None, alias="Locality")
    country: Alpha3 | None = Field(default=None, alias="Country")


class PhysicalDescription(_Xml):
    height_cm: HeightCm | None = Field(default=None, alias="HeightCm")
    weight_kg: WeightKg | None = Field(default=None, alias="WeightKg")
    eye_colour: ColourCode | None = Field(default=None, alias="EyeColour")
    hair_colour: ColourCode | None = Field(default=None, alias="HairColour")
    distinguishing_marks: LongLangText | None = Field(default=None, alias="DistinguishingMarks")


class IdentityDocument(_Xml):
    type: Token = Field(alias="Type")
    number: Token = Field(alias="Number")
    issuing_state: Alpha3 | None = Field(default=None, alias="IssuingState")
    expiry_date: DualDate | None = Field(default=None, alias="ExpiryDate")


class Subject(_Xml):
    role: RoleCode | None = Field(default=None, alias="@role")
    names: tuple[Name, ...] = Field(alias="Name", min_length=1, max_length=2)
    kunya: Token | None = Field(default=None, alias="Kunya")
    laqab: Token | None = Field(default=None, alias="Laqab")
    tribe: Token | None = Field(default=None, alias="Tribe")
    aliases: tuple[LangText, ...] = Field(default=(), alias="Alias")
    mother_names: tuple[LangText, ...] = Field(default=(), alias="MotherName")
    sex: SexCode | None = Field(default=None, alias="Sex")
    birth_date: DualDate | None = Field(default=None, alias="BirthDate")
    birth_place: Place | None = Field(default=None, alias="BirthPlace")
    nationalities: tuple[Alpha3, ...] = Field(default=(), alias="Nationality")
    languages: tuple[Lang1, ...] = Field(default=(), alias="Language")
    physical: PhysicalDescription | None = Field(default=None, alias="PhysicalDescription")
    identity_documents: tuple[IdentityDocument, ...] = Field(default=(), alias="IdentityDocument")
    image_references: tuple[ImageUrl, ...] = Field(default=(), alias="ImageReference")

    @model_validator(mode="after")
    def _rules(self) -> Subject:
        scripts = [name.script for name in self.names]
        if len(set(scripts)) != len(scripts):
            raise ValueError("one Name per script: two names have the same script")
        if "Arab" not in scripts:
            raise ValueError('the Arabic name (Name script="Arab") is required')
        _unique(self.nationalities, "Nationality")
        _unique(self.languages, "Language")
        return self


class Warrant(_Xml):
    reference: Token | None = Field(default=None, alias="Reference")
    issuing_state: Alpha3 | None = Field(default=None, alias="IssuingState")
    issuing_authority: Token | None = Field(default=None, alias="IssuingAuthority")
    date: DualDate | None = Field(default=None, alias="Date")

    @model_validator(mode="after")
    def _says_something(self) -> Warrant:
        if not (self.reference or self.issuing_state or self.issuing_authority or self.date):
            raise ValueError(
                "a Warrant needs at least one of Reference, IssuingState, IssuingAuthority, Date"
            )
        return self


class Offence(_Xml):
    descriptions: tuple[Description, ...] = Field(alias="Description", min_length=1)
    legal_basis: LongToken | None = Field(default=None, alias="LegalBasis")
    max_penalty_years: Years | None = Field(default=None, alias="MaxPenaltyYears")
    warrant: Warrant | None = Field(default=None, alias="Warrant")


class Event(_Xml):
    date: DualDate | None = Field(default=None, alias="Date")
    place: LangText | None = Field(default=None, alias="Place")
    state: Alpha3 | None = Field(default=None, alias="State")


class Alert(_Xml):
    header: Header = Field(alias="Header")
    subject: Subject | None = Field(default=None, alias="Subject")
    offences: tuple[Offence, ...] = Field(default=(), alias="Offence")
    event: Event | None = Field(default=None, alias="Event")

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Alert:
        kind = _kind(info)
        problems: list[str] = []
        if kind in ("NEW", "AMEND"):
            if self.subject is None:
                problems.append(f"Subject is required in a {kind} message")
            if self.header.alert_category == "WANTED" and not self.offences:
                problems.append("a WANTED alert needs at least one Offence (judicial data)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ProvenanceLoss(_Xml):
    field: Annotated[str, Field(min_length=1, max_length=300)] = Field(alias="@field")
    source_value: RawText = Field(alias="@sourceValue")
    reason: Annotated[str, Field(min_length=1, max_length=1000)] = Field(alias="#text")


class Provenance(_Xml):
    origin: SenderId = Field(alias="Origin")
    origin_message_id: Annotated[str, _Collapse, Field(min_length=1, max_length=128)] = Field(
        alias="OriginMessageID"
    )
    body_sha256: Sha256Hex = Field(alias="BodySHA256")
    keyid: Annotated[str, _Collapse, Field(min_length=1, max_length=256)] = Field(alias="KeyID")
    signature: Annotated[str, _Collapse, Field(min_length=1, max_length=4096)] = Field(
        alias="Signature"
    )
    audit_index: AuditIndex = Field(alias="AuditIndex")
    losses: tuple[ProvenanceLoss, ...] = Field(default=(), alias="Loss")


class Message(_Xml):
    """The root element ``Message``."""

    schema_version: SchemaVersion = Field(alias="@schemaVersion")
    message_id: MessageId = Field(alias="MessageID")
    message_type: MessageTypeCode = Field(alias="MessageType")
    sent_at: SentAt = Field(alias="SentAt")
    sender: SenderId = Field(alias="Sender")
    alert: Alert = Field(alias="Alert")
    provenance: Provenance | None = Field(default=None, alias="Provenance")


# ============================================================================ layout


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str  # field name
    xml: str  # alias: element local name, "@attr" or "#text"
    model: type[_Xml] | None  # child element's model; None = simple text
    repeated: bool


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element type of a field annotation and whether it repeats."""
    repeated = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is tuple:
            annotation, repeated = typing.get_args(annotation)[0], True
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, repeated


@cache
def _layout(model: type[_Xml]) -> tuple[_Slot, ...]:
    slots: list[_Slot] = []
    for name, info in model.model_fields.items():
        inner, repeated = _unwrap(info.annotation)
        child = inner if isinstance(inner, type) and issubclass(inner, _Xml) else None
        slots.append(_Slot(name, info.alias or name, child, repeated))
    return tuple(slots)


def element_names() -> tuple[frozenset[str], frozenset[str]]:
    """(element names, attribute names) the models know, for the XSD comparison test."""
    elements: set[str] = {"Message"}
    attributes: set[str] = set()
    seen: set[type[_Xml]] = set()
    todo: list[type[_Xml]] = [Message]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for slot in _layout(model):
            if slot.xml.startswith("@"):
                attributes.add(slot.xml[1:])
            elif slot.xml != "#text":
                elements.add(slot.xml)
            if slot.model is not None:
                todo.append(slot.model)
    return frozenset(elements), frozenset(attributes)


# ============================================================================ reading


@dataclass(frozen=True, slots=True)
class WireProblem:
    path: str  # "/Message/Alert/Subject/BirthDate/Hijri"
    reason: str


def _attribute_alias(key: str | bytes) -> str:
    qname = etree.QName(key)
    if qname.namespace == XML_NAMESPACE:
        return f"@xml:{qname.localname}"
    if qname.namespace is None:
        return f"@{qname.localname}"
    return f"@{{{qname.namespace}}}{qname.localname}"


def _only_whitespace(text: str | None) -> bool:
    return text is None or not text.strip(" \t\r\n")


@dataclass(frozen=True, slots=True)
class _Reader:
    """A model's layout indexed the way the parsed tree presents it (built once per model)."""

    attributes: dict[str, str]  # lxml attribute key → alias
    children: dict[str, tuple[int, _Slot]]  # Clark-notation tag → (position, slot)
    has_text: bool
    order: str


@cache
def _reader(model: type[_Xml]) -> _Reader:
    layout = _layout(model)
    return _Reader(
        attributes={_qualified(s.xml): s.xml for s in layout if s.xml.startswith("@")},
        children={
            f"{{{NAMESPACE}}}{s.xml}": (i, s)
            for i, s in enumerate(layout)
            if not s.xml.startswith(("@", "#"))
        },
        has_text=any(s.xml == "#text" for s in layout),
        order=", ".join(s.xml for s in layout if not s.xml.startswith(("@", "#"))),
    )


def _read(
    element: etree._Element, model: type[_Xml], path: str, problems: list[WireProblem]
) -> dict[str, Any]:
    reader = _reader(model)
    data: dict[str, Any] = {}
    for key, value in element.items():
        alias = reader.attributes.get(str(key))
        if alias is None:
            problems.append(WireProblem(f"{path}/{_attribute_alias(key)}", "unknown attribute"))
        else:
            data[alias] = value
    has_text = reader.has_text
    if has_text:
        data["#text"] = element.text or ""
    elif not _only_whitespace(element.text):
        problems.append(WireProblem(path, "text is not allowed here, only child elements"))
    position = -1
    counts: dict[str, int] = {}
    children = reader.children
    for child in element:
        tag = child.tag
        if tag.__class__ is not str and isinstance(child, etree._Comment):
            if not has_text and not _only_whitespace(child.tail):
                problems.append(WireProblem(path, "text is not allowed here"))
            continue
        if has_text:
            name = etree.QName(child).localname
            problems.append(
                WireProblem(f"{path}/{name}", "no child element is allowed here, only text")
            )
            continue
        tail = child.tail  # inline `_only_whitespace`: this loop runs for every element
        if tail is not None and tail.strip(" \t\r\n"):
            problems.append(WireProblem(path, "text is not allowed here, only child elements"))
        found = children.get(tag if tag.__class__ is str else str(tag))
        if found is None:
            qname = etree.QName(child)
            where = f"{{{qname.namespace}}}" if qname.namespace != NAMESPACE else ""
            problems.append(
                WireProblem(
                    f"{path}/{where}{qname.localname}", f"unknown element in {model.__name__}"
                )
            )
            continue
        index, slot = found
        xml = slot.xml
        count = counts[xml] = counts.get(xml, 0) + 1
        child_path = f"{path}/{xml}[{count}]" if slot.repeated else f"{path}/{xml}"
        if index < position:
            problems.append(
                WireProblem(child_path, f"element out of order; the order is: {reader.order}")
            )
        if count > 1 and not slot.repeated:
            problems.append(WireProblem(child_path, "element may appear only once"))
            continue
        position = max(position, index)
        item: Any
        if slot.model is not None:
            item = _read(child, slot.model, child_path, problems)
        else:
            for key, _ in child.items():
                problems.append(
                    WireProblem(f"{child_path}/{_attribute_alias(key)}", "unknown attribute")
                )
            if len(child):
                problems.append(WireProblem(child_path, "only text is allowed here"))
            item = child.text or ""
        if slot.repeated:
            data.setdefault(xml, []).append(item)
        else:
            data[xml] = item
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = tuple(value)
    return data


def _loc_path(loc: tuple[int | str, ...], model: type[_Xml]) -> str:
    path = ""
    current: type[_Xml] | None = model
    for part in loc:
        if isinstance(part, int):
            path += f"[{part + 1}]"
            continue
        if part == "#text":
            continue
        path += f"/{part}"
        slot = next((s for s in _layout(current) if s.xml == part), None) if current else None
        current = slot.model if slot else None
    return path


def _describe(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        last = str(loc[-1]) if loc else "?"
        what = (
            f"attribute {last[1:]}"
            if last.startswith("@")
            else ("text" if last == "#text" else f"element {last}")
        )
        return f"required {what} is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in (
        "literal_error",
        "string_pattern_mismatch",
        "string_too_short",
        "string_too_long",
        "too_short",
        "too_long",
    ):
        shown = error["input"]
        if isinstance(shown, tuple):
            shown = f"{len(shown)} elements"
        return f"{message} (got {shown!r})"[:500]
    return message


def read_message(root: etree._Element) -> tuple[Message | None, list[WireProblem]]:
    """Build the model from a parsed tree; every problem found, each with its path."""
    problems: list[WireProblem] = []
    qname = etree.QName(root)
    if qname.namespace != NAMESPACE or qname.localname != "Message":
        where = f"{{{qname.namespace}}}" if qname.namespace not in (None, NAMESPACE) else ""
        return None, [
            WireProblem(
                f"/{where}{qname.localname}",
                f"the root element must be Message in namespace {NAMESPACE}",
            )
        ]
    data = _read(root, Message, "/Message", problems)
    kind = collapse(data.get("MessageType"))
    try:
        message = Message.model_validate(data, context={"kind": kind})
    except ValidationError as exc:
        for error in exc.errors():
            path = "/Message" + _loc_path(tuple(error["loc"]), Message)
            problems.append(WireProblem(path, _describe(error)))
        return None, problems
    if problems:
        return None, problems
    return message, []


# ============================================================================ writing


def _qualified(alias: str) -> str:
    if alias.startswith("@xml:"):
        return f"{{{XML_NAMESPACE}}}{alias[5:]}"
    return alias[1:]


def _write(parent: etree._Element | None, tag: str, model: _Xml) -> etree._Element:
    qualified = f"{{{NAMESPACE}}}{tag}"
    element = (
        etree.Element(qualified, nsmap={"gcc": NAMESPACE})
        if parent is None
        else etree.SubElement(parent, qualified)
    )
    for slot in _layout(type(model)):
        value = getattr(model, slot.name)
        if value is None or (slot.repeated and not value):  # not `== ()`: a model's __eq__
            continue
        if slot.xml.startswith("@"):
            element.set(_qualified(slot.xml), value)
        elif slot.xml == "#text":
            element.text = value
        else:
            for item in value if slot.repeated else (value,):
                if slot.model is not None:
                    _write(element, slot.xml, item)
                else:
                    etree.SubElement(element, f"{{{NAMESPACE}}}{slot.xml}").text = item
    return element


def message_element(message: Message) -> etree._Element:
    """``message`` as an element tree (what `write_message` serialises)."""
    return _write(None, "Message", message)


def serialize(root: etree._Element) -> bytes:
    """UTF-8 with an XML declaration, indented two spaces (``root`` is indented in place)."""
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def write_message_lxml(message: Message) -> bytes:
    """The reference writer: ``message`` as lxml elements, serialised (`serialize`).

    `write_message` must write exactly these bytes (tests/unit/test_gccpol_writer.py); it
    falls back to this one for text that needs more than the three escapes."""
    return serialize(message_element(message))


# The direct writer: the same bytes as `write_message_lxml`, built as strings. libxml2
# writes UTF-8 text as it is except '&', '<', '>' (and '"' in an attribute value); every
# other character it treats specially (tab, line breaks and other controls, which it
# escapes as character references or refuses; noncharacters and lone surrogates, which
# lxml refuses) sends the whole message to the reference writer, so the output and the
# exception raised stay the reference's own.
_NOT_PLAIN: Final = re.compile("[^\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEEDS_CARE: Final = re.compile('[&<>"]|[^\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
_ATTRIBUTE, _TEXT, _CHILD, _LEAF = range(4)


class _NotPlain(Exception):
    """A value the direct writer leaves to the reference writer."""


@cache
def _plan(model: type[_Xml]) -> tuple[tuple[str, int, str, bool], ...]:
    """(field name, what it is, its XML name, whether it repeats) in element order."""
    parts = []
    for slot in _layout(model):
        if slot.xml == "#text":
            parts.append((slot.name, _TEXT, "", False))
        elif slot.xml.startswith("@"):
            parts.append((slot.name, _ATTRIBUTE, slot.xml[1:], False))
        else:
            kind = _CHILD if slot.model is not None else _LEAF
            parts.append((slot.name, kind, slot.xml, slot.repeated))
    return tuple(parts)


def _escaped(value: str, attribute: bool) -> str:
    """``value`` with '&', '<', '>' (and in an attribute '"') escaped; `_NotPlain` when it
    holds a character libxml2 would escape otherwise or lxml would refuse."""
    if _NOT_PLAIN.search(value) is not None:
        raise _NotPlain
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace('"', "&quot;") if attribute else value


def _render(model: _Xml, tag: str, pad: str, out: list[str], head: str = "") -> None:
    """Append ``model`` as element ``tag`` indented by ``pad``, as `serialize` writes it."""
    inner = pad + "  "
    fields = model.__dict__
    attributes = head
    text: str | None = None
    mark = len(out)
    out.append("")  # the start tag, once the attributes are known
    care = _NEEDS_CARE.search  # most values need no escape: one search says so
    for name, kind, xml, repeated in _plan(type(model)):
        value = fields[name]
        if value is None or (repeated and not value):  # not `== ()`: a model's __eq__
            continue
        if kind == _LEAF:
            for item in value if repeated else (value,):
                written = item if care(item) is None else _escaped(item, False)
                out.append(f"{inner}<gcc:{xml}>{written}</gcc:{xml}>\n")
        elif kind == _CHILD:
            for item in value if repeated else (value,):
                _render(item, xml, inner, out)
        elif kind == _ATTRIBUTE:
            if care(value) is not None:
                value = _escaped(value, True)
            attributes += f' {xml}="{value}"'
        else:
            text = value if care(value) is None else _escaped(value, False)
    if len(out) > mark + 1:
        out[mark] = f"{pad}<gcc:{tag}{attributes}>\n"
        out.append(f"{pad}</gcc:{tag}>\n")
    elif text is not None:
        out[mark] = f"{pad}<gcc:{tag}{attributes}>{text}</gcc:{tag}>\n"
    else:
        out[mark] = f"{pad}<gcc:{tag}{attributes}/>\n"


def write_message(message: Message) -> bytes:
    """Render ``message``: UTF-8 with an XML declaration, elements in schema order,
    indented two spaces; byte for byte what `write_message_lxml` writes."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    try:
        _render(message, "Message", "", out, f' xmlns:gcc="{NAMESPACE}"')
    except _NotPlain:
        return write_message_lxml(message)
    return "".join(out).encode()


# ============================================================================ XSD

# A local stand-in for http://www.w3.org/2001/xml.xsd, which the published XSD imports for
# xml:lang; the validator never fetches anything from the network.
_XML_NAMESPACE_XSD: Final = (
    '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    f'targetNamespace="{XML_NAMESPACE}">'
    '<xs:attribute name="lang" type="xs:language"/></xs:schema>'
)


class _LocalXmlNamespace(etree.Resolver):
    def resolve(  # type: ignore[override]  # lxml passes the context; the stubs omit it
        self, system_url: str | None, public_id: str | None, context: Any
    ) -> Any:
        if system_url == "http://www.w3.org/2001/xml.xsd":
            return self.resolve_string(_XML_NAMESPACE_XSD, context, base_url=system_url)
        return None


@cache
def alert_xsd() -> etree.XMLSchema:
    """The published XSD, loaded once."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalXmlNamespace())
    return etree.XMLSchema(etree.parse(str(XSD_PATH), parser))


def _element_path(element: etree._Element) -> str:
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parts.append(etree.QName(node).localname)
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


def _error_element(root: etree._Element, line: int, message: str) -> etree._Element | None:
    match = re.match(r"Element '(?:\{[^}]*\})?([^']+)'", message)
    name = match.group(1) if match else None
    for element in root.iter():
        if cast(int, element.sourceline) == line and (
            name is None or etree.QName(element).localname == name
        ):
            return element
    return None


def xsd_problems(root: etree._Element) -> Iterator[WireProblem]:
    """Every XSD error in the tree, with the path of the element it names."""
    schema = alert_xsd()
    if schema.validate(root):
        return
    for error in cast(Iterable[Any], schema.error_log):  # the stubs miss __iter__
        element = _error_element(root, error.line, error.message)
        path = _element_path(element) if element is not None else f"line {error.line}"
        yield WireProblem(path, f"XSD: {error.message}")
