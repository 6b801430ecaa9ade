"""The INTERPOL-side wire model: a JSON notice inside an I-24/7-like envelope.

spec/schemas.md, "INTERPOL side". Three message kinds share one envelope; a publish or an
update carries the whole notice (`NoticeBody`), a cancel only what identifies the notice
(`CancelBody`). Every model is strict (no "1" for a number, no 1 for a string) and forbids
unknown keys, so the sender learns which key is wrong instead of having it dropped.

Values keep their wire form (dates as ``YYYY/MM/DD`` strings, codes as given) so a message
re-encoded from its own decoding is byte-for-byte comparable; numbers are `Decimal` so that
1.78 m stays exactly 1.78 m. Checks that need a code list (countries, languages) use
pycountry directly: schemas know nothing of adapters.

``python -m schemas.interpol`` prints the published JSON Schema (interpol-notice.schema.json).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from functools import cache, lru_cache
from typing import Annotated, Any, Literal, get_args

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from schemas.text import refuse_hidden_characters

__all__ = [
    "ARABIC_LETTERS",
    "JSON_SCHEMA_ID",
    "AliasName",
    "ArrestWarrant",
    "CancelBody",
    "CancelMessage",
    "Caveats",
    "ExternalReference",
    "IdentityDocument",
    "InterpolMessage",
    "MessageId",
    "NoticeBody",
    "NoticeMessage",
    "NoticeType",
    "WireLoss",
    "WireProvenance",
    "interpol_json_schema",
    "is_wire_country",
    "is_wire_language",
    "parse_wire_date",
    "parse_wire_datetime",
]

JSON_SCHEMA_ID = "urn:police-gateway:schema:interpol-notice:1"

# Arabic, Arabic Supplement, Arabic Extended-A, presentation forms A and B.
ARABIC_LETTERS = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")

# [0-9], not \d: Python's and pydantic's \d match any Unicode digit (Arabic-Indic,
# full-width...), which would mint look-alike identifiers and dates (docs/security.md).
_DATE_RE = re.compile(r"^([0-9]{4})(?:/([0-9]{2})(?:/([0-9]{2}))?)?$")
# RFC 3339 §5.6 date-time; the offset is required (no local times on the wire).
_DATETIME_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_UUID_RE = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)

MAX_HEIGHT_M = 3  # the tallest recorded person was 2.72 m
MAX_WEIGHT_KG = 700  # the heaviest recorded person was 635 kg


# ---------------------------------------------------------------------------- code lists


@cache
def _alpha2_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def _language_codes() -> frozenset[str]:
    """ISO 639-2/B codes, plus ISO 639-3 codes that have no separate B form, upper case."""
    codes: set[str] = set()
    for lang in pycountry.languages:
        codes.add((getattr(lang, "bibliographic", None) or lang.alpha_3).upper())
    return frozenset(codes)


def is_wire_country(code: str) -> bool:
    """An assigned ISO 3166-1 alpha-2 code, upper case."""
    return code in _alpha2_codes()


def is_wire_language(code: str) -> bool:
    """An INTERPOL language code: upper-case ISO 639-2/B (``GER``, not ``DEU``)."""
    return code in _language_codes()


# ---------------------------------------------------------------------------- value checks


# The decoder parses each date and date-time twice (the wire model checks it, the canonical
# mapping reads it), so both parsers remember recent answers: pure functions of a str with
# immutable results. Only valid values are remembered (a raise is not cached), and those
# are short, so the caches stay small whatever a sender posts.
_PARSE_CACHE_SIZE = 1024


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse_wire_date(value: str) -> tuple[int, int | None, int | None]:
    """``YYYY/MM/DD`` | ``YYYY/MM`` | ``YYYY`` → (year, month, day); the date must exist."""
    match = _DATE_RE.fullmatch(value)
    if match is None:
        raise ValueError(f"expected a date YYYY/MM/DD, YYYY/MM or YYYY; got {value!r}")
    year_text, month_text, day_text = match.groups()
    year = int(year_text)
    month = int(month_text) if month_text else None
    day = int(day_text) if day_text else None
    if year < 1:
        raise ValueError(f"year 0000 does not exist; got {value!r}")
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"month must be 01-12; got {value!r}")
    if month is not None and day is not None:
        try:
            dt.date(year, month, day)
        except ValueError:
            raise ValueError(f"no such date: {value!r}") from None
    return year, month, day


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse_wire_datetime(value: str) -> dt.datetime:
    """RFC 3339 date-time with an offset → aware datetime in UTC (fraction cut to µs)."""
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            f"expected an RFC 3339 date-time with offset, e.g. 2026-11-20T08:15:00Z; got {value!r}"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = match.group(8)
    if zone in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"offset out of range in {value!r}")
        offset = sign * dt.timedelta(hours=hours, minutes=minutes)
    try:
        stamp = dt.datetime(
            year, month, day, hour, minute, second, micro, tzinfo=dt.timezone(offset)
        )
    except ValueError as exc:  # also leap seconds (:60), which datetime cannot hold
        raise ValueError(f"no such date-time: {value!r} ({exc})") from None
    return stamp.astimezone(dt.UTC)


def _check_date(value: str) -> str:
    parse_wire_date(value)
    return value


def _check_datetime(value: str) -> str:
    parse_wire_datetime(value)
    return value


def _check_uuid(value: str) -> str:
    # fullmatch: "$" alone would also match before a final "\n"
    if _UUID_RE.fullmatch(value) is None:
        raise ValueError(f"expected a UUID in 8-4-4-4-12 hex form; got {value!r}")
    return value


def _check_country(value: str) -> str:
    if not is_wire_country(value):
        raise ValueError(f"expected an assigned ISO 3166-1 alpha-2 code; got {value!r}")
    return value


def _check_language(value: str) -> str:
    if not is_wire_language(value):
        raise ValueError(f"expected an upper-case ISO 639-2/B code such as ARA; got {value!r}")
    return value


def _number(value: Any) -> Any:
    """Accept JSON integers as Decimal; strings and booleans stay wrong (strict types)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for item in values:
        if item in seen:
            raise ValueError(f"{item!r} is listed twice")
        seen.add(item)
    return values


