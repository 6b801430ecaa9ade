"""The GCCPOL-side adapter: XML alert bytes ↔ `CanonicalMessage` (spec/schemas.md).

decode: hardened parse (adapters.xml_parser) → element tree → wire model, every violation
with its path (schemas.gccpol) → the published XSD as well → canonical message.
encode: canonical message → wire models (+ loss report, or a refusal), each validated as it
is built unless every field is already known to be valid (`_built`) → UTF-8 XML written as
strings (`wire.write_message`). What we send is what we would accept: proven by tests over
generated notices (reader + XSD on the output) rather than re-checked per message.

Loss entries name the CANONICAL field ("subject.eye_colours[1]", "subject.names[Arab].given")
so both adapters report the same thing under the same name (conventions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Final, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters import gccpol_codes as gc
from adapters._errors import SchemaViolations, TranslationRefused, Violation
from adapters._minting import reference_digest
from adapters._registry import Encoded
from adapters.xml_parser import parse_untrusted_xml
from schemas import codes, hijri
from schemas import gccpol as wire
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    Colour,
    Dissemination,
    Evaluation,
    Event,
    HandlingCode,
    IdentityDocument,
    LocalizedText,
    Loss,
    MessageKind,
    Notice,
    NoticeCategory,
    Offence,
    PartialDate,
    PersonName,
    Provenance,
    Reference,
    RequestedAction,
    Subject,
    Warrant,
)
from schemas.text import refuse_hidden_characters

__all__ = [
    "ADAPTER",
    "MEDIA_TYPE",
    "REFERENCE_SYSTEM",
    "GccpolAdapter",
    "decode_alert",
    "encode_alert",
    "encode_alerts",
    "mint_gccpol_reference",
]

MEDIA_TYPE: Final = "application/vnd.gccpol.alert+xml"
REFERENCE_SYSTEM: Final = "GCCPOL"
UNSTATED_LANGUAGE: Final = "und"  # Description/@xml:lang is required; BCP 47 "undetermined"

# conventions: the requested action INTERPOL implies for each category.
DEFAULT_ACTION: Final = {
    NoticeCategory.WANTED: RequestedAction.ARREST,
    NoticeCategory.MISSING: RequestedAction.LOCATE,
    NoticeCategory.UNIDENTIFIED_BODY: RequestedAction.IDENTIFY,
}
_ALERT_ID: Final = TypeAdapter(wire.AlertId)
_MESSAGE_ID: Final = TypeAdapter(wire.MessageId)
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# ============================================================================ decode


def _date(value: wire.DualDate | None) -> PartialDate | None:
    if value is None:
        return None
    # The model has checked the pair; this only turns it into the canonical date.
    return hijri.check_pair(value.hijri, value.gregorian, value.precision or "day")


def _country(code: str | None) -> str | None:
    return codes.alpha3_to_alpha2(code) if code is not None else None


def _countries(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(codes.alpha3_to_alpha2(c) or c for c in values)


def _localized(value: wire.LangText | wire.LongLangText | None) -> LocalizedText | None:
    return LocalizedText(text=value.text, lang=value.lang) if value is not None else None


def _amount(value: str | None, per_unit: int) -> Decimal | None:
    """HeightCm → metres, WeightKg → kg; 0 means unknown (conventions)."""
    whole = int(value) if value is not None else 0
    return Decimal(whole) / per_unit if whole else None


def _script_of(text: str) -> str:
    return "Arab" if wire.ARABIC_LETTERS.search(text) else "Latn"


def _name(name: wire.Name) -> PersonName:
    parts = [p for p in (name.first, name.father, name.grandfather) if p]
    return PersonName(
        script=name.script,
        lang=name.lang,
        first=name.first,
        father=name.father,
        grandfather=name.grandfather,
        family=name.family,
        given=" ".join(parts) or None,
        romanization=None if name.romanization in (None, "UNKNOWN") else name.romanization,
    )


def _subject(s: wire.Subject) -> Subject:
    names = sorted((_name(n) for n in s.names), key=lambda n: n.script != "Latn")
    latin = next((n for n in names if n.script == "Latn"), None)
    body = s.physical
    return Subject(
        role=gc.ROLE_BY_CODE[s.role] if s.role else None,
        names=tuple(names),
        aliases=tuple(
            PersonName(script=_script_of(a.text), lang=a.lang, full=a.text) for a in s.aliases
        ),
        father_given=latin.father if latin else None,
        mother_names=tuple(
            PersonName(script=_script_of(m.text), lang=m.lang, full=m.text) for m in s.mother_names
        ),
        kunya=s.kunya,
        laqab=s.laqab,
        tribe=s.tribe,
        sex=gc.SEX_BY_CODE[s.sex] if s.sex else None,
        birth_date=_date(s.birth_date),
        birth_place=_localized(s.birth_place.locality) if s.birth_place else None,
        birth_country=_country(s.birth_place.country) if s.birth_place else None,
        nationalities=_countries(s.nationalities),
        languages=tuple(codes.language_from_639_1(c) or c for c in s.languages),
        height_m=_amount(body.height_cm, 100) if body else None,
        weight_kg=_amount(body.weight_kg, 1) if body else None,
        eye_colours=(gc.COLOUR_BY_CODE[body.eye_colour],) if body and body.eye_colour else (),
        hair_colours=(gc.COLOUR_BY_CODE[body.hair_colour],) if body and body.hair_colour else (),
        distinguishing_marks=(
            body.distinguishing_marks.text if body and body.distinguishing_marks else None
        ),
        identity_documents=tuple(
            IdentityDocument(
                type=d.type,
                number=d.number,
                issuing_country=_country(d.issuing_state),
                expiry_date=_date(d.expiry_date),
            )
            for d in s.identity_documents
        ),
        image_links=s.image_references,
    )


def _offence(o: wire.Offence) -> Offence:
    w = o.warrant
    return Offence(
        descriptions=tuple(
            LocalizedText(text=d.text, lang=None if d.lang == UNSTATED_LANGUAGE else d.lang)
            for d in o.descriptions
        ),
        legal_basis=o.legal_basis,
        max_penalty_years=int(o.max_penalty_years) if o.max_penalty_years else None,
        warrant=Warrant(
            reference=w.reference,
            issuing_country=_country(w.issuing_state),
            issuing_authority=w.issuing_authority,
            date=_date(w.date),
        )
        if w
        else None,
    )


def _notice(m: wire.Message) -> Notice:
    h = m.alert.header
    references = (
        Reference(system=REFERENCE_SYSTEM, id=h.alert_id),
        *(Reference(system=r.system, id=r.id) for r in h.external_references),
    )
    category = gc.CATEGORY_BY_CODE[h.alert_category]
    if m.message_type == "WITHDRAW":
        # conventions: a withdrawal carries only what identifies the notice.
        return Notice(
            category=category,
            references=references,
            originating_country=_country(h.originating_state),
        )
    handling = h.handling
    assert handling is not None and m.alert.subject is not None  # the model's NEW/AMEND rule
    evaluation = None
    if handling.source_reliability or handling.information_accuracy:
        evaluation = Evaluation(
            source_reliability=handling.source_reliability,
            information_accuracy=handling.information_accuracy,
        )
    event = m.alert.event
    return Notice(
        category=category,
        requested_action=gc.ACTION_BY_CODE[h.requested_action] if h.requested_action else None,
        references=references,
        originating_country=_country(h.originating_state),
        originating_agency=_localized(h.originating_agency),
        issued=_date(h.issue_date),
        subject=_subject(m.alert.subject),
        offences=tuple(_offence(o) for o in m.alert.offences),
        event=Event(
            date=_date(event.date), place=_localized(event.place), country=_country(event.state)
        )
        if event
        else None,
        dissemination=Dissemination(
            restricted_to=()
            if handling.releasable_to == "ALL"
            else _countries(tuple(handling.releasable_to.split(" "))),
            classification=Classification(handling.classification),
            handling_codes=tuple(gc.HANDLING_CODES[c] for c in handling.handling_codes),
            handling_note=handling.handling_note,
        ),
        evaluation=evaluation,
    )


def _provenance(p: wire.Provenance | None) -> Provenance | None:
    if p is None:
        return None
    return Provenance(
        origin=p.origin,
        origin_message_id=p.origin_message_id,
        body_sha256=p.body_sha256,
        keyid=p.keyid,
        signature=p.signature,
        audit_index=int(p.audit_index),
        losses=tuple(
            Loss(field=x.field, source_value=x.source_value, reason=x.reason) for x in p.losses
        ),
    )


def decode_alert(body: bytes) -> CanonicalMessage:
    """Wire bytes → canonical message. Raises MalformedMessage or SchemaViolations."""
    root = parse_untrusted_xml(body).getroot()
    message, problems = wire.read_message(root)
    if message is None or problems:
        raise SchemaViolations([Violation(p.path, p.reason) for p in problems])
    # The model passed; the published XSD must agree (a difference is a bug we want to see).
    xsd = list(wire.xsd_problems(root))
    if xsd:
        raise SchemaViolations([Violation(p.path, p.reason) for p in xsd])
    sent_at = dt.datetime.fromisoformat(message.sent_at).astimezone(dt.UTC)
    return CanonicalMessage(
        message_id=message.message_id,
        kind=gc.KIND_BY_CODE[message.message_type],
        sent_at=sent_at,
        sender=message.sender,
        source_schema="gccpol",
        notice=_notice(message),
        provenance=_provenance(message.provenance),
    )


# ============================================================================ encode


@dataclass(slots=True)
class _LossReport:
    entries: list[Loss] = field(default_factory=list)

    def add(self, path: str, value: object, reason: str) -> None:
        # Three plain strings (`_as_text` returns a str): nothing for the model to check.
        self.entries.append(
            _unvalidated(Loss, {"field": path, "source_value": _as_text(value), "reason": reason})
        )


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, PartialDate):
        return _iso(value)
    if isinstance(value, tuple | list):
        return " ".join(_as_text(v) for v in value)
    if hasattr(value, "value"):  # StrEnum
        return str(value.value)
    return str(value)


def _iso(d: PartialDate) -> str:
    if d.day is not None and d.month is not None:
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    return f"{d.year:04d}-{d.month:02d}" if d.month is not None else f"{d.year:04d}"


def _text(value: str | None, path: str, losses: _LossReport) -> str | None:
    """``value`` as XML token text: no characters XML cannot carry, whitespace collapsed."""
    if value is None:
        return None
    cleaned = _XML_ILLEGAL.sub("", value)
    if cleaned != value:
        losses.add(path, value, "characters XML 1.0 cannot carry were removed")
    collapsed = str(wire.collapse(cleaned))
    if collapsed != cleaned and collapsed:
        losses.add(path, value, "line breaks and repeated spaces were collapsed to one space")
    if not collapsed:
        if value:
            losses.add(path, value, "only blank text remained; the element is left out")
        return None
    return collapsed


def _raw(value: str) -> str:
    """Provenance text is copied as it is, minus what XML cannot carry at all."""
    return _XML_ILLEGAL.sub("\ufffd", value)


# Each wire model checks its fields when it is validated (lengths, patterns, assigned codes,
# hidden characters, per-element rules), and most values the encoder puts in them are known
# to pass already: codes come from the code tables, countries from the ISO table, text from
# `_text` (collapsed, not blank, XML-safe), dates from `_dual`, each element's rules are met
# by the functions below. Where every field of a model is known to pass (``checked``), the
# model is built without validation; otherwise it is validated exactly as before, so a value
# the GCC schema cannot carry raises the same ValidationError at the same point: the same
# refusal. tests/unit/test_gccpol_fast_encode.py encodes generated notices both ways
# (`_VALIDATE_ALL`) and compares bytes, losses and refusals, and re-validates every model.
_VALIDATE_ALL = False  # True builds every wire model validated: the reference, for tests
_Model = TypeVar("_Model", bound=BaseModel)
_SYSTEM_NAME: Final = re.compile(wire.SYSTEM_NAME_PATTERN)
_SENDER_ID: Final = re.compile(wire.SENDER_ID_PATTERN)
_MESSAGE_ID_FORM: Final = re.compile(wire.MESSAGE_ID_PATTERN)
_SENT_AT: Final = re.compile(wire.SENT_AT_PATTERN)
_SHA256_HEX: Final = re.compile(wire.SHA256_HEX_PATTERN)
_AUDIT_INDEX: Final = re.compile(wire.AUDIT_INDEX_PATTERN)
_TOKEN: Final = 1000  # max_length of wire.Token
_LONG_TOKEN: Final = 4000  # max_length of wire.LongToken


def _built(model: type[_Model], checked: bool, /, **fields: Any) -> _Model:
    """``model`` of ``fields``: unvalidated when ``checked`` (see above), else validated."""
    if checked and not _VALIDATE_ALL:
        return _unvalidated(model, fields)
    return model(**fields)


@cache
def _template(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` in order, with its default (None when the field is required:
    the encoder always gives those). The defaults are None and (): shared safely."""
    return {
        name: None if info.is_required() else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
    }


