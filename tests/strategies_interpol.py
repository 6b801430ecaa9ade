"""Hypothesis strategies for valid INTERPOL-side wire messages (spec/schemas.md).

`interpol_messages()` builds plain dicts exactly as they travel (numbers as Decimal or int,
dates as "YYYY/MM/DD" strings); `wire_bytes()` turns one into the bytes a sender posts.
Every generated message is valid: `ADAPTER.decode(wire_bytes(m))` must not raise.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import pycountry
from hypothesis import strategies as st

__all__ = ["interpol_messages", "interpol_notices", "wire_bytes"]

NOTICE_TYPES = ("red", "yellow", "blue", "black", "green", "orange", "purple", "un")
PERSON_STATUSES = (
    "accused",
    "convicted",
    "suspect",
    "missing",
    "abducted",
    "unidentified",
    "witness",
    "victim",
    "person_of_interest",
)
EYES = ("BLA", "BLU", "BRO", "BROH", "GRE", "GRY", "HAZ", "OTHD")
HAIR = ("BLA", "BRO", "BLN", "RED", "GRY", "WHI", "BAL", "OTHD")
TLPS = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")
COUNTRIES = tuple(sorted(c.alpha_2 for c in pycountry.countries))
LANGUAGES = tuple(
    sorted(
        {
            (getattr(lang, "bibliographic", None) or lang.alpha_3).upper()
            for lang in pycountry.languages
        }
    )
)
ARABIC = "ابتثجحخدذرسشصضطظعغفقكلمنهوي"

Draw = st.DrawFn


def _text(max_size: int = 40) -> st.SearchStrategy[str]:
    # No controls, noncharacters or bidi overrides: schemas/text.py refuses them.
    hidden = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
    plain = st.text(
        st.characters(exclude_categories=["Cs", "Cc", "Cn"], exclude_characters=hidden),
        min_size=1,
        max_size=max_size,
    )
    arabic = st.text(st.sampled_from(ARABIC + " "), min_size=1, max_size=max_size).filter(
        lambda s: s.strip() != ""
    )
    return st.one_of(plain, arabic)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def _wire_date(draw: Draw) -> str:
    day = draw(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
    precision = draw(st.sampled_from(("day", "month", "year")))
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}/{day.month:02d}"
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


@st.composite
def _sent_at(draw: Draw) -> str:
    stamp = draw(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)))
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    digits = draw(st.integers(min_value=0, max_value=9))
    if digits:
        text += "." + draw(st.text("0123456789", min_size=digits, max_size=digits))
    zone = draw(st.one_of(st.just("Z"), st.integers(min_value=-14 * 60, max_value=14 * 60)))
    if isinstance(zone, int):
        sign = "-" if zone < 0 else "+"
        text += f"{sign}{abs(zone) // 60:02d}:{abs(zone) % 60:02d}"
    else:
        text += zone
    return text


def _number(max_value: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(min_value=0, max_value=max_value),
        st.decimals(min_value=0, max_value=max_value, places=2, allow_nan=False),
        st.decimals(min_value=0, max_value=max_value, places=3, allow_nan=False),
    )


def _countries(min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(COUNTRIES), min_size=min_size, max_size=4, unique=True)


@st.composite
def _alias(draw: Draw) -> dict[str, Any]:
    name = draw(_optional(_text()))
    forename = draw(_text()) if name is None else draw(_optional(_text()))
    return {"name": name, "forename": forename}


@st.composite
def _warrant(draw: Draw) -> dict[str, Any]:
    charge = draw(_optional(_text(80)))
    reference = draw(_text()) if charge is None else draw(_optional(_text()))
    translation = None
    if charge is not None:
        translation = draw(st.one_of(st.none(), _text(80), st.just(charge)))
    return {
        "issuing_country_id": draw(_optional(st.sampled_from(COUNTRIES))),
        "charge": charge,
        "charge_translation": translation,
        "warrant_reference": reference,
        "issuing_authority": draw(_optional(_text())),
        "date_of_warrant": draw(_optional(_wire_date())),
    }


@st.composite
def _identity_document(draw: Draw) -> dict[str, Any]:
    return {
        "type": draw(st.sampled_from(("PASSPORT", "NATIONAL_ID", "DRIVING_LICENCE"))),
        "number": draw(st.from_regex(r"[A-Z0-9]{4,12}", fullmatch=True)),
        "issuing_country_id": draw(_optional(st.sampled_from(COUNTRIES))),
        "expiry_date": draw(_optional(_wire_date())),
    }


@st.composite
def interpol_notices(draw: Draw, notice_type: str | None = None) -> dict[str, Any]:
    """The `notice` of a valid publish or update."""
    kind = notice_type or draw(st.sampled_from(NOTICE_TYPES))
    diffusion = draw(st.booleans())
    notice: dict[str, Any] = {
        "notice_type": kind,
        "is_diffusion": diffusion,
        "entity_id": draw(st.from_regex(r"(19|20)[0-9]{2}/[1-9][0-9]{0,6}", fullmatch=True)),
    }
    if draw(st.booleans()):
        notice["external_references"] = [
            {
                "system": "GCCPOL",
                "id": draw(st.from_regex(r"GCC-[A-Z]{3}-14[0-9]{2}-[0-9]{6}", fullmatch=True)),
            }
        ]
    notice["requesting_country_id"] = draw(st.sampled_from(COUNTRIES))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "date_of_publication": _wire_date(),
        "person_status": st.sampled_from(PERSON_STATUSES),
        "name": _text(),
        "forename": _text(),
        "name_in_original_script": _text(),
        "forename_in_original_script": _text(),
        "father_forename": _text(),
        "mother_forename": _text(),
        "mother_name": _text(),
        "aliases": st.lists(_alias(), max_size=3),
        "sex_id": st.sampled_from(("M", "F", "U")),
        "date_of_birth": _wire_date(),
        "place_of_birth": _text(),
        "country_of_birth_id": st.sampled_from(COUNTRIES),
        "nationalities": _countries(),
        "languages_spoken_ids": st.lists(st.sampled_from(LANGUAGES), max_size=4),
        "height": _number(3),
        "weight": _number(700),
        "eyes_colors_id": st.lists(st.sampled_from(EYES), max_size=3),
        "hairs_id": st.lists(st.sampled_from(HAIR), max_size=3),
        "distinguishing_marks": _text(200),
        "identity_documents": st.lists(_identity_document(), max_size=2),
        "image_links": st.lists(
            st.from_regex(r"https://img\.example\.org/[a-z0-9]{1,12}\.jpg", fullmatch=True),
            max_size=2,
        ),
        "arrest_warrants": st.lists(_warrant(), min_size=1 if kind == "red" else 0, max_size=3),
    }
    for key, strategy in optional.items():
        if (kind == "red" and key == "arrest_warrants") or draw(st.booleans()):
            notice[key] = draw(strategy)
    if kind in ("yellow", "black"):
        for key, strategy in (
            ("date_of_event", _wire_date()),
            ("place", _text()),
            ("country", st.sampled_from(COUNTRIES)),
        ):
            notice[key] = draw(_optional(strategy))
    if kind == "un":
        notice["un_reference"] = draw(_optional(_text()))
        notice["un_resolution"] = draw(_optional(_text()))
    if diffusion or draw(st.booleans()):
        restricted = draw(_countries(min_size=1 if diffusion else 0))
        excluded = [c for c in draw(_countries()) if c not in restricted]
        notice["caveats"] = {
            "restricted_to_country_ids": restricted,
            "excluded_country_ids": excluded,
            "tlp": draw(_optional(st.sampled_from(TLPS))),
        }
    return notice


@st.composite
def _cancel_notice(draw: Draw) -> dict[str, Any]:
    notice: dict[str, Any] = {
        "notice_type": draw(st.sampled_from(NOTICE_TYPES)),
        "entity_id": draw(st.from_regex(r"[0-9]{4}/[0-9]{1,7}", fullmatch=True)),
        "requesting_country_id": draw(st.sampled_from(COUNTRIES)),
    }
    if draw(st.booleans()):
        notice["cancel_reason"] = draw(_text(100))
    return notice


@st.composite
def _provenance(draw: Draw) -> dict[str, Any]:
    return {
        "origin": draw(st.sampled_from(("ipsg", "ncb-fr", "ae-moi", "gccpol"))),
        "origin_message_id": str(draw(st.uuids())),
        "body_sha256": draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        "keyid": draw(st.sampled_from(("ncb-fr-2026", "gateway-2026"))),
        "signature": "sig1=:" + draw(st.from_regex(r"[A-Za-z0-9+/]{86}==", fullmatch=True)) + ":",
        "audit_index": draw(st.integers(min_value=0, max_value=2**40)),
        "losses": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"field": _text(), "source_value": _text(), "reason": _text(80)}
                ),
                max_size=3,
            )
        ),
    }


@st.composite
def interpol_messages(draw: Draw, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A valid INTERPOL-side message as a wire dict (publish, update or cancel)."""
    kind = draw(st.sampled_from(kinds or ("notice.publish", "notice.update", "notice.cancel")))
    message: dict[str, Any] = {
        "message_id": str(draw(st.uuids())),
        "message_type": kind,
        "sent_at": draw(_sent_at()),
        "sender_id": draw(st.sampled_from(("ipsg", "ncb-fr", "ncb-de", "gateway"))),
        "notice": draw(_cancel_notice() if kind == "notice.cancel" else interpol_notices()),
    }
    if draw(st.booleans()):
        message["_provenance"] = draw(_provenance())
    return message


def _number_fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode("ascii"))
    raise TypeError(type(value).__name__)


def wire_bytes(message: dict[str, Any]) -> bytes:
    """The message as a sender writes it (numbers exactly as generated)."""
    return orjson.dumps(message, default=_number_fragment)
