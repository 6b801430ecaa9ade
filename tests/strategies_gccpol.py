"""Hypothesis strategies for valid GCCPOL alerts (XML bytes), reused for cross-schema trips.

`gccpol_messages()` draws a wire model (schemas.gccpol) that satisfies every rule of
spec/schemas.md and renders it with the adapter's writer: NEW, AMEND and WITHDRAW, every
optional element sometimes present, dates of every precision across the Hijri range.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from schemas import gccpol as wire
from schemas import hijri
from schemas.canonical import CanonicalMessage, PartialDate, Reference

ARABIC_GIVEN = ("محمد", "عبدالله", "سعد", "مريم", "خالد", "سالم", "فاطمة", "نورة", "أحمد", "علي")
ARABIC_FAMILY = ("القحطاني", "المزروعي", "الكعبي", "الدوسري", "آل سعود", "الهاشمي")
LATIN_GIVEN = ("MOHAMMED", "ABDULLAH", "SAAD", "MARYAM", "KHALED", "SALEM", "FATIMA", "NOURA")
LATIN_FAMILY = ("AL QAHTANI", "AL MAZROUEI", "AL KAABI", "AL DOSARI", "AL-HASHEMI")
STATES = ("ARE", "SAU", "BHR", "KWT", "OMN", "QAT", "FRA", "DEU", "GBR", "USA", "EGY", "JOR")
LANGUAGES = ("ar", "en", "fr", "de", "ur", "fa", "hi", "tl")
XML_LANGS = ("ar", "en", "fr", "ar-AE", "en-GB")

_free_text = (
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=("L", "N", "P", "Zs"),
            exclude_characters="\u2028\u2029\x85\xa0",
        ),
        min_size=1,
        max_size=40,
    )
    .map(lambda s: str(wire.collapse(s)))
    .filter(bool)
)
_text = st.one_of(
    st.sampled_from(ARABIC_GIVEN + LATIN_FAMILY + ("Dubai International Airport",)), _free_text
)


@st.composite
def partial_dates(
    draw: st.DrawFn,
    first: dt.date = dt.date(1925, 1, 1),
    last: dt.date = dt.date(2077, 10, 31),
    precisions: tuple[str, ...] = ("day", "month", "year"),
) -> PartialDate:
    day = draw(st.dates(min_value=first, max_value=last))
    precision = draw(st.sampled_from(precisions))
    if precision == "day":
        return PartialDate(year=day.year, month=day.month, day=day.day)
    if precision == "month":
        return PartialDate(year=day.year, month=day.month)
    return PartialDate(year=day.year)


@st.composite
def dual_dates(draw: st.DrawFn, *, partial: bool = True) -> wire.DualDate:
    date = draw(partial_dates(precisions=("day", "month", "year") if partial else ("day",)))
    state_precision = date.precision != "day" or draw(st.booleans())
    return wire.DualDate(
        precision=date.precision if state_precision else None,  # type: ignore[arg-type]
        hijri=hijri.to_hijri(date).isoformat(),
        gregorian=hijri.written_gregorian(date),
    )


def _model(model: type[BaseModel], **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Any]:
    """Like st.builds, but by field name (pydantic's signature lists the XML aliases)."""
    return st.fixed_dictionaries(fields).map(lambda values: model(**values))


def _optional(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


def _lang_text(strategy: st.SearchStrategy[str] = _text) -> st.SearchStrategy[wire.LangText]:
    return _model(wire.LangText, text=strategy, lang=_optional(st.sampled_from(XML_LANGS)))


@st.composite
def names(draw: st.DrawFn) -> tuple[wire.Name, ...]:
    def parts(given: tuple[str, ...], family: tuple[str, ...]) -> dict[str, object]:
        chosen = {
            "first": draw(_optional(st.sampled_from(given))),
            "father": draw(_optional(st.sampled_from(given))),
            "grandfather": draw(_optional(st.sampled_from(given))),
            "family": draw(_optional(st.sampled_from(family))),
        }
        if not any(chosen.values()):
            chosen["first"] = given[0]
        return chosen

    arab = wire.Name(
        script="Arab",
        lang=draw(st.sampled_from((None, "ar"))),
        **parts(ARABIC_GIVEN, ARABIC_FAMILY),  # type: ignore[arg-type]
    )
    if not draw(st.booleans()):
        return (arab,)
    latin = wire.Name(
        script="Latn",
        lang=draw(st.sampled_from((None, "en"))),
        romanization=draw(st.sampled_from(("ICAO9303", "UNGEGN", "ALA-LC", "NATIONAL", "UNKNOWN"))),
        **parts(LATIN_GIVEN, LATIN_FAMILY),  # type: ignore[arg-type]
    )
    return (arab, latin) if draw(st.booleans()) else (latin, arab)


def _codes(values: tuple[str, ...], max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True).map(tuple)


@st.composite
def subjects(draw: st.DrawFn) -> wire.Subject:
    physical = draw(
        _optional(
            _model(
                wire.PhysicalDescription,
                height_cm=_optional(st.integers(0, 300).map(str)),
                weight_kg=_optional(st.integers(0, 700).map(str)),
                eye_colour=_optional(st.sampled_from(("01", "02", "03", "04", "05", "06", "99"))),
                hair_colour=_optional(st.sampled_from(("01", "02", "07", "08", "09", "10", "99"))),
                distinguishing_marks=_optional(
                    _model(wire.LongLangText, text=_text, lang=_optional(st.just("en")))
                ),
            )
        )
    )
    place = draw(
        _optional(
            _model(
                wire.Place,
                locality=_optional(_lang_text()),
                country=_optional(st.sampled_from(STATES)),
            )
        )
    )
    documents = draw(
        st.lists(
            _model(
                wire.IdentityDocument,
                type=st.sampled_from(("PASSPORT", "NATIONAL_ID", "جواز سفر")),
                number=st.from_regex(r"[A-Z0-9]{5,10}", fullmatch=True),
                issuing_state=_optional(st.sampled_from(STATES)),
                expiry_date=_optional(dual_dates(partial=False)),
            ),
            max_size=2,
        )
    )
    return wire.Subject(
        role=draw(
            _optional(
                st.sampled_from(("ACCUSED", "MISSING", "SUSPECT", "VICTIM", "PERSON_OF_INTEREST"))
            )
        ),  # type: ignore[arg-type]
        names=draw(names()),
        kunya=draw(_optional(st.sampled_from(("أبو محمد", "ABU ALI")))),  # type: ignore[arg-type]
        laqab=draw(_optional(st.sampled_from(("الأعور", "THE FALCON")))),  # type: ignore[arg-type]
        tribe=draw(_optional(st.sampled_from(("قحطان", "BANI YAS")))),  # type: ignore[arg-type]
        aliases=tuple(draw(st.lists(_lang_text(), max_size=2))),
        mother_names=tuple(
            draw(
                st.lists(
                    _lang_text(st.sampled_from(("فاطمة الكعبي", "NOURA AL DOSARI"))), max_size=2
                )
            )
        ),
        sex=draw(_optional(st.sampled_from(("0", "1", "2", "9")))),  # type: ignore[arg-type]
        birth_date=draw(_optional(dual_dates())),  # type: ignore[arg-type]
        birth_place=place,
        nationalities=draw(_codes(STATES)),
        languages=draw(_codes(LANGUAGES)),
        physical=physical,
        identity_documents=tuple(documents),
        image_references=draw(_codes(("https://img.example/1.jpg", "http://img.example/a?b=c"), 2)),
    )


@st.composite
def offences(draw: st.DrawFn) -> wire.Offence:
    descriptions = draw(
        st.lists(
            _model(wire.Description, text=_text, lang=st.sampled_from(("und", "ar", "en", "fr"))),
            min_size=1,
            max_size=3,
        )
    )
    warrant = draw(
        _optional(
            _model(
                wire.Warrant,
                reference=st.from_regex(r"[A-Z]{3}/20[0-9]{2}/[0-9]{1,5}", fullmatch=True),
                issuing_state=_optional(st.sampled_from(STATES)),
                issuing_authority=_optional(_text),
                date=_optional(dual_dates()),
            )
        )
    )
    return wire.Offence(
        descriptions=tuple(descriptions),
        legal_basis=draw(_optional(_text)),  # type: ignore[arg-type]
        max_penalty_years=draw(_optional(st.integers(0, 999).map(str))),  # type: ignore[arg-type]
        warrant=warrant,  # type: ignore[arg-type]
    )


@st.composite
def handlings(draw: st.DrawFn) -> wire.Handling:
    codes = draw(_codes(("H0", "H1", "H2", "H3"), 4))
    releasable = draw(_codes(STATES, 4))
    return wire.Handling(
        classification=draw(
            st.sampled_from(("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"))
        ),
        handling_codes=codes,  # type: ignore[arg-type]
        handling_note=draw(_text) if "H3" in codes else None,
        releasable_to=" ".join(releasable) or "ALL",
        source_reliability=draw(_optional(st.sampled_from(("A", "B", "C", "X")))),  # type: ignore[arg-type]
        information_accuracy=draw(_optional(st.sampled_from(("1", "2", "3", "4")))),  # type: ignore[arg-type]
    )


@st.composite
def wire_messages(draw: st.DrawFn) -> wire.Message:
    kind = draw(st.sampled_from(("NEW", "AMEND", "WITHDRAW")))
    category = draw(
        st.sampled_from(
            (
                "WANTED",
                "MISSING",
                "UNIDENTIFIED_BODY",
                "INFO_REQUEST",
                "WARNING",
                "THREAT",
                "MODUS_OPERANDI",
            )
        )
    )
    state = draw(st.sampled_from(STATES))
    alert_id = f"GCC-{state}-{draw(st.integers(1343, 1500))}-{draw(st.integers(0, 999_999)):06d}"
    externals = ()
    if draw(st.booleans()):
        externals = (
            wire.ExternalReference(
                system="INTERPOL",
                id=f"{draw(st.integers(1990, 2077))}/{draw(st.integers(1, 9_999_999))}",
            ),
        )
    full = kind != "WITHDRAW"
    header = wire.Header(
        alert_id=alert_id,
        external_references=externals,
        alert_category=category,  # type: ignore[arg-type]
        requested_action=draw(
            st.sampled_from(("ARREST", "LOCATE", "IDENTIFY", "INFORM", "MONITOR"))
        )  # type: ignore[arg-type]
        if full
        else None,
        originating_state=state,
        originating_agency=draw(_optional(_lang_text())) if full else None,  # type: ignore[arg-type]
        issue_date=draw(dual_dates()) if full else None,
        handling=draw(handlings()) if full else None,
        withdrawal_reason=None
        if full
        else draw(_optional(_model(wire.LongLangText, text=_text, lang=_optional(st.just("en"))))),  # type: ignore[arg-type]
    )
    alert = wire.Alert(header=header)
    if full:
        minimum = 1 if category == "WANTED" else 0
        event = draw(
            _optional(
                _model(
                    wire.Event,
                    date=_optional(dual_dates()),
                    place=_optional(_lang_text()),
                    state=_optional(st.sampled_from(STATES)),
                )
            )
        )
        alert = wire.Alert(
            header=header,
            subject=draw(subjects()),
            offences=tuple(draw(st.lists(offences(), min_size=minimum, max_size=2))),
            event=event,  # type: ignore[arg-type]
        )
    sent = draw(
        st.datetimes(
            min_value=dt.datetime(2000, 1, 1),
            max_value=dt.datetime(2077, 1, 1),
            timezones=st.just(dt.UTC),
        )
    )
    offset = draw(st.sampled_from(("Z", "+04:00", "+03:00", "-05:30")))
    stamp = sent.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{sent.microsecond:06d}" if sent.microsecond else ""
    )
    return wire.Message(
        schema_version="1.0",
        message_id=str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
        message_type=kind,  # type: ignore[arg-type]
        sent_at=stamp + offset,
        sender=draw(st.sampled_from(("ae-moi", "sa-psd", "gccpol-hub", "qa-moi"))),
        alert=alert,
        provenance=draw(_optional(provenances())),  # type: ignore[arg-type]
    )


@st.composite
def provenances(draw: st.DrawFn) -> wire.Provenance:
    losses = _model(
        wire.ProvenanceLoss,
        field=st.sampled_from(("subject.eye_colours[1]", "notice.is_diffusion")),
        source_value=st.sampled_from(("", "BRO", "line one\nline two", "  spaced  ")),
        reason=st.sampled_from(("the GCC side carries one eye colour", "a reason")),
    )
    return wire.Provenance(
        origin=draw(st.sampled_from(("ipsg", "ncb-fr"))),
        origin_message_id=str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
        body_sha256=draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        keyid=draw(st.sampled_from(("ipsg-2026", "ncb-fr-1"))),
        signature="sig1=:" + draw(st.from_regex(r"[A-Za-z0-9+/]{20,40}", fullmatch=True)) + ":",
        audit_index=str(draw(st.integers(0, 10**12))),
        losses=tuple(draw(st.lists(losses, max_size=3))),
    )


def gccpol_messages() -> st.SearchStrategy[bytes]:
    """Valid GCCPOL alert documents as the XML bytes a sender would post."""
    return wire_messages().map(wire.write_message)


def with_gccpol_reference(message: CanonicalMessage) -> CanonicalMessage:
    """What the gateway does before encoding for a GCC recipient (ingress.with_references):
    a GCCPOL reference minted when the notice has none (left as is when none can be)."""
    from adapters._errors import TranslationRefused
    from adapters.gccpol import mint_gccpol_reference

    notice = message.notice
    if notice.reference("GCCPOL") is None:
        try:
            minted = mint_gccpol_reference(notice)
        except TranslationRefused:
            return message
        refs = (*notice.references, Reference(system="GCCPOL", id=minted))
        notice = notice.model_copy(update={"references": refs})
    return message.model_copy(update={"notice": notice})