# ---------------------------------------------------------------------------- field types

Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(refuse_hidden_characters)]
LongText = Annotated[
    str, Field(min_length=1, max_length=4000), AfterValidator(refuse_hidden_characters)
]
WireDate = Annotated[
    str,
    Field(json_schema_extra={"pattern": r"^[0-9]{4}(/[0-9]{2}(/[0-9]{2})?)?$"}),
    Field(description="YYYY/MM/DD, YYYY/MM or YYYY"),
    AfterValidator(_check_date),
]
Country = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^[A-Z]{2}$"}, description="ISO 3166-1 alpha-2, assigned"),
    AfterValidator(_check_country),
]
Language = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^[A-Z]{3}$"}, description="ISO 639-2/B, upper case"),
    AfterValidator(_check_language),
]
CountryList = Annotated[list[Country], Field(max_length=250), AfterValidator(_unique)]
Height = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(ge=0, le=MAX_HEIGHT_M),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_HEIGHT_M,
            "description": "metres; 0 = unknown",
        }
    ),
]
Weight = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(ge=0, le=MAX_WEIGHT_KG),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_WEIGHT_KG,
            "description": "kilograms; 0 = unknown",
        }
    ),
]
NoticeType = Literal["red", "yellow", "blue", "black", "green", "orange", "purple", "un"]
PersonStatus = Literal[
    "accused",
    "convicted",
    "suspect",
    "missing",
    "abducted",
    "unidentified",
    "witness",
    "victim",
    "person_of_interest",
]
EyeCode = Literal["BLA", "BLU", "BRO", "BROH", "GRE", "GRY", "HAZ", "OTHD"]
HairCode = Literal["BLA", "BRO", "BLN", "RED", "GRY", "WHI", "BAL", "OTHD"]
TlpCode = Literal["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
SystemName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_-]{0,31}$")]
EntityId = Annotated[
    str, Field(pattern=r"^[0-9]{4}/[0-9]{1,7}$", description="YYYY/N (1-7 digits)")
]
SenderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
ImageLink = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=False)


# ---------------------------------------------------------------------------- notice parts


class AliasName(_Wire):
    name: Text | None = None
    forename: Text | None = None

    @model_validator(mode="after")
    def _says_something(self) -> AliasName:
        if self.name is None and self.forename is None:
            raise ValueError("an alias needs a name or a forename")
        return self


class IdentityDocument(_Wire):
    type: Annotated[
        str, Field(min_length=1, max_length=64), AfterValidator(refuse_hidden_characters)
    ]
    number: Annotated[
        str, Field(min_length=1, max_length=64), AfterValidator(refuse_hidden_characters)
    ]
    issuing_country_id: Country | None = None
    expiry_date: WireDate | None = None