def _unvalidated(model: type[_Model], fields: dict[str, Any]) -> _Model:
    """What ``model.model_construct(**fields)`` builds, for fields given by name, without
    its per-field alias lookups (a third of an encode): the same four attributes.
    tests/unit/test_gccpol_fast_encode.py compares the two for every wire model."""
    instance = model.__new__(model)
    setattr_ = object.__setattr__  # the models are frozen; model_construct does the same
    setattr_(instance, "__dict__", {**_template(model), **fields})
    setattr_(instance, "__pydantic_fields_set__", set(fields))
    setattr_(instance, "__pydantic_extra__", None)
    setattr_(instance, "__pydantic_private__", None)
    return instance


def _fits(value: str | None, limit: int) -> bool:
    """Whether ``value`` (from `_text`: collapsed, not blank) is a valid Token/LongToken."""
    if value is None:
        return True
    if len(value) > limit:
        return False
    try:
        refuse_hidden_characters(value)
    except ValueError:
        return False
    return True


def _as_written(value: str, limit: int) -> bool:
    """Whether ``value`` (any text) is a Token/LongToken as it is: collapsing changes nothing."""
    return value != "" and wire.collapse(value) == value and _fits(value, limit)


def _within(value: str, limit: int) -> bool:
    """Whether ``value`` is collapsed already and 1 to ``limit`` characters long."""
    return 0 < len(value) <= limit and wire.collapse(value) == value


