"""Umm al-Qura Hijri ↔ Gregorian for dates that must carry both calendars (GCC side).

spec/schemas.md: every GCC date carries both ``Hijri`` (Umm al-Qura, ``YYYY-MM-DD``) and
``Gregorian``, and they must agree; conversions use `hijridate`, whose table covers
1343-01-01 .. 1500-12-30 AH = 1924-08-01 .. 2077-11-16. Canonical dates are Gregorian
`PartialDate`s; the Hijri form is derived from them.

Partial dates (``precision`` month or year) write the missing day, or day and month, as
``01`` in BOTH calendars. A Gregorian month and a Hijri month never coincide, so the pair
is defined by the first day of the Gregorian period:

- month precision: the Hijri month written is the one that contains the first day of the
  Gregorian month written (1991-03 → 1 March 1991 = 15 Sha'ban 1411 → ``1411-08-01``);
- year precision: the Hijri year written is the one that contains 1 January of the
  Gregorian year written (1991 → 1 January 1991 = 15 Jumada II 1411 → ``1411-01-01``).

This makes the Hijri form a function of the Gregorian one, so the check and the encoder are
the same computation and a re-encoded date is byte-identical. Such a date still "crosses
calendars": the period it names is a different range of days in the other calendar, which
the encoder reports as a loss (`crosses_calendars`, `hijri_range`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import hijridate

from schemas.canonical import PartialDate

__all__ = [
    "GREGORIAN_FIRST",
    "GREGORIAN_LAST",
    "HIJRI_FIRST",
    "HIJRI_LAST",
    "CalendarError",
    "CalendarMismatchError",
    "DateFormatError",
    "HijriDate",
    "NonexistentDateError",
    "OutsideHijriRangeError",
    "check_pair",
    "crosses_calendars",
    "gregorian_to_hijri",
    "hijri_range",
    "hijri_to_gregorian",
    "parse_gregorian",
    "parse_hijri",
    "to_hijri",
    "written_gregorian",
]

_ISO_DATE = re.compile(r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")  # ASCII digits only
PRECISIONS: Final = ("day", "month", "year")


@dataclass(frozen=True, slots=True, order=True)
class HijriDate:
    """A day of the Umm al-Qura calendar."""

    year: int
    month: int
    day: int

    def isoformat(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


HIJRI_FIRST: Final = HijriDate(1343, 1, 1)
HIJRI_LAST: Final = HijriDate(1500, 12, 30)
GREGORIAN_FIRST: Final = dt.date(1924, 8, 1)
GREGORIAN_LAST: Final = dt.date(2077, 11, 16)
_RANGE: Final = "1343-01-01 .. 1500-12-30 AH (1924-08-01 .. 2077-11-16)"


class CalendarError(ValueError):
    """A date that cannot be read or carried in both calendars.

    ``part`` names the element at fault: ``Hijri``, ``Gregorian`` or ``""`` for the pair.
    """

    code = "calendar-error"

    def __init__(self, reason: str, part: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.part = part


class DateFormatError(CalendarError):
    code = "date-format"


class NonexistentDateError(CalendarError):
    code = "date-does-not-exist"


class OutsideHijriRangeError(CalendarError):
    code = "date-outside-hijri-range"


class CalendarMismatchError(CalendarError):
    code = "calendars-disagree"


# ---------------------------------------------------------------------------- reading


def _split(text: str, part: str) -> tuple[int, int, int]:
    match = _ISO_DATE.match(text)
    if match is None:
        raise DateFormatError(f"expected a date written YYYY-MM-DD, got {text!r}", part)
    year, month, day = (int(g) for g in match.groups())
    return year, month, day


def parse_hijri(text: str) -> HijriDate:
    """``YYYY-MM-DD`` in Umm al-Qura → `HijriDate`, checking that the day exists."""
    year, month, day = _split(text, "Hijri")
    if not HIJRI_FIRST.year <= year <= HIJRI_LAST.year:
        raise OutsideHijriRangeError(
            f"Hijri year {year} is outside the Umm al-Qura table {_RANGE}", "Hijri"
        )
    if not 1 <= month <= 12:
        raise NonexistentDateError(f"Hijri month must be 01-12, got {month:02d} in {text}", "Hijri")
    length = _month_length(year, month)
    if not 1 <= day <= length:
        raise NonexistentDateError(
            f"Hijri date {text} does not exist: month {month:02d} of {year} AH has "
            f"{length} days in the Umm al-Qura calendar",
            "Hijri",
        )
    return HijriDate(year, month, day)


def parse_gregorian(text: str) -> dt.date:
    """``YYYY-MM-DD`` Gregorian → `datetime.date`, checking that the day exists."""
    year, month, day = _split(text, "Gregorian")
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise NonexistentDateError(
            f"Gregorian date {text} does not exist ({exc})", "Gregorian"
        ) from None


# ---------------------------------------------------------------------------- converting


# The table lookups below are pure functions of a day (or a month) inside the table's
# ~56 000 days, and each costs ~10 µs of Python in hijridate; every alert converts several
# dates in both directions (docs/performance.md). Memoised, bounded; errors are not cached.
@lru_cache(maxsize=4096)
def _month_length(year: int, month: int) -> int:
    return int(hijridate.Hijri(year, month, 1).month_length())


@lru_cache(maxsize=16384)
def gregorian_to_hijri(day: dt.date) -> HijriDate:
    if not GREGORIAN_FIRST <= day <= GREGORIAN_LAST:
        raise OutsideHijriRangeError(
            f"Gregorian date {day.isoformat()} is outside the Umm al-Qura table {_RANGE}",
            "Gregorian",
        )
    h = hijridate.Gregorian(day.year, day.month, day.day).to_hijri()
    return HijriDate(h.year, h.month, h.day)


def hijri_to_gregorian(day: HijriDate) -> dt.date:
    g = hijridate.Hijri(day.year, day.month, day.day).to_gregorian()
    return dt.date(g.year, g.month, g.day)


def _first_day(date: PartialDate) -> dt.date:
    """The first Gregorian day of the period ``date`` names."""
    try:
        return dt.date(date.year, date.month or 1, date.day or 1)
    except ValueError as exc:
        raise NonexistentDateError(f"Gregorian date {date} does not exist ({exc})") from None


def _last_day(date: PartialDate) -> dt.date:
    if date.day is not None:
        return _first_day(date)
    if date.month is None:
        return dt.date(date.year, 12, 31)
    following = dt.date(date.year + date.month // 12, date.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def to_hijri(date: PartialDate) -> HijriDate:
    """The Hijri date WRITTEN for ``date`` (module docstring: day/month 01 when partial)."""
    exact = gregorian_to_hijri(_first_day(date))
    if date.precision == "day":
        return exact
    if date.precision == "month":
        return HijriDate(exact.year, exact.month, 1)
    return HijriDate(exact.year, 1, 1)


def written_gregorian(date: PartialDate) -> str:
    """The Gregorian ``YYYY-MM-DD`` written for ``date`` (01 for what is not known)."""
    return _first_day(date).isoformat()


def crosses_calendars(date: PartialDate) -> bool:
    """True when the date names a month or a year: a different range in the other calendar."""
    return date.precision != "day"


def hijri_range(date: PartialDate) -> tuple[HijriDate, HijriDate]:
    """The first and last Hijri day of the Gregorian period ``date`` names.

    The last day is cut at the end of the table (2077 names days after 2077-11-16).
    """
    last = min(_last_day(date), GREGORIAN_LAST)
    return gregorian_to_hijri(_first_day(date)), gregorian_to_hijri(last)


# ---------------------------------------------------------------------------- checking


@lru_cache(maxsize=8192)
def check_pair(hijri: str, gregorian: str, precision: str) -> PartialDate:
    """Check a written Hijri/Gregorian pair and return the canonical (Gregorian) date.

    Raises a `CalendarError` subclass whose ``part`` names the element at fault.
    Memoised (a pure function of three short strings, its result immutable): pydantic runs
    `DualDate`'s check again each time a date is placed in a parent element, and one alert
    names the same few dates (docs/performance.md). Refusals are not cached.
    """
    if precision not in PRECISIONS:
        raise DateFormatError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    h = parse_hijri(hijri)
    g = parse_gregorian(gregorian)
    if precision == "month" and (g.day != 1 or h.day != 1):
        raise DateFormatError(
            f"a month-precision date writes day 01 in both calendars, got Hijri {hijri} "
            f"and Gregorian {gregorian}"
        )
    if precision == "year" and (g.month, g.day, h.month, h.day) != (1, 1, 1, 1):
        raise DateFormatError(
            f"a year-precision date writes month and day 01 in both calendars, got Hijri "
            f"{hijri} and Gregorian {gregorian}"
        )
    date = PartialDate(
        year=g.year,
        month=g.month if precision != "year" else None,
        day=g.day if precision == "day" else None,
    )
    expected = to_hijri(date)
    if expected != h:
        if precision == "day":
            rule = f"Gregorian {gregorian} is {expected.isoformat()} AH"
        elif precision == "month":
            rule = (
                f"the Hijri month written must contain {gregorian}, which is "
                f"{gregorian_to_hijri(g).isoformat()} AH: expected {expected.isoformat()}"
            )
        else:
            rule = (
                f"the Hijri year written must contain {gregorian}, which is "
                f"{gregorian_to_hijri(g).isoformat()} AH: expected {expected.isoformat()}"
            )
        raise CalendarMismatchError(f"Hijri {hijri} and Gregorian {gregorian} disagree: {rule}")
    return date