class ArrestWarrant(_Wire):
    issuing_country_id: Country | None = None
    charge: LongText | None = None
    charge_translation: LongText | None = None  # English (decoded with lang "en")
    warrant_reference: Text | None = None
    issuing_authority: Text | None = None
    date_of_warrant: WireDate | None = None

    @model_validator(mode="after")
    def _judicial_data(self) -> ArrestWarrant:
        if self.charge is None and self.warrant_reference is None:
            raise ValueError("an arrest warrant needs a charge or a warrant_reference")
        if self.charge_translation is not None and self.charge is None:
            raise ValueError("charge_translation needs the charge it translates")
        return self


class Caveats(_Wire):
    restricted_to_country_ids: CountryList = []  # empty = all members
    excluded_country_ids: CountryList = []
    tlp: TlpCode | None = None

    @model_validator(mode="after")
    def _no_overlap(self) -> Caveats:
        both = set(self.restricted_to_country_ids) & set(self.excluded_country_ids)
        if both:
            raise ValueError(f"countries both restricted to and excluded: {sorted(both)}")
        return self


class ExternalReference(_Wire):
    system: SystemName
    id: Text


def _check_external(refs: list[ExternalReference] | None) -> list[ExternalReference] | None:
    if refs is None:
        return refs
    seen: set[str] = set()
    for ref in refs:
        if ref.system == "INTERPOL":
            raise ValueError("the INTERPOL reference is entity_id, not an external reference")
        if ref.system in seen:
            raise ValueError(f"system {ref.system!r} is referenced twice")
        seen.add(ref.system)
    return refs


ExternalReferences = Annotated[
    list[ExternalReference] | None, Field(max_length=16), AfterValidator(_check_external)
]

_EVENT_TYPES = ("yellow", "black")
_NOTICE_TYPES = frozenset(get_args(NoticeType))
_BUILTIN_ERRORS = frozenset(get_args(ErrorType))