def _alpha3(code: str | None, path: str) -> str | None:
    if code is None:
        return None
    a3 = codes.alpha2_to_alpha3(code)
    if a3 is None:
        raise TranslationRefused(
            "unknown-country", path, f"{code!r} is not an ISO 3166-1 alpha-2 country code"
        )
    return a3


def _dual(
    d: PartialDate | None, path: str, losses: _LossReport, *, precision: bool = False
) -> wire.DualDate | None:
    """Both calendars; ``precision`` forces the attribute (BirthDate always states it)."""
    if d is None:
        return None
    try:
        h = hijri.to_hijri(d)
        g = hijri.written_gregorian(d)
    except hijri.OutsideHijriRangeError as exc:
        raise TranslationRefused("date-outside-hijri-range", path, exc.reason) from None
    except hijri.CalendarError as exc:
        raise TranslationRefused("required-field-unavailable", path, exc.reason) from None
    if hijri.crosses_calendars(d):
        first, last = hijri.hijri_range(d)
        losses.add(
            path,
            d,
            f"a {d.precision}-precision date is {first.isoformat()} .. {last.isoformat()} AH in "
            f"the Hijri calendar; the Hijri {d.precision} written ({h.isoformat()}) is the one "
            "containing its first day, so the Hijri form covers a different range of days",
        )
    show = precision or d.precision != "day"
    written: Any = d.precision if show else None  # "day" | "month" | "year"
    # Both forms come from schemas.hijri's own conversion of one date, so the pair agrees by
    # construction: DualDate's validators (which convert back to compare) are skipped here.
    # tests/unit/test_gccpol_encode_valid.py proves every pair written passes them and the XSD.
    fields = {"precision": written, "hijri": h.isoformat(), "gregorian": g}
    return _unvalidated(wire.DualDate, fields)


