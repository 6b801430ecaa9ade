"""The INTERPOL-side adapter: JSON notice bytes ↔ `CanonicalMessage` (spec/schemas.md).

decode: bytes → hostile-input checks (size, UTF-8, duplicate keys, NaN, depth) →
strict wire model (every violation with its path) → canonical message.
encode: canonical message → wire dict in the documented key order (+ loss report) →
the wire model again (what we send must be what we would accept) → compact UTF-8 JSON.

Loss entries name the CANONICAL field ("subject.kunya", "notice.evaluation.source_reliability")
so that both adapters report the same thing under the same name (conventions).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

import hijridate
import orjson
from pydantic import TypeAdapter, ValidationError

from adapters import interpol_codes as ic
from adapters._errors import MalformedMessage, SchemaViolations, TranslationRefused, Violation
from adapters._minting import reference_digest
from adapters._registry import Encoded
from schemas import codes
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    Colour,
    Dissemination,
    Event,
    HandlingCode,
    IdentityDocument,
    LocalizedText,
    Loss,
    MessageKind,
    Notice,
    Offence,
    PartialDate,
    PersonName,
    Provenance,
    Reference,
    Subject,
    Tlp,
    Warrant,
)
from schemas.interpol import (
    ARABIC_LETTERS,
    CancelBody,
    CancelMessage,
    MessageId,
    NoticeBody,
    NoticeMessage,
    WireProvenance,
    parse_wire_date,
    parse_wire_datetime,
)

__all__ = [
    "ADAPTER",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MEDIA_TYPE",
    "REFERENCE_SYSTEM",
    "InterpolAdapter",
    "decode_with_losses",
    "encode_message",
    "encode_messages",
    "mint_interpol_reference",
]

MEDIA_TYPE: Final = "application/vnd.interpol.notice+json"
REFERENCE_SYSTEM: Final = "INTERPOL"
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 32  # the deepest valid message nests 4 levels

_KIND_BY_TYPE: Final = {
    "notice.publish": MessageKind.PUBLISH,
    "notice.update": MessageKind.UPDATE,
    "notice.cancel": MessageKind.CANCEL,
}
_TYPE_BY_KIND: Final = {kind: name for name, kind in _KIND_BY_TYPE.items()}
_EVENT_CATEGORIES: Final = frozenset({"yellow", "black"})
_SURROGATE = re.compile("[\ud800-\udfff]")
# A lone surrogate can only come from a \uD800-\uDFFF escape: the body is strict UTF-8,
# which cannot encode one. Case-insensitive hex, as JSON allows (RFC 8259 §7).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# conventions, "Dissemination": INTERPOL encode of a GCC classification.
_TLP_BY_CLASSIFICATION: Final = {
    Classification.UNCLASSIFIED: Tlp.GREEN,
    Classification.RESTRICTED: Tlp.AMBER,
}


# ============================================================================ decode: bytes


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NotANumberError(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _value in pairs:  # name the first key met twice, in document order
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means a key repeats")


def _refuse_constant(token: str) -> Any:
    raise _NotANumberError(token)


# One decoder for every body: `json.loads` with hooks builds (and compiles a scanner for) a new
# one per call. Same hooks, same errors: loads(s, **kw) is JSONDecoder(**kw).decode(s), and its
# one extra check (a leading U+FEFF) cannot fire because _load_json refuses the BOM bytes first.
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_float=Decimal,
    parse_constant=_refuse_constant,
)


def _load_json(body: bytes) -> dict[str, Any]:
    """Parse ``body`` as one JSON object or raise MalformedMessage saying why and where."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedMessage(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} (1 MiB)")
    if body.startswith(b"\xef\xbb\xbf"):
        raise MalformedMessage(
            "body starts with a byte order mark; send plain UTF-8 (RFC 8259 §8.1)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"invalid UTF-8 at byte {exc.start}: {exc.reason}") from None
    try:
        value = _DECODER.decode(text)
    except _DuplicateKeyError as exc:
        raise MalformedMessage(f"duplicate key {exc.key!r}: every key may appear once") from None
    except _NotANumberError as exc:
        raise MalformedMessage(f"{exc.token} is not a JSON number (RFC 8259 §6)") from None
    except json.JSONDecodeError as exc:
        raise MalformedMessage(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None
    except RecursionError:
        raise MalformedMessage(f"nesting is deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise MalformedMessage(f"malformed JSON: {exc}") from None
    if not _shape_is_plain(body):
        _check_shape(value)
    if not isinstance(value, dict):
        raise MalformedMessage(f"the top level must be a JSON object; got {_json_type(value)}")
    return value


def _shape_is_plain(body: bytes) -> bool:
    """True when `_check_shape` cannot fail on what ``body`` parses to, decided on the bytes.

    A container at depth d has d - 1 enclosing containers and each container opens with
    its own ``{`` or ``[`` byte, so at most MAX_DEPTH such bytes bound every depth by
    MAX_DEPTH (brackets inside strings only over-count). No surrogate escape in the bytes
    means no surrogate in any key or string. Either test failing runs the full walk, which
    names the offending path (tests/unit/test_interpol_fast_paths.py).
    """
    return (
        body.count(b"{") + body.count(b"[") <= MAX_DEPTH and _SURROGATE_ESCAPE.search(body) is None
    )


def _check_shape(value: Any) -> None:
    """Nesting depth ≤ MAX_DEPTH and no unpaired surrogate escapes (not Unicode text)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise MalformedMessage(f"nesting is deeper than {MAX_DEPTH} levels", path or None)
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise MalformedMessage("key holds an unpaired surrogate escape", path or None)
                stack.append((child, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise MalformedMessage(f"nesting is deeper than {MAX_DEPTH} levels", path or None)
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise MalformedMessage("string holds an unpaired surrogate escape", path or None)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# ============================================================================ decode: schema

_MESSAGE_TYPES_TEXT: Final = "notice.publish, notice.update or notice.cancel"
_PATTERN_HINTS: Final = {
    "entity_id": "YYYY/N with 1-7 digits, e.g. 2026/48213",
    "message_id": "a UUID such as 6f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11",
    "sender_id": "a participant id (letters, digits, . _ : -)",
    "system": "an upper-case system name such as GCCPOL",
    "body_sha256": "64 lower-case hex digits",
}


_BOUNDS: Final = {
    "greater_than_equal": "at least",
    "less_than_equal": "at most",
    "greater_than": "more than",
    "less_than": "less than",
}


def _bound(err: Any) -> str:
    ctx = err.get("ctx", {})
    limit = next((ctx[k] for k in ("ge", "le", "gt", "lt") if k in ctx), "?")
    return str(limit)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(message)"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, Decimal) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _violation(err: Any) -> Violation:
    loc: tuple[int | str, ...] = err["loc"]
    kind: str = err["type"]
    value = err.get("input")
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        reason = f"unknown key {last!r}: the INTERPOL notice schema does not define it"
    elif kind == "missing":
        reason = f"required key {last!r} is missing"
    elif loc == ("message_type",):
        reason = f"expected {_MESSAGE_TYPES_TEXT}; got {_short(value)}"
    elif kind == "value_error":
        reason = str(err["msg"]).removeprefix("Value error, ")
    elif kind == "is_instance_of" and err.get("ctx", {}).get("class") == "Decimal":
        reason = f"expected a JSON number; got {_json_type(value)} {_short(value)}"
    elif kind in _BOUNDS:
        reason = f"must be {_BOUNDS[kind]} {_bound(err)}; got {_short(value)}"
    elif kind == "string_pattern_mismatch" and last in _PATTERN_HINTS:
        reason = f"expected {_PATTERN_HINTS[str(last)]}; got {_short(value)}"
    elif kind.endswith("_type") or kind in ("literal_error", "enum", "model_type"):
        reason = f"{err['msg']}; got {_json_type(value)} {_short(value)}"
    elif kind == "notice_rule":
        reason = str(err["msg"])
    else:
        reason = f"{err['msg']}; got {_short(value)}"
    return Violation(path=_path(loc), reason=reason)


def _validate(raw: dict[str, Any]) -> NoticeMessage | CancelMessage:
    model = CancelMessage if raw.get("message_type") == "notice.cancel" else NoticeMessage
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SchemaViolations([_violation(err) for err in exc.errors()]) from None


# ============================================================================ decode: mapping


def _date(value: str | None) -> PartialDate | None:
    return None if value is None else _partial_date(value)


@lru_cache(maxsize=1024)
def _partial_date(value: str) -> PartialDate:
    """A validated wire date as a (frozen, so shareable) canonical date, remembered."""
    year, month, day = parse_wire_date(value)
    return PartialDate(year=year, month=month, day=day)


def _measure(value: Decimal | None) -> Decimal | None:
    return value if value else None  # 0 means unknown (schemas.md)


def _script_of(text: str) -> str:
    return "Arab" if ARABIC_LETTERS.search(text) else "Zyyy"


def _subject(n: NoticeBody) -> Subject:
    names: list[PersonName] = []
    if n.name is not None or n.forename is not None:
        names.append(PersonName(script="Latn", family=n.name, given=n.forename))
    if n.name_in_original_script is not None or n.forename_in_original_script is not None:
        sample = (n.name_in_original_script or "") + (n.forename_in_original_script or "")
        names.append(
            PersonName(
                script=_script_of(sample),
                family=n.name_in_original_script,
                given=n.forename_in_original_script,
            )
        )
    mothers: tuple[PersonName, ...] = ()
    if n.mother_name is not None or n.mother_forename is not None:
        mothers = (PersonName(script="Latn", family=n.mother_name, given=n.mother_forename),)
    return Subject(
        role=ic.ROLE_BY_PERSON_STATUS[n.person_status] if n.person_status else None,
        names=tuple(names),
        aliases=tuple(
            PersonName(script="Latn", family=a.name, given=a.forename) for a in n.aliases or ()
        ),
        father_given=n.father_forename,
        mother_names=mothers,
        sex=ic.SEX_BY_CODE[n.sex_id] if n.sex_id else None,
        birth_date=_date(n.date_of_birth),
        birth_place=LocalizedText(text=n.place_of_birth) if n.place_of_birth else None,
        birth_country=n.country_of_birth_id,
        nationalities=tuple(n.nationalities or ()),
        languages=tuple(_language(code) for code in n.languages_spoken_ids or ()),
        height_m=_measure(n.height),
        weight_kg=_measure(n.weight),
        eye_colours=tuple(ic.EYES_BY_CODE[c] for c in n.eyes_colors_id or ()),
        hair_colours=tuple(ic.HAIR_BY_CODE[c] for c in n.hairs_id or ()),
        distinguishing_marks=n.distinguishing_marks,
        identity_documents=tuple(
            IdentityDocument(
                type=d.type,
                number=d.number,
                issuing_country=d.issuing_country_id,
                expiry_date=_date(d.expiry_date),
            )
            for d in n.identity_documents or ()
        ),
        image_links=tuple(n.image_links or ()),
    )


def _language(code: str) -> str:
    canonical = codes.language_from_639_2b(code)
    if canonical is None:  # the wire model already checked the same pycountry table
        raise SchemaViolations([Violation("notice.languages_spoken_ids", f"unknown {code!r}")])
    return canonical


def _offences(n: NoticeBody) -> tuple[Offence, ...]:
    out: list[Offence] = []
    for w in n.arrest_warrants or ():
        if w.charge is not None and w.charge == w.charge_translation:
            # An English-only charge is written to both keys (see encode): one description.
            texts: tuple[LocalizedText, ...] = (LocalizedText(text=w.charge, lang="en"),)
        else:
            texts = tuple(
                LocalizedText(text=text, lang=lang)
                for text, lang in ((w.charge, None), (w.charge_translation, "en"))
                if text is not None
            )
        parts = (w.warrant_reference, w.issuing_country_id, w.issuing_authority, w.date_of_warrant)
        warrant = None
        if any(p is not None for p in parts):
            warrant = Warrant(
                reference=w.warrant_reference,
                issuing_country=w.issuing_country_id,
                issuing_authority=w.issuing_authority,
                date=_date(w.date_of_warrant),
            )
        out.append(Offence(descriptions=texts, warrant=warrant))
    return tuple(out)


def _references(entity_id: str, body: NoticeBody | CancelBody) -> tuple[Reference, ...]:
    external = (Reference(system=r.system, id=r.id) for r in body.external_references or ())
    return (Reference(system=REFERENCE_SYSTEM, id=entity_id), *external)


def _notice(n: NoticeBody) -> Notice:
    category = ic.CATEGORY_BY_NOTICE_TYPE[n.notice_type]
    event = None
    if n.notice_type in _EVENT_CATEGORIES and (n.date_of_event or n.place or n.country):
        event = Event(
            date=_date(n.date_of_event),
            place=LocalizedText(text=n.place) if n.place else None,
            country=n.country,
        )
    caveats = n.caveats
    return Notice(
        category=category,
        is_diffusion=n.is_diffusion,
        requested_action=ic.DEFAULT_ACTION[category],
        references=_references(n.entity_id, n),
        originating_country=n.requesting_country_id,
        issued=_date(n.date_of_publication),
        subject=_subject(n),
        offences=_offences(n),
        event=event,
        un_reference=n.un_reference,
        un_resolution=n.un_resolution,
        dissemination=Dissemination(
            restricted_to=tuple(caveats.restricted_to_country_ids) if caveats else (),
            excluded=tuple(caveats.excluded_country_ids) if caveats else (),
            tlp=ic.TLP_BY_CODE[caveats.tlp] if caveats and caveats.tlp else None,
        ),
    )


def _cancel_notice(n: CancelBody) -> Notice:
    return Notice(
        category=ic.CATEGORY_BY_NOTICE_TYPE[n.notice_type],
        references=_references(n.entity_id, n),
        originating_country=n.requesting_country_id,
    )


def _provenance(p: WireProvenance | None) -> Provenance | None:
    if p is None:
        return None
    return Provenance(
        origin=p.origin,
        origin_message_id=p.origin_message_id,
        body_sha256=p.body_sha256,
        keyid=p.keyid,
        signature=p.signature,
        audit_index=p.audit_index,
        losses=tuple(
            Loss(field=x.field, source_value=x.source_value, reason=x.reason) for x in p.losses
        ),
    )


def decode_with_losses(body: bytes) -> tuple[CanonicalMessage, tuple[Loss, ...]]:
    """`InterpolAdapter.decode` plus what the canonical model cannot hold (a cancel reason)."""
    wire = _validate(_load_json(body))
    losses: tuple[Loss, ...] = ()
    if isinstance(wire, CancelMessage):
        notice = _cancel_notice(wire.notice)
        if wire.notice.cancel_reason is not None:
            losses = (
                Loss(
                    field="notice.cancel_reason",
                    source_value=wire.notice.cancel_reason,
                    reason="cancel reason not carried: a cancel carries only identification",
                ),
            )
    else:
        notice = _notice(wire.notice)
    message = CanonicalMessage(
        message_id=wire.message_id,
        kind=_KIND_BY_TYPE[wire.message_type],
        sent_at=parse_wire_datetime(wire.sent_at),
        sender=wire.sender_id,
        source_schema="interpol",
        notice=notice,
        provenance=_provenance(wire.provenance),
    )
    return message, losses


# ============================================================================ encode


@dataclass(slots=True)
class _LossReport:
    """Collects what an encode could not carry exactly, in the order it was met."""

    entries: list[Loss] = field(default_factory=list)

    def add(self, path: str, value: object, reason: str) -> None:
        self.entries.append(Loss(field=path, source_value=_as_text(value), reason=reason))


def _as_text(value: object) -> str:
    if type(value) is str:  # most loss values; str(value) would return it unchanged
        return value
    if isinstance(value, PartialDate):
        return _iso(value)
    if isinstance(value, LocalizedText):
        return value.text
    if isinstance(value, PersonName):
        parts = (value.full, value.given, value.family)
        return " ".join(p for p in parts if p) or value.script
    if hasattr(value, "value"):  # StrEnum
        return str(value.value)
    return str(value)


def _iso(d: PartialDate) -> str:
    if d.month is None:
        return f"{d.year:04d}"
    return f"{d.year:04d}-{d.month:02d}" + (f"-{d.day:02d}" if d.day is not None else "")


def _wire_date(d: PartialDate | None) -> str | None:
    if d is None:
        return None
    if d.month is None:
        return f"{d.year:04d}"
    return f"{d.year:04d}/{d.month:02d}" + (f"/{d.day:02d}" if d.day is not None else "")


def _wire_datetime(stamp: dt.datetime, path: str) -> str:
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise TranslationRefused("invalid-value", path, "sent_at has no time zone")
    utc = stamp.astimezone(dt.UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    if utc.year < 1000:  # keep strftime's own %Y rendering of short years
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    return (
        f"{utc.year}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}{fraction}Z"
    )


def _country(code: str | None, path: str) -> str | None:
    if code is not None and not codes.is_alpha2(code):
        raise TranslationRefused(
            "unknown-country", path, f"expected an ISO 3166-1 alpha-2 code; got {code!r}"
        )
    return code


def _countries(values: tuple[str, ...], path: str) -> list[str]:
    return [str(_country(c, f"{path}[{i}]")) for i, c in enumerate(values)]


def _measure_out(value: Decimal | None) -> Decimal | None:
    return value if value else None


def _name_text(name: PersonName) -> str | None:
    """The whole given-name string: ``given``, else the stated parts joined (exact)."""
    if name.given is not None:
        return name.given
    parts = [p for p in (name.first, name.father, name.grandfather) if p]
    return " ".join(parts) or None


_NAME_PARTS: Final = ("first", "father", "grandfather")


def _split_lost(name: PersonName, given: str | None, path: str, losses: _LossReport) -> None:
    """The four-part split travels only joined, as the forename: exact as text, and exact as
    parts when they come back from its words (first word, second word, the rest). Otherwise
    each part that would come back different is a loss (spec/schemas.md, names)."""
    stated = tuple(getattr(name, part) for part in _NAME_PARTS)
    if not any(stated):
        return
    words = (given or "").split()
    again = (
        words[0] if words else None,
        words[1] if len(words) > 1 else None,
        " ".join(words[2:]) or None,
    )
    for part, value, back in zip(_NAME_PARTS, stated, again, strict=True):
        if value != back:
            losses.add(
                f"{path}.{part}",
                value or "",
                "the name parts travel joined as one forename; its words do not give this "
                "part back (first word, second word, the rest)",
            )


def _rajab_placeholder(d: PartialDate | None, losses: _LossReport) -> None:
    """Task brief: GCC registries write 1 Rajab (month 7, day 1) for an unknown birth day."""
    if d is None or d.day is None or d.month is None:
        return
    year = _rajab_first_year(d.year, d.month, d.day)
    if year is not None:
        losses.add(
            "subject.birth_date",
            d,
            f"the date is 1 Rajab {year} AH, which GCC registries write when the day of "
            "birth is unknown; it is carried exactly, but the day may be a placeholder",
        )


@lru_cache(maxsize=1024)
def _rajab_first_year(year: int, month: int, day: int) -> int | None:
    """The Hijri year when the Gregorian day is 1 Rajab, else None (pure: remembered)."""
    try:
        hijri = hijridate.Gregorian(year, month, day).to_hijri()
    except (OverflowError, ValueError):
        return None  # outside the Umm al-Qura table: no conventional placeholder to suspect
    return int(hijri.year) if hijri.month == 7 and hijri.day == 1 else None


def _lang_loss(text: LocalizedText | None, path: str, losses: _LossReport) -> str | None:
    if text is None:
        return None
    if text.lang is not None:
        losses.add(f"{path}.lang", text.lang, "the INTERPOL side carries no language tag here")
    return text.text


def _names_out(s: Subject, losses: _LossReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": None,
        "forename": None,
        "name_in_original_script": None,
        "forename_in_original_script": None,
    }
    latin_done = original_done = False
    for name in s.names:
        path = f"subject.names[{name.script}]"
        if name.script == "Latn" and not latin_done:
            latin_done = True
            family, given = name.family, _name_text(name)
            if family is None and given is None and name.full is not None:
                family = name.full
                losses.add(f"{path}.full", name.full, "name given as one string: sent as name")
            _split_lost(name, given, path, losses)
            out["name"], out["forename"] = family, given
            if name.romanization is not None:
                losses.add(f"{path}.romanization", name.romanization, "romanization not carried")
            if name.lang is not None:
                losses.add(f"{path}.lang", name.lang, "name language not carried")
        elif name.script != "Latn" and not original_done:
            original_done = True
            family, given = name.family, _name_text(name)
            if family is None and given is None and name.full is not None:
                family = name.full
                losses.add(f"{path}.full", name.full, "name given as one string: sent as name")
            _split_lost(name, given, path, losses)
            out["name_in_original_script"] = family
            out["forename_in_original_script"] = given
            if name.lang is not None:
                losses.add(f"{path}.lang", name.lang, "name language not carried")
        else:
            losses.add(path, name, "only one Latin and one original-script name are carried")
    return out


def _mother_out(s: Subject, losses: _LossReport) -> tuple[str | None, str | None]:
    forename = family = None
    done = False
    for i, name in enumerate(s.mother_names):
        path = f"subject.mother_names[{i}]"
        if name.script != "Latn":
            losses.add(
                path, name, "mother's name not in Latin script: INTERPOL carries it in Latin"
            )
        elif done:
            losses.add(path, name, "only one mother's name is carried")
        else:
            done = True
            forename, family = _name_text(name), name.family
            if family is None and name.full is not None:
                family = name.full  # conventions: a `full` Latin mother name → mother_name
            if name.lang is not None:
                losses.add(f"{path}.lang", name.lang, "name language not carried")
    return forename, family


def _aliases_out(s: Subject, losses: _LossReport) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for i, alias in enumerate(s.aliases):
        path = f"subject.aliases[{i}]"
        if alias.script != "Latn":
            losses.add(path, alias, "INTERPOL aliases are in Latin script only")
            continue
        family, given = alias.family, _name_text(alias)
        if family is None and given is None:
            if alias.full is None:
                continue
            family = alias.full
            losses.add(path, alias, "alias given as one string: sent as the alias name")
        out.append({"name": family, "forename": given})
    return out or None


def _colours_out(
    colours: tuple[Colour, ...], table: Any, path: str, losses: _LossReport
) -> list[str] | None:
    out: list[str] = []
    for i, colour in enumerate(colours):
        code = table.get(colour)
        if code is None:
            code = ic.OTHER_COLOUR_CODE
            losses.add(f"{path}[{i}]", colour, f"no INTERPOL code for {colour.value}: sent as OTHD")
        out.append(code)
    return out or None


def _languages_out(s: Subject, losses: _LossReport) -> list[str] | None:
    out: list[str] = []
    for i, lang in enumerate(s.languages):
        code = codes.language_to_639_2b(lang)
        if code is None:
            losses.add(f"subject.languages[{i}]", lang, "not an ISO 639 language code")
        else:
            out.append(code)
    return out or None


def _subject_out(s: Subject, losses: _LossReport) -> dict[str, Any]:
    if s.sex is not None and s.sex not in ic.SEX_CODE:
        raise TranslationRefused(
            "sex-not-applicable", "subject.sex", "ISO/IEC 5218 9 (not applicable) has no M/F/U code"
        )
    for key in ("kunya", "laqab", "tribe"):
        value = getattr(s, key)
        if value is not None:
            losses.add(f"subject.{key}", value, f"the INTERPOL notice has no {key} field")
    _rajab_placeholder(s.birth_date, losses)
    mother_forename, mother_name = _mother_out(s, losses)
    for i, link in enumerate(s.image_links):
        losses.add(f"subject.image_links[{i}]", link, "image carried as a reference only")
    return {
        "person_status": ic.PERSON_STATUS_BY_ROLE[s.role] if s.role else None,
        **_names_out(s, losses),
        "father_forename": s.father_given,
        "mother_forename": mother_forename,
        "mother_name": mother_name,
        "aliases": _aliases_out(s, losses),
        "sex_id": ic.SEX_CODE[s.sex] if s.sex else None,
        "date_of_birth": _wire_date(s.birth_date),
        "place_of_birth": _lang_loss(s.birth_place, "subject.birth_place", losses),
        "country_of_birth_id": _country(s.birth_country, "subject.birth_country"),
        "nationalities": _countries(s.nationalities, "subject.nationalities") or None,
        "languages_spoken_ids": _languages_out(s, losses),
        "height": _measure_out(s.height_m),
        "weight": _measure_out(s.weight_kg),
        "eyes_colors_id": _colours_out(s.eye_colours, ic.EYE_CODE, "subject.eye_colours", losses),
        "hairs_id": _colours_out(s.hair_colours, ic.HAIR_CODE, "subject.hair_colours", losses),
        "distinguishing_marks": s.distinguishing_marks,
        "identity_documents": [
            {
                "type": d.type,
                "number": d.number,
                "issuing_country_id": _country(
                    d.issuing_country, f"subject.identity_documents[{i}].issuing_country"
                ),
                "expiry_date": _wire_date(d.expiry_date),
            }
            for i, d in enumerate(s.identity_documents)
        ]
        or None,
        "image_links": list(s.image_links) or None,
    }


def _warrants_out(n: Notice, losses: _LossReport) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for i, offence in enumerate(n.offences):
        path = f"notice.offences[{i}]"
        charge = translation = None
        charge_at = translation_at = -1
        for j, text in enumerate(offence.descriptions):
            if text.lang == "en" and translation is None:
                translation, translation_at = text.text, j
            elif text.lang != "en" and charge is None:
                charge, charge_at = text.text, j
                if text.lang is not None:
                    losses.add(
                        f"{path}.descriptions[{j}].lang", text.lang, "charge language not carried"
                    )
            else:
                losses.add(f"{path}.descriptions[{j}]", text, "only one charge text is carried")
        if charge is None:
            charge = translation  # conventions: an English-only charge fills both keys
        elif translation_at != -1 and translation_at < charge_at:
            losses.add(
                f"{path}.descriptions",
                " | ".join(t.text for t in offence.descriptions),
                "the English translation is written after the charge: the order of the "
                "descriptions is not carried",
            )
        elif charge == translation:
            # Equal keys are how an English-only charge is written (conventions): read back
            # as one English description, the other-language one is gone.
            losses.add(
                f"{path}.descriptions[{charge_at}]",
                charge,
                "the charge is the same text as its English translation; it reads back as one "
                "English charge",
            )
        if offence.legal_basis is not None:
            losses.add(f"{path}.legal_basis", offence.legal_basis, "legal basis not carried")
        if offence.max_penalty_years is not None:
            losses.add(
                f"{path}.max_penalty_years",
                offence.max_penalty_years,
                "maximum penalty not carried",
            )
        w = offence.warrant or Warrant()
        if charge is None and w.reference is None:
            losses.add(path, "offence", "an offence without charge or warrant reference is dropped")
            continue
        out.append(
            {
                "issuing_country_id": _country(
                    w.issuing_country, f"{path}.warrant.issuing_country"
                ),
                "charge": charge,
                "charge_translation": translation,
                "warrant_reference": w.reference,
                "issuing_authority": w.issuing_authority,
                "date_of_warrant": _wire_date(w.date),
            }
        )
    return out or None


def _event_out(n: Notice, notice_type: str, losses: _LossReport) -> dict[str, Any]:
    out: dict[str, Any] = {"date_of_event": None, "place": None, "country": None}
    event = n.event
    if event is None:
        return out
    if notice_type not in _EVENT_CATEGORIES:
        for key in ("date", "place", "country"):
            value = getattr(event, key)
            if value is not None:
                losses.add(
                    f"notice.event.{key}",
                    value,
                    "INTERPOL carries an event on yellow and black only",
                )
        return out
    out["date_of_event"] = _wire_date(event.date)
    out["place"] = _lang_loss(event.place, "notice.event.place", losses)
    out["country"] = _country(event.country, "notice.event.country")
    return out


def _caveats_out(d: Dissemination, losses: _LossReport) -> dict[str, Any]:
    # conventions, "Dissemination": refusals first, then what becomes a loss.
    for i, code in enumerate(d.handling_codes):
        if code is not HandlingCode.H0:
            raise TranslationRefused(
                "dissemination-downgrade",
                f"notice.dissemination.handling_codes[{i}]",
                f"handling code {code.value} restricts use beyond what an INTERPOL notice can say",
            )
        losses.add(
            f"notice.dissemination.handling_codes[{i}]", code, "handling code H0 not expressible"
        )
    if d.classification in (Classification.CONFIDENTIAL, Classification.SECRET):
        raise TranslationRefused(
            "dissemination-downgrade",
            "notice.dissemination.classification",
            f"{d.classification.value} may not become an INTERPOL notice",
        )
    tlp = d.tlp
    if tlp is None and d.classification is not None:
        tlp = _TLP_BY_CLASSIFICATION[d.classification]
    elif d.classification is not None:
        losses.add(
            "notice.dissemination.classification",
            d.classification,
            "classification not carried: the TLP given was sent instead",
        )
    if d.handling_note is not None:
        losses.add(
            "notice.dissemination.handling_note", d.handling_note, "handling note not carried"
        )
    return {
        "restricted_to_country_ids": _countries(
            d.restricted_to, "notice.dissemination.restricted_to"
        ),
        "excluded_country_ids": _countries(d.excluded, "notice.dissemination.excluded"),
        "tlp": ic.TLP_CODE[tlp] if tlp else None,
    }


def _identity_out(n: Notice) -> tuple[str, str, list[dict[str, str]] | None, str]:
    """(notice_type, entity_id, external_references, requesting_country_id), or refuse."""
    entity_id = n.reference(REFERENCE_SYSTEM)
    if entity_id is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.references[INTERPOL]",
            "the notice has no INTERPOL entity_id (mint one with mint_reference)",
        )
    if n.originating_country is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.originating_country",
            "requesting_country_id is required and the notice names no originating country",
        )
    country = str(_country(n.originating_country, "notice.originating_country"))
    external = [
        {"system": r.system, "id": r.id} for r in n.references if r.system != REFERENCE_SYSTEM
    ]
    return ic.NOTICE_TYPE_BY_CATEGORY[n.category], entity_id, external or None, country


def _notice_out(n: Notice, losses: _LossReport) -> dict[str, Any]:
    notice_type, entity_id, external, country = _identity_out(n)
    if n.requested_action is not None and n.requested_action != ic.DEFAULT_ACTION[n.category]:
        losses.add(
            "notice.requested_action",
            n.requested_action,
            f"INTERPOL states no requested action; a {notice_type} notice implies "
            f"{ic.DEFAULT_ACTION[n.category].value}",
        )
    if n.originating_agency is not None:
        losses.add(
            "notice.originating_agency", n.originating_agency, "originating agency not carried"
        )
    if n.evaluation is not None:
        for key in ("source_reliability", "information_accuracy"):
            value = getattr(n.evaluation, key)
            if value is not None:
                losses.add(f"notice.evaluation.{key}", value, "evaluation codes not carried")
    if notice_type != "un":
        for key in ("un_reference", "un_resolution"):
            if getattr(n, key) is not None:
                losses.add(f"notice.{key}", getattr(n, key), "only un notices carry it")
    subject = _subject_out(n.subject or Subject(), losses)
    warrants = _warrants_out(n, losses)
    if notice_type == "red" and not warrants:
        raise TranslationRefused(
            "missing-judicial-data",
            "notice.offences",
            "a red notice needs an offence with a charge or a warrant reference",
        )
    image_links = subject.pop("image_links")
    body: dict[str, Any] = {
        "notice_type": notice_type,
        "is_diffusion": n.is_diffusion,
        "entity_id": entity_id,
    }
    if external:
        body["external_references"] = external
    body["requesting_country_id"] = country
    body["date_of_publication"] = _wire_date(n.issued)
    body.update(subject)
    if image_links:
        body["image_links"] = image_links
    body["arrest_warrants"] = warrants
    body.update(_event_out(n, notice_type, losses))
    un = notice_type == "un"
    body["un_reference"] = n.un_reference if un else None
    body["un_resolution"] = n.un_resolution if un else None
    body["caveats"] = _caveats_out(n.dissemination, losses)
    return body


def _cancel_out(n: Notice) -> dict[str, Any]:
    notice_type, entity_id, external, country = _identity_out(n)
    body: dict[str, Any] = {"notice_type": notice_type, "entity_id": entity_id}
    if external:
        body["external_references"] = external
    body["requesting_country_id"] = country
    return body


def _provenance_out(p: Provenance) -> dict[str, Any]:
    return {
        "origin": p.origin,
        "origin_message_id": p.origin_message_id,
        "body_sha256": p.body_sha256,
        "keyid": p.keyid,
        "signature": p.signature,
        "audit_index": p.audit_index,
        "losses": [
            {"field": x.field, "source_value": x.source_value, "reason": x.reason} for x in p.losses
        ],
    }


def _check_sendable(wire: dict[str, Any]) -> None:
    """What we send must be what we would accept: refuse values the wire model rejects."""
    model = CancelMessage if wire["message_type"] == "notice.cancel" else NoticeMessage
    try:
        model.model_validate(wire)
    except ValidationError as exc:
        first = _violation(exc.errors()[0])
        raise TranslationRefused("invalid-value", first.path, first.reason) from None


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode("ascii"))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _checked_wire(
    message: CanonicalMessage, message_id: str
) -> tuple[dict[str, Any], tuple[Loss, ...]]:
    """The wire dict of ``message`` under ``message_id``, checked sendable, and its losses."""
    losses = _LossReport()
    if message.kind is MessageKind.CANCEL:
        notice = _cancel_out(message.notice)
    else:
        notice = _notice_out(message.notice, losses)
    wire: dict[str, Any] = {
        "message_id": message_id,
        "message_type": _TYPE_BY_KIND[message.kind],
        "sent_at": _wire_datetime(message.sent_at, "sent_at"),
        "sender_id": message.sender,
        "notice": notice,
    }
    if message.provenance is not None:
        wire["_provenance"] = _provenance_out(message.provenance)
    _check_sendable(wire)
    return wire, tuple(losses.entries)


def encode_message(message: CanonicalMessage) -> Encoded:
    wire, losses = _checked_wire(message, message.message_id)
    return Encoded(body=orjson.dumps(wire, default=_json_number), losses=losses)


_MESSAGE_ID: Final[TypeAdapter[str]] = TypeAdapter(MessageId)


def encode_messages(message: CanonicalMessage, message_ids: Sequence[str]) -> tuple[Encoded, ...]:
    """`encode_message` of ``message`` under each id of ``message_ids``, translated and
    checked once: the copies differ in message_id only, which nothing else is derived from.
    An id the wire model refuses is refused exactly as `encode_message` refuses it."""
    if not message_ids:
        return ()
    wire, losses = _checked_wire(message, message_ids[0])
    out: list[Encoded] = []
    for i, mid in enumerate(message_ids):
        if i:
            try:
                _MESSAGE_ID.validate_python(mid)
            except ValidationError:
                encode_message(message.model_copy(update={"message_id": mid}))  # raises
                raise AssertionError(f"{mid!r} refused alone but not in a message") from None
            wire["message_id"] = mid
        out.append(Encoded(body=orjson.dumps(wire, default=_json_number), losses=losses))
    return tuple(out)


# ============================================================================ references


def mint_interpol_reference(notice: Notice) -> str:
    """``<year>/<N>``: the year issued (else 1970), N = digest mod 10^7 without leading zeros."""
    year = notice.issued.year if notice.issued else 1970
    return f"{year:04d}/{reference_digest(notice) % 10**7}"


# ============================================================================ adapter


@dataclass(frozen=True, slots=True)
class InterpolAdapter:
    """`adapters._registry.Adapter` for the INTERPOL JSON notice."""

    schema: str = "interpol"
    media_type: str = MEDIA_TYPE
    reference_system: str = REFERENCE_SYSTEM

    def decode(self, body: bytes) -> CanonicalMessage:
        return decode_with_losses(body)[0]

    def encode(self, message: CanonicalMessage) -> Encoded:
        return encode_message(message)

    def encode_each(
        self, message: CanonicalMessage, message_ids: Sequence[str]
    ) -> tuple[Encoded, ...]:
        return encode_messages(message, message_ids)

    def mint_reference(self, notice: Notice) -> str:
        return mint_interpol_reference(notice)


ADAPTER: Final = InterpolAdapter()