class NoticeBody(_Wire):
    """The notice of a publish or an update (a full replacement); key order is the wire order."""

    notice_type: NoticeType
    is_diffusion: bool = False
    entity_id: EntityId
    external_references: ExternalReferences = None
    requesting_country_id: Country
    date_of_publication: WireDate | None = None
    person_status: PersonStatus | None = None
    name: Text | None = None
    forename: Text | None = None
    name_in_original_script: Text | None = None
    forename_in_original_script: Text | None = None
    father_forename: Text | None = None
    mother_forename: Text | None = None
    mother_name: Text | None = None
    aliases: Annotated[list[AliasName], Field(max_length=50)] | None = None
    sex_id: Literal["M", "F", "U"] | None = None
    date_of_birth: WireDate | None = None
    place_of_birth: Text | None = None
    country_of_birth_id: Country | None = None
    nationalities: CountryList | None = None
    languages_spoken_ids: Annotated[list[Language], Field(max_length=50)] | None = None
    height: Height | None = None
    weight: Weight | None = None
    eyes_colors_id: Annotated[list[EyeCode], Field(max_length=8)] | None = None
    hairs_id: Annotated[list[HairCode], Field(max_length=8)] | None = None
    distinguishing_marks: LongText | None = None
    identity_documents: Annotated[list[IdentityDocument], Field(max_length=20)] | None = None
    image_links: Annotated[list[ImageLink], Field(max_length=20)] | None = None
    arrest_warrants: Annotated[list[ArrestWarrant], Field(max_length=50)] | None = None
    date_of_event: WireDate | None = None
    place: Text | None = None
    country: Country | None = None
    un_reference: Text | None = None
    un_resolution: Text | None = None
    caveats: Caveats | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _rules_by_type(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> NoticeBody:
        # Checked on the raw input so that they are reported together with field errors.
        problems = _type_rules(data) if isinstance(data, dict) else []
        try:
            body: NoticeBody = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise ValidationError.from_exception_data(
                cls.__name__, [*_as_init_errors(exc), *problems]
            ) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return body


def _rule(loc: tuple[str, ...], value: Any, message: str) -> InitErrorDetails:
    return {
        "type": PydanticCustomError("notice_rule", message),
        "loc": loc,
        "input": value,
    }


def _type_rules(data: dict[str, Any]) -> list[InitErrorDetails]:
    """schemas.md, INTERPOL field rules: which fields belong to which notice type."""
    kind = data.get("notice_type")
    if not isinstance(kind, str) or kind not in _NOTICE_TYPES:
        return []
    problems: list[InitErrorDetails] = []
    if kind == "red" and not data.get("arrest_warrants"):
        problems.append(
            _rule(
                ("arrest_warrants",),
                data.get("arrest_warrants"),
                "a red notice needs at least one arrest warrant",
            )
        )
    if kind not in _EVENT_TYPES:
        for key in ("date_of_event", "place", "country"):
            if data.get(key) is not None:
                message = f"{key} belongs to yellow and black notices only, not {kind}"
                problems.append(_rule((key,), data[key], message))
    if kind != "un":
        for key in ("un_reference", "un_resolution"):
            if data.get(key) is not None:
                message = f"{key} belongs to un notices only, not {kind}"
                problems.append(_rule((key,), data[key], message))
    if data.get("is_diffusion") is True:
        caveats = data.get("caveats")
        audience = caveats.get("restricted_to_country_ids") if isinstance(caveats, dict) else None
        if not audience:
            problems.append(
                _rule(
                    ("caveats", "restricted_to_country_ids"),
                    audience,
                    "a diffusion must name its audience (at least one country)",
                )
            )
    return problems


def _as_init_errors(exc: ValidationError) -> list[InitErrorDetails]:
    out: list[InitErrorDetails] = []
    for err in exc.errors():
        kind = err["type"]
        detail: InitErrorDetails = {"type": kind, "loc": err["loc"], "input": err["input"]}
        if kind not in _BUILTIN_ERRORS:  # a custom error: carry its rendered message
            detail["type"] = PydanticCustomError(err["type"], err["msg"])
        elif "ctx" in err:
            detail["ctx"] = err["ctx"]
        out.append(detail)
    return out


class CancelBody(_Wire):
    """A cancel carries only what identifies the notice, plus an optional reason."""

    notice_type: NoticeType
    entity_id: EntityId
    external_references: ExternalReferences = None
    requesting_country_id: Country
    cancel_reason: LongText | None = None


# ---------------------------------------------------------------------------- envelope


class WireLoss(_Wire):
    field: Annotated[str, Field(min_length=1, max_length=300)]
    source_value: Annotated[str, Field(max_length=4000)]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class WireProvenance(_Wire):
    """What the gateway adds to a delivered message (conventions: `_provenance`)."""

    origin: SenderId
    origin_message_id: Annotated[str, Field(min_length=1, max_length=128)]
    body_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    keyid: Annotated[str, Field(min_length=1, max_length=256)]
    signature: Annotated[str, Field(min_length=1, max_length=4096)]
    audit_index: Annotated[int, Field(ge=0)]
    losses: Annotated[list[WireLoss], Field(max_length=500)] = []


MessageId = Annotated[
    str, Field(json_schema_extra={"pattern": _UUID_RE.pattern}), AfterValidator(_check_uuid)
]
SentAt = Annotated[
    str,
    Field(description="RFC 3339 date-time with offset", json_schema_extra={"format": "date-time"}),
    AfterValidator(_check_datetime),
]


class NoticeMessage(_Wire):
    message_id: MessageId
    message_type: Literal["notice.publish", "notice.update"]
    sent_at: SentAt
    sender_id: SenderId
    notice: NoticeBody
    provenance: WireProvenance | None = Field(default=None, alias="_provenance")


class CancelMessage(_Wire):
    message_id: MessageId
    message_type: Literal["notice.cancel"]
    sent_at: SentAt
    sender_id: SenderId
    notice: CancelBody
    provenance: WireProvenance | None = Field(default=None, alias="_provenance")


InterpolMessage = Annotated[NoticeMessage | CancelMessage, Field(discriminator="message_type")]
_MESSAGE_ADAPTER: TypeAdapter[Any] = TypeAdapter(InterpolMessage)  # type: ignore[arg-type, unused-ignore]


def interpol_json_schema() -> dict[str, Any]:
    """The published JSON Schema (2020-12) of every INTERPOL-side message."""
    body = _MESSAGE_ADAPTER.json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": JSON_SCHEMA_ID,
        "title": "INTERPOL-side notice message (application/vnd.interpol.notice+json)",
        "description": (
            "Generated from schemas/interpol.py. Rules a JSON Schema cannot say (dates that "
            "exist, assigned country and language codes, rules by notice type) are enforced "
            "by the gateway and listed in docs/interpol.md."
        ),
        **body,
    }


def render_json_schema() -> str:
    """The schema file's exact text."""
    return json.dumps(interpol_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_json_schema())