def _lang(lang: str | None, path: str, losses: _LossReport) -> str | None:
    if lang is None:
        return None
    if re.fullmatch(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*", lang):
        return lang
    losses.add(path, lang, "not a BCP 47 language tag; xml:lang left out")
    return None


def _lang_text(
    value: LocalizedText | None, path: str, losses: _LossReport, *, long: bool = False
) -> wire.LangText | wire.LongLangText | None:
    if value is None:
        return None
    text = _text(value.text, path, losses)
    if text is None:
        return None
    lang = _lang(value.lang, f"{path}.lang", losses)
    if long:
        return _built(wire.LongLangText, _fits(text, _LONG_TOKEN), text=text, lang=lang)
    return _built(wire.LangText, _fits(text, _TOKEN), text=text, lang=lang)


def _split_given(name: PersonName, path: str, losses: _LossReport) -> tuple[str | None, ...]:
    """(first, father, grandfather): stated parts, else a guess from ``given`` (conventions)."""
    if name.first or name.father or name.grandfather:
        return name.first, name.father, name.grandfather
    given = name.given if name.given is not None else (name.full if name.family is None else None)
    if not given:
        return None, None, None
    tokens = given.split()
    if len(tokens) > 1:
        losses.add(
            f"{path}.given",
            given,
            "name split by guess: the first word written as FirstName, the second as "
            "FatherName, the rest as GrandfatherName",
        )
    elif tokens and tokens[0] != given:
        losses.add(f"{path}.given", given, "one word: the white space around it is not kept")
    return (
        tokens[0] if tokens else None,
        tokens[1] if len(tokens) > 1 else None,
        " ".join(tokens[2:]) or None,
    )


def _wire_name(name: PersonName, losses: _LossReport) -> wire.Name:
    path = f"subject.names[{name.script}]"
    first, father, grandfather = (
        _text(part, f"{path}.{label}", losses)
        for part, label in zip(
            _split_given(name, path, losses), ("first", "father", "grandfather"), strict=True
        )
    )
    family = _text(name.family, f"{path}.family", losses)
    if not (first or father or grandfather or family):
        raise TranslationRefused(
            "required-field-unavailable", path, f"the {name.script} name has no name parts"
        )
    romanization = None
    if name.script == "Latn":
        romanization = name.romanization or "UNKNOWN"
        if romanization not in gc.ROMANIZATIONS:
            losses.add(f"{path}.romanization", romanization, "not a GCC romanization; UNKNOWN")
            romanization = "UNKNOWN"
    # Its rules hold: a script the caller chose ("Arab" or "Latn"), the romanization with
    # the Latin name only (one of gc.ROMANIZATIONS), at least one part (refused above).
    checked = name.script in ("Arab", "Latn") and all(
        _fits(part, _TOKEN) for part in (first, father, grandfather, family)
    )
    return _built(
        wire.Name,
        checked,
        script=name.script,
        lang=_lang(name.lang, f"{path}.lang", losses),
        romanization=romanization,
        first=first,
        father=father,
        grandfather=grandfather,
        family=family,
    )


def _one_string(
    name: PersonName, path: str, what: str, losses: _LossReport
) -> wire.LangText | None:
    """An alias or a mother's name: GCC writes one string."""
    if name.full is not None:
        text = name.full
    else:
        text = " ".join(p for p in (name.given, name.family) if p)
        if name.given:
            # One string reads back as a whole name (`full`): which words were the given
            # name is lost, even when there is no family name (tests/unit/test_round_trips.py).
            losses.add(path, text, f"{what} written as one string (given name, then family name)")
    value = _text(text, path, losses)
    if value is None:
        return None
    lang = _lang(name.lang, f"{path}.lang", losses)
    return _built(wire.LangText, _fits(value, _TOKEN), text=value, lang=lang)


def _names(s: Subject, losses: _LossReport) -> tuple[wire.Name, ...]:
    arab = next((n for n in s.names if n.script == "Arab"), None)
    if arab is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "subject.names[Arab]",
            "the GCC side requires the Arabic name, and the notice has no name in Arabic script",
        )
    latin = next((n for n in s.names if n.script == "Latn"), None)
    for other in s.names:
        if other.script not in ("Arab", "Latn"):
            losses.add(
                f"subject.names[{other.script}]",
                " ".join(p for p in (other.given, other.family, other.full) if p),
                f"the GCC side carries Arabic and Latin names only, not script {other.script}",
            )
    out = [_wire_name(arab, losses)]
    if latin is not None:
        out.append(_wire_name(latin, losses))
    written_father = out[1].father if len(out) > 1 else None
    if s.father_given is not None and s.father_given != written_father:
        losses.add(
            "subject.father_given",
            s.father_given,
            "the father's forename is carried only as the Latin FatherName, which differs",
        )
    elif s.father_given is None and written_father is not None:
        # The GCC side has no separate field: a FatherName reads back as the father's forename.
        losses.add(
            "subject.father_given",
            "",
            f"no father's forename was given; the Latin FatherName written ({written_father}) "
            "reads back as one",
        )
    return tuple(out)


