"""A stored body shown to a person: the main fields of its notice, read back through the
body's own adapter into the canonical model, so the original and each translation line
up field by field whatever their wire schema.

Arabic text is marked ``lang="ar" dir="rtl"`` (in the field table and inside the raw
body), and every date is shown in both calendars: Gregorian and Umm al-Qura Hijri
(schemas.hijri, the table the GCC side uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from adapters._registry import UnknownSchema, adapter_for_media_type
from schemas.canonical import LocalizedText, Notice, PartialDate, PersonName
from schemas.hijri import CalendarError, hijri_range, to_hijri

__all__ = ["Field", "NoticeView", "Value", "bidi_markup", "has_arabic", "notice_view"]

_ARABIC_CHARS = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_ARABIC = re.compile(f"[{_ARABIC_CHARS}]")
# A run of Arabic words, with the spaces and punctuation between them (not at its ends).
_ARABIC_RUN = re.compile(f"[{_ARABIC_CHARS}](?:[{_ARABIC_CHARS}\\s\\d.,،؛-]*[{_ARABIC_CHARS}])?")


def has_arabic(text: str) -> bool:
    return _ARABIC.search(text) is not None


def bidi_markup(text: str) -> Markup:
    """``text`` escaped for HTML, each run of Arabic wrapped in a right-to-left span, so a
    raw XML or JSON body stays left-to-right while its Arabic values read correctly."""
    out: list[str] = []
    pos = 0
    for match in _ARABIC_RUN.finditer(text):
        out.append(str(escape(text[pos : match.start()])))
        out.append(f'<span lang="ar" dir="rtl">{escape(match.group())}</span>')
        pos = match.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))  # noqa: S704 (every piece above is escaped)


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    lang: str | None = None  # BCP 47 when known: "ar" makes the cell right-to-left
    note: str | None = None  # e.g. the calendar, the script, the romanisation

    @property
    def rtl(self) -> bool:
        return (self.lang or "").startswith("ar") or has_arabic(self.text)


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class NoticeView:
    schema: str | None
    fields: tuple[Field, ...]
    error: str | None = None  # why the body could not be read back


def _text(value: LocalizedText | None) -> tuple[Value, ...]:
    if value is None:
        return ()
    lang = value.lang or ("ar" if has_arabic(value.text) else None)
    return (Value(value.text, lang),)


def _name(name: PersonName) -> Value:
    parts = [name.first or name.given, name.father, name.grandfather, name.family]
    text = name.full or " ".join(p for p in parts if p)
    lang = name.lang or ("ar" if name.script == "Arab" else None)
    note = name.script + (f", {name.romanization}" if name.romanization else "")
    return Value(text, lang, note)


def dates(date: PartialDate | None) -> tuple[Value, ...]:
    """The date in the Gregorian calendar and in the Umm al-Qura Hijri calendar; a month or
    a year is a range of days in the other calendar."""
    if date is None:
        return ()
    shown = "-".join(
        f"{v:02d}" if i else f"{v:04d}"
        for i, v in enumerate((date.year, date.month, date.day))
        if v is not None
    )
    out = [Value(shown, None, "Gregorian")]
    try:
        if date.precision == "day":
            out.append(Value(f"{to_hijri(date).isoformat()} AH", None, "Hijri (Umm al-Qura)"))
        else:
            first, last = hijri_range(date)
            out.append(
                Value(f"{first.isoformat()} – {last.isoformat()} AH", None, "Hijri (Umm al-Qura)")
            )
    except CalendarError as exc:
        out.append(Value("—", None, f"no Hijri date: {exc.reason}"))
    return tuple(out)


def _fields(notice: Notice) -> list[Field]:
    fields: list[Field] = [
        Field("Category", (Value(notice.category.value + (" (diffusion)" * notice.is_diffusion)),)),
    ]
    if notice.requested_action is not None:
        fields.append(Field("Requested action", (Value(notice.requested_action.value),)))
    if notice.references:
        fields.append(
            Field("References", tuple(Value(r.id, None, r.system) for r in notice.references))
        )
    if notice.originating_country:
        fields.append(Field("Originating country", (Value(notice.originating_country),)))
    fields.append(Field("Originating agency", _text(notice.originating_agency)))
    fields.append(Field("Issued", dates(notice.issued)))
    s = notice.subject
    if s is not None:
        fields.append(Field("Names", tuple(_name(n) for n in s.names)))
        if s.aliases:
            fields.append(Field("Aliases", tuple(_name(n) for n in s.aliases)))
        if s.mother_names:
            fields.append(Field("Mother's name", tuple(_name(n) for n in s.mother_names)))
        if s.sex is not None:
            fields.append(Field("Sex", (Value(s.sex.value),)))
        fields.append(Field("Birth date", dates(s.birth_date)))
        fields.append(Field("Birth place", _text(s.birth_place)))
        if s.nationalities:
            fields.append(Field("Nationalities", (Value(", ".join(s.nationalities)),)))
    for i, offence in enumerate(notice.offences, 1):
        descriptions = tuple(v for d in offence.descriptions for v in _text(d))
        fields.append(Field(f"Offence {i}", descriptions))
    if notice.event is not None:
        fields.append(Field("Event date", dates(notice.event.date)))
        fields.append(Field("Event place", _text(notice.event.place)))
    d = notice.dissemination
    handling = [
        f"classification {d.classification.value}" if d.classification else "",
        f"TLP {d.tlp.value}" if d.tlp else "",
        ("handling " + ", ".join(h.value for h in d.handling_codes)) if d.handling_codes else "",
        ("only " + ", ".join(d.restricted_to)) if d.restricted_to else "",
        ("not " + ", ".join(d.excluded)) if d.excluded else "",
    ]
    fields.append(Field("Dissemination", tuple(Value(h) for h in handling if h)))
    return [f for f in fields if f.values]


def notice_view(body: bytes | None, media_type: str | None) -> NoticeView:
    """The body's notice as labelled fields; ``error`` says why when it cannot be read."""
    if body is None or media_type is None:
        return NoticeView(None, (), "the body is not stored (erased at the end of retention)")
    try:
        adapter = adapter_for_media_type(media_type)
    except UnknownSchema as exc:
        return NoticeView(None, (), str(exc))
    try:
        message = adapter.decode(body)
    except Exception as exc:  # any adapter refusal: show the raw body and say why
        return NoticeView(adapter.schema, (), f"the {adapter.schema} adapter cannot read it: {exc}")
    return NoticeView(adapter.schema, tuple(_fields(message.notice)))