def _measure(
    value: Decimal | None, *, scale: int, limit: int, path: str, unit: str, losses: _LossReport
) -> str | None:
    if value is None:
        return None
    whole = (value * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if whole != value * scale:
        losses.add(path, value, f"rounded to whole {unit}: {whole}")
    if whole <= 0 or whole > limit:
        losses.add(path, value, f"{whole} {unit} is outside 1-{limit}; left out")
        return None
    return str(int(whole))


def _colour(colours: tuple[Colour, ...], path: str, what: str, losses: _LossReport) -> Any:
    if not colours:
        return None
    code, exact = gc.colour_code(colours[0])
    if not exact:
        losses.add(f"{path}[0]", colours[0], f"no GCC code for {colours[0].value}; {code} written")
    for index, extra in enumerate(colours[1:], start=1):
        losses.add(f"{path}[{index}]", extra, f"the GCC side carries one {what} colour")
    return code


_NO_PHYSICAL_DESCRIPTION: Final = wire.PhysicalDescription()


def _physical(s: Subject, losses: _LossReport) -> wire.PhysicalDescription | None:
    marks = _text(s.distinguishing_marks, "subject.distinguishing_marks", losses)
    # Whole numbers within the pattern's range (`_measure`) and table codes: always valid.
    physical = _built(
        wire.PhysicalDescription,
        True,
        height_cm=_measure(
            s.height_m,
            scale=100,
            limit=300,
            path="subject.height_m",
            unit="centimetres",
            losses=losses,
        ),
        weight_kg=_measure(
            s.weight_kg,
            scale=1,
            limit=700,
            path="subject.weight_kg",
            unit="kilograms",
            losses=losses,
        ),
        eye_colour=_colour(s.eye_colours, "subject.eye_colours", "eye", losses),
        hair_colour=_colour(s.hair_colours, "subject.hair_colours", "hair", losses),
        distinguishing_marks=(
            _built(wire.LongLangText, _fits(marks, _LONG_TOKEN), text=marks) if marks else None
        ),
    )
    return physical if physical != _NO_PHYSICAL_DESCRIPTION else None


def _languages(s: Subject, losses: _LossReport) -> tuple[str, ...]:
    out: list[str] = []
    for index, lang in enumerate(s.languages):
        code = codes.language_to_639_1(lang)
        if code is None:
            losses.add(f"subject.languages[{index}]", lang, "the language has no ISO 639-1 code")
        elif code not in out:
            out.append(code)
    return tuple(out)


def _documents(s: Subject, losses: _LossReport) -> tuple[wire.IdentityDocument, ...]:
    out: list[wire.IdentityDocument] = []
    for i, doc in enumerate(s.identity_documents):
        path = f"subject.identity_documents[{i}]"
        kind = _text(doc.type, f"{path}.type", losses)
        number = _text(doc.number, f"{path}.number", losses)
        if kind is None or number is None:
            losses.add(path, f"{doc.type} {doc.number}", "a document needs a type and a number")
            continue
        out.append(
            _built(
                wire.IdentityDocument,
                _fits(kind, _TOKEN) and _fits(number, _TOKEN),
                type=kind,
                number=number,
                issuing_state=_alpha3(doc.issuing_country, f"{path}.issuing_country"),
                expiry_date=_dual(doc.expiry_date, f"{path}.expiry_date", losses),
            )
        )
    return tuple(out)


def _images(s: Subject, losses: _LossReport) -> tuple[str, ...]:
    out: list[str] = []
    for i, link in enumerate(s.image_links):
        if re.fullmatch(r"https?://\S+", link) and len(link) <= 2048:
            out.append(link)
            losses.add(f"subject.image_links[{i}]", link, "image carried as a reference only")
        else:
            losses.add(f"subject.image_links[{i}]", link, "not an http(s) URL; left out")
    return tuple(out)


def _unique_alpha3(values: tuple[str, ...], path: str) -> tuple[str, ...]:
    out: list[str] = []
    for i, code in enumerate(values):
        a3 = _alpha3(code, f"{path}[{i}]")
        if a3 is not None and a3 not in out:
            out.append(a3)
    return tuple(out)


def _wire_subject(s: Subject, losses: _LossReport) -> wire.Subject:
    place = None
    locality = _lang_text(s.birth_place, "subject.birth_place", losses)
    if locality is not None or s.birth_country is not None:
        place = _built(
            wire.Place,
            True,
            locality=locality,
            country=_alpha3(s.birth_country, "subject.birth_country"),
        )
    aliases = (
        _one_string(a, f"subject.aliases[{i}]", "alias", losses) for i, a in enumerate(s.aliases)
    )
    mothers = (
        _one_string(m, f"subject.mother_names[{i}]", "the mother's name", losses)
        for i, m in enumerate(s.mother_names)
    )
    names = _names(s, losses)
    kunya = _text(s.kunya, "subject.kunya", losses)
    laqab = _text(s.laqab, "subject.laqab", losses)
    tribe = _text(s.tribe, "subject.tribe", losses)
    # Table codes, one Arabic name and at most one Latin one (`_names`), countries and
    # languages from the ISO tables without repeats, links that `_images` matched.
    checked = _fits(kunya, _TOKEN) and _fits(laqab, _TOKEN) and _fits(tribe, _TOKEN)
    return _built(
        wire.Subject,
        checked,
        role=gc.CODE_BY_ROLE[s.role] if s.role else None,
        names=names,
        kunya=kunya,
        laqab=laqab,
        tribe=tribe,
        aliases=tuple(a for a in aliases if a is not None),
        mother_names=tuple(m for m in mothers if m is not None),
        sex=gc.CODE_BY_SEX[s.sex] if s.sex else None,
        birth_date=_dual(s.birth_date, "subject.birth_date", losses, precision=True),
        birth_place=place,
        nationalities=_unique_alpha3(s.nationalities, "subject.nationalities"),
        languages=_languages(s, losses),
        physical=_physical(s, losses),
        identity_documents=_documents(s, losses),
        image_references=_images(s, losses),
    )


def _offences(n: Notice, losses: _LossReport) -> tuple[wire.Offence, ...]:
    out: list[wire.Offence] = []
    for i, offence in enumerate(n.offences):
        path = f"notice.offences[{i}]"
        descriptions = []
        for j, text in enumerate(offence.descriptions):
            value = _text(text.text, f"{path}.descriptions[{j}]", losses)
            if value is not None:
                lang = _lang(text.lang, f"{path}.descriptions[{j}].lang", losses)
                descriptions.append(
                    _built(
                        wire.Description,
                        _fits(value, _LONG_TOKEN),
                        text=value,
                        lang=lang or UNSTATED_LANGUAGE,
                    )
                )
        if not descriptions:
            ref = offence.warrant.reference if offence.warrant else None
            losses.add(
                path,
                ref,
                "an offence without a description (charge) cannot be carried: the GCC Offence "
                "requires a Description",
            )
            continue
        years = offence.max_penalty_years
        if years is not None and not 0 <= years <= 999:
            losses.add(f"{path}.max_penalty_years", years, "outside 0-999 years; left out")
            years = None
        legal_basis = _text(offence.legal_basis, f"{path}.legal_basis", losses)
        out.append(
            _built(
                wire.Offence,
                _fits(legal_basis, _LONG_TOKEN),
                descriptions=tuple(descriptions),
                legal_basis=legal_basis,
                max_penalty_years=str(years) if years is not None else None,
                warrant=_warrant(offence.warrant, f"{path}.warrant", losses),
            )
        )
    if n.category is NoticeCategory.WANTED and not out:
        raise TranslationRefused(
            "missing-judicial-data",
            "notice.offences",
            "a WANTED alert needs an offence with its charge (Description); the notice has none",
        )
    return tuple(out)


def _warrant(w: Warrant | None, path: str, losses: _LossReport) -> wire.Warrant | None:
    if w is None:
        return None
    reference = _text(w.reference, f"{path}.reference", losses)
    issuing_state = _alpha3(w.issuing_country, f"{path}.issuing_country")
    issuing_authority = _text(w.issuing_authority, f"{path}.issuing_authority", losses)
    date = _dual(w.date, f"{path}.date", losses)
    if not (reference or issuing_state or issuing_authority or date):
        return None
    return _built(
        wire.Warrant,
        _fits(reference, _TOKEN) and _fits(issuing_authority, _TOKEN),
        reference=reference,
        issuing_state=issuing_state,
        issuing_authority=issuing_authority,
        date=date,
    )


def _event(n: Notice, losses: _LossReport) -> wire.Event | None:
    if n.event is None:
        return None
    event = _built(
        wire.Event,
        True,
        date=_dual(n.event.date, "notice.event.date", losses),
        place=_lang_text(n.event.place, "notice.event.place", losses),
        state=_alpha3(n.event.country, "notice.event.country"),
    )
    return event  # written even when empty: the sender stated that there is an event


def _handling(n: Notice, losses: _LossReport) -> wire.Handling:
    d = n.dissemination
    classification = d.classification
    if classification is None:
        if d.tlp is None:
            classification = Classification.RESTRICTED
            losses.add(
                "notice.dissemination.tlp",
                "",
                "no TLP was given; the GCC side requires a classification and RESTRICTED was "
                "written",
            )
        else:
            classification, inverse = gc.CLASSIFICATION_BY_TLP[d.tlp]
            if not inverse:
                losses.add(
                    "notice.dissemination.tlp",
                    d.tlp,
                    f"{d.tlp.value} written as classification {classification.value}, which "
                    "does not map back to the same TLP",
                )
    elif d.tlp is not None and gc.CLASSIFICATION_BY_TLP[d.tlp] != (classification, True):
        losses.add(
            "notice.dissemination.tlp",
            d.tlp,
            f"the classification {classification.value} is written; the TLP is not carried",
        )
    handling_codes = list(d.handling_codes)
    if d.classification is None and not handling_codes:
        # Not from a GCC sender (which states its own codes, possibly none): conventions, H0.
        # A code the sender did not state is written: reported, like the classification.
        handling_codes.append(HandlingCode.H0)
        losses.add(
            "notice.dissemination.handling_codes",
            "",
            "no handling code was given; H0 (use only to prevent and combat crime) was written",
        )
    note = _text(d.handling_note, "notice.dissemination.handling_note", losses)
    if d.excluded:
        excluded = " ".join(_unique_alpha3(d.excluded, "notice.dissemination.excluded"))
        losses.add(
            "notice.dissemination.excluded",
            d.excluded,
            "exclusion carried as handling note (H3): the GCC side has no excluded-countries field",
        )
        if HandlingCode.H3 not in handling_codes:
            handling_codes.append(HandlingCode.H3)
        exclusion = f"Not releasable to: {excluded}"
        note = f"{note}; {exclusion}" if note else exclusion
    if note is not None and HandlingCode.H3 not in handling_codes:
        losses.add(
            "notice.dissemination.handling_note", note, "a handling note needs H3; not carried"
        )
        note = None
    if HandlingCode.H3 in handling_codes and note is None:
        note = "Other restriction (no note given)"
        losses.add("notice.dissemination.handling_codes", "H3", "H3 had no note; a note is written")
    evaluation = n.evaluation or Evaluation()
    reliability = evaluation.source_reliability
    if reliability is not None and reliability not in ("A", "B", "C", "X"):
        losses.add("notice.evaluation.source_reliability", reliability, "not A, B, C or X")
        reliability = None
    accuracy = evaluation.information_accuracy
    if accuracy is not None and accuracy not in ("1", "2", "3", "4"):
        losses.add("notice.evaluation.information_accuracy", accuracy, "not 1, 2, 3 or 4")
        accuracy = None
    restricted = _unique_alpha3(d.restricted_to, "notice.dissemination.restricted_to")
    # Table codes without repeats, a note exactly when H3 is there (above), countries from
    # the ISO table without repeats, the evaluation codes checked above.
    return _built(
        wire.Handling,
        _fits(note, _LONG_TOKEN),
        classification=classification.value,
        handling_codes=tuple(dict.fromkeys(c.value for c in handling_codes)),
        handling_note=note,
        releasable_to=" ".join(restricted) or "ALL",
        source_reliability=reliability,
        information_accuracy=accuracy,
    )


def _references(n: Notice) -> tuple[str, tuple[wire.ExternalReference, ...], bool]:
    """(AlertID, the other systems' references, whether all are valid as they are)."""
    alert_id = n.reference(REFERENCE_SYSTEM)
    if alert_id is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.references[GCCPOL]",
            "the notice has no GCCPOL AlertID; the gateway mints one (mint_reference) or uses "
            "its stored mapping before encoding",
        )
    try:
        as_written = _ALERT_ID.validate_python(alert_id) == alert_id
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.references[GCCPOL]",
            f"the GCCPOL reference {alert_id!r} is not an AlertID "
            f"(GCC-<alpha-3>-<Hijri year>-<6 digits>): {reason}",
        ) from None
    seen: set[str] = {REFERENCE_SYSTEM}
    externals: list[wire.ExternalReference] = []
    for ref in n.references:
        if ref.system not in seen:
            seen.add(ref.system)
            checked = _SYSTEM_NAME.fullmatch(ref.system) is not None and _as_written(ref.id, _TOKEN)
            as_written = as_written and checked
            externals.append(_built(wire.ExternalReference, checked, system=ref.system, id=ref.id))
    # Written as they are, the systems are distinct and none is GCCPOL (Header's rules);
    # a value that collapsing would change leaves the header to be validated.
    return alert_id, tuple(externals), as_written


def _header(message: CanonicalMessage, losses: _LossReport) -> wire.Header:
    n = message.notice
    alert_id, externals, checked = _references(n)
    category = gc.CODE_BY_CATEGORY[n.category]
    state = _alpha3(n.originating_country, "notice.originating_country")
    if state is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.originating_country",
            "the GCC side requires the OriginatingState and the notice names no country",
        )
    if message.kind is MessageKind.CANCEL:
        return _built(
            wire.Header,
            checked,
            alert_id=alert_id,
            external_references=externals,
            alert_category=category,
            originating_state=state,
        )
    action = n.requested_action
    if action is None:
        action = DEFAULT_ACTION.get(n.category, RequestedAction.INFORM)
        losses.add(
            "notice.requested_action",
            "",
            f"no requested action was given; the category's default {action.value} was written",
        )
    issued = n.issued
    if issued is None:
        issued = PartialDate(
            year=message.sent_at.year, month=message.sent_at.month, day=message.sent_at.day
        )
        losses.add("notice.issued", "", "no issue date was given; the sending date was written")
    agency = _lang_text(n.originating_agency, "notice.originating_agency", losses)
    return _built(
        wire.Header,
        checked,
        alert_id=alert_id,
        external_references=externals,
        alert_category=category,
        requested_action=gc.CODE_BY_ACTION[action],
        originating_state=state,
        originating_agency=agency,
        issue_date=_dual(issued, "notice.issued", losses),
        handling=_handling(n, losses),
    )


def _not_carried(n: Notice, losses: _LossReport) -> None:
    if n.is_diffusion:
        losses.add(
            "notice.is_diffusion",
            "true",
            "the GCC side has no diffusions; the diffusion is carried as an alert",
        )
    if n.un_reference is not None:
        losses.add("notice.un_reference", n.un_reference, "the GCC side has no UN reference")
    if n.un_resolution is not None:
        losses.add("notice.un_resolution", n.un_resolution, "the GCC side has no UN resolution")


def _wire_provenance(p: Provenance | None) -> wire.Provenance | None:
    if p is None:
        return None
    origin_message_id = _raw(p.origin_message_id)
    keyid = _raw(p.keyid)
    signature = _raw(p.signature)
    audit_index = str(p.audit_index)
    checked = (
        _SENDER_ID.fullmatch(p.origin) is not None
        and _within(origin_message_id, 128)
        and _SHA256_HEX.fullmatch(p.body_sha256) is not None
        and _within(keyid, 256)
        and _within(signature, 4096)
        and _AUDIT_INDEX.fullmatch(audit_index) is not None
    )
    return _built(
        wire.Provenance,
        checked,
        origin=p.origin,
        origin_message_id=origin_message_id,
        body_sha256=p.body_sha256,
        keyid=keyid,
        signature=signature,
        audit_index=audit_index,
        losses=tuple(
            # Cut to the attribute's limits and never empty: always valid.
            _built(
                wire.ProvenanceLoss,
                True,
                field=_raw(x.field)[:300] or "?",
                source_value=_raw(x.source_value)[:4096],
                reason=_raw(x.reason)[:1000] or "?",
            )
            for x in p.losses
        ),
    )


def _sent_at(stamp: dt.datetime) -> str:
    utc = stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _wire_message(message: CanonicalMessage, losses: _LossReport) -> wire.Message:
    n = message.notice
    if n.category is NoticeCategory.UN_SPECIAL:
        raise TranslationRefused(
            "no-counterpart",
            "notice.category",
            "a UN special notice has no GCC alert category counterpart",
        )
    header = _header(message, losses)
    # Alert has rules by message kind only, and builds them by construction (_header and
    # below); validated without the kind, it only checks the types of its elements.
    if message.kind is MessageKind.CANCEL:
        alert = _built(wire.Alert, True, header=header)
    else:
        if n.subject is None:
            raise TranslationRefused(
                "required-field-unavailable",
                "notice.subject",
                "the GCC side requires a Subject with an Arabic name; the notice has no subject",
            )
        _not_carried(n, losses)
        alert = _built(
            wire.Alert,
            True,
            header=header,
            subject=_wire_subject(n.subject, losses),
            offences=_offences(n, losses),
            event=_event(n, losses),
        )
    sent_at = _sent_at(message.sent_at)
    # SentAt: a real date and time when it has the pattern (strftime pads no year < 1000).
    checked = (
        _MESSAGE_ID_FORM.fullmatch(message.message_id) is not None
        and _SENT_AT.fullmatch(sent_at) is not None
        and _SENDER_ID.fullmatch(message.sender) is not None
    )
    return _built(
        wire.Message,
        checked,
        schema_version=wire.SCHEMA_VERSION,
        message_id=message.message_id,
        message_type=gc.CODE_BY_KIND[message.kind],
        sent_at=sent_at,
        sender=message.sender,
        alert=alert,
        provenance=_wire_provenance(message.provenance),
    )


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{exc.title}.{where}" if where else exc.title, str(error["msg"])


def _checked_wire_message(message: CanonicalMessage, losses: _LossReport) -> wire.Message:
    try:
        return _wire_message(message, losses)
    except ValidationError as exc:
        path, reason = _first_error(exc)
        raise TranslationRefused(
            "value-not-expressible", path, f"the GCC schema cannot carry it: {reason}"
        ) from None


def encode_alert(message: CanonicalMessage) -> Encoded:
    """Canonical message → GCC XML bytes + loss report. Raises TranslationRefused."""
    losses = _LossReport()
    model = _checked_wire_message(message, losses)
    # What we send is what we would accept. Every wire model above was validated as it was
    # built (field types, lengths, patterns, per-element rules) or holds only values known
    # to pass (`_built`), and the message-kind rules are met by construction (_header,
    # _wire_message). Reading our own output back and
    # running the XSD on it cost two thirds of an encode (docs/performance.md); instead
    # tests/unit/test_gccpol_encode_valid.py proves, over generated notices, that every document
    # written passes `wire.read_message` and the published XSD.
    return Encoded(body=wire.write_message(model), losses=tuple(losses.entries))


def encode_alerts(message: CanonicalMessage, message_ids: Sequence[str]) -> tuple[Encoded, ...]:
    """`encode_alert` for each id in ``message_ids``: the alert is translated (and its
    loss report made) once; only MessageID differs between the documents written."""
    if not message_ids:
        return ()
    try:
        ids = [str(_MESSAGE_ID.validate_python(mid)) for mid in message_ids]
    except ValidationError as exc:
        reason = _first_error(exc)[1]
        raise TranslationRefused(
            "value-not-expressible", "message_id", f"not a GCC MessageID: {reason}"
        ) from None
    losses = _LossReport()
    first = ids[0]
    model = _checked_wire_message(message.model_copy(update={"message_id": first}), losses)
    report = tuple(losses.entries)
    body = wire.write_message(model)
    # The copies differ in MessageID only. Its element is written once, as this exact text
    # (a UUID needs no escaping, and '<' in any text is written as '&lt;', so the string
    # cannot occur anywhere else): the copies are made on the bytes.
    marker = f"<gcc:MessageID>{first}</gcc:MessageID>".encode()
    if body.count(marker) != 1:
        raise AssertionError(f"encode_alerts: expected one {marker!r} in the alert written")
    return tuple(
        Encoded(
            body=body.replace(marker, f"<gcc:MessageID>{mid}</gcc:MessageID>".encode(), 1),
            losses=report,
        )
        for mid in ids
    )


# ============================================================================ references


def mint_gccpol_reference(notice: Notice) -> str:
    """``GCC-<alpha-3>-<Hijri year>-<6 digits>`` (conventions, "References")."""
    state = _alpha3(notice.originating_country, "notice.originating_country")
    if state is None:
        raise TranslationRefused(
            "required-field-unavailable",
            "notice.originating_country",
            "an AlertID names the originating state and the notice names no country",
        )
    issued = notice.issued or PartialDate(year=2026, month=1, day=1)
    try:
        year = hijri.to_hijri(issued).year
    except hijri.CalendarError as exc:
        raise TranslationRefused("date-outside-hijri-range", "notice.issued", exc.reason) from None
    return f"GCC-{state}-{year:04d}-{reference_digest(notice) % 10**6:06d}"


# ============================================================================ adapter


@dataclass(frozen=True, slots=True)
class GccpolAdapter:
    """`adapters._registry.Adapter` for the GCCPOL XML alert."""

    schema: str = "gccpol"
    media_type: str = MEDIA_TYPE
    reference_system: str = REFERENCE_SYSTEM

    def decode(self, body: bytes) -> CanonicalMessage:
        return decode_alert(body)

    def encode(self, message: CanonicalMessage) -> Encoded:
        return encode_alert(message)

    def encode_each(
        self, message: CanonicalMessage, message_ids: Sequence[str]
    ) -> tuple[Encoded, ...]:
        return encode_alerts(message, message_ids)

    def mint_reference(self, notice: Notice) -> str:
        return mint_gccpol_reference(notice)


ADAPTER: Final = GccpolAdapter()
