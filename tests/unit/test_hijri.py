"""Umm al-Qura ↔ Gregorian: existence, range, agreement, partial dates."""

from __future__ import annotations

import datetime as dt

import hijridate
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import hijri
from schemas.canonical import PartialDate


def test_the_range_is_the_tables_range() -> None:
    assert hijri.hijri_to_gregorian(hijri.HIJRI_FIRST) == hijri.GREGORIAN_FIRST
    assert hijri.hijri_to_gregorian(hijri.HIJRI_LAST) == hijri.GREGORIAN_LAST
    assert hijri.gregorian_to_hijri(dt.date(1924, 8, 1)) == hijri.HijriDate(1343, 1, 1)
    assert hijri.gregorian_to_hijri(dt.date(2077, 11, 16)) == hijri.HijriDate(1500, 12, 30)


@pytest.mark.parametrize("day", [dt.date(1924, 7, 31), dt.date(2077, 11, 17), dt.date(1900, 1, 1)])
def test_dates_outside_the_table_are_refused(day: dt.date) -> None:
    with pytest.raises(hijri.OutsideHijriRangeError, match="outside the Umm al-Qura table"):
        hijri.gregorian_to_hijri(day)


def test_sample_dates_agree() -> None:
    assert hijri.check_pair("1411-08-18", "1991-03-04", "day") == PartialDate(
        year=1991, month=3, day=4
    )
    assert hijri.check_pair("1448-06-10", "2026-11-20", "day") == PartialDate(
        year=2026, month=11, day=20
    )


def test_30_safar_in_a_29_day_year_does_not_exist() -> None:
    assert hijridate.Hijri(1447, 2, 1).month_length() == 29  # the premise
    with pytest.raises(hijri.NonexistentDateError, match="has 29 days") as caught:
        hijri.parse_hijri("1447-02-30")
    assert caught.value.part == "Hijri"
    assert hijri.parse_hijri("1448-02-30") == hijri.HijriDate(1448, 2, 30)  # a 30-day Safar


def test_31_april_does_not_exist() -> None:
    with pytest.raises(hijri.NonexistentDateError) as caught:
        hijri.check_pair("1447-11-13", "2026-04-31", "day")
    assert caught.value.part == "Gregorian"


def test_month_13_does_not_exist() -> None:
    with pytest.raises(hijri.NonexistentDateError, match="01-12"):
        hijri.parse_hijri("1447-13-01")


def test_disagreeing_calendars_are_refused_with_the_expected_date() -> None:
    with pytest.raises(hijri.CalendarMismatchError, match="1991-03-04 is 1411-08-18 AH"):
        hijri.check_pair("1411-08-19", "1991-03-04", "day")


def test_bad_format_is_named() -> None:
    with pytest.raises(hijri.DateFormatError, match="YYYY-MM-DD"):
        hijri.parse_hijri("1411/08/18")


def test_month_precision_writes_the_hijri_month_holding_the_first_day() -> None:
    date = PartialDate(year=1991, month=3)
    assert hijri.gregorian_to_hijri(dt.date(1991, 3, 1)) == hijri.HijriDate(1411, 8, 15)
    assert hijri.to_hijri(date) == hijri.HijriDate(1411, 8, 1)
    assert hijri.written_gregorian(date) == "1991-03-01"
    assert hijri.check_pair("1411-08-01", "1991-03-01", "month") == date
    with pytest.raises(hijri.CalendarMismatchError, match="expected 1411-08-01"):
        hijri.check_pair("1411-09-01", "1991-03-01", "month")


def test_month_precision_requires_day_01_in_both_calendars() -> None:
    with pytest.raises(hijri.DateFormatError, match="day 01"):
        hijri.check_pair("1411-08-14", "1991-03-01", "month")
    with pytest.raises(hijri.DateFormatError, match="day 01"):
        hijri.check_pair("1411-08-01", "1991-03-04", "month")


def test_year_precision() -> None:
    date = PartialDate(year=1991)
    assert hijri.to_hijri(date) == hijri.HijriDate(1411, 1, 1)
    assert hijri.check_pair("1411-01-01", "1991-01-01", "year") == date
    with pytest.raises(hijri.DateFormatError, match="month and day 01"):
        hijri.check_pair("1411-06-01", "1991-01-01", "year")


def test_a_partial_date_crosses_calendars_as_a_range() -> None:
    assert not hijri.crosses_calendars(PartialDate(year=1991, month=3, day=4))
    assert hijri.crosses_calendars(PartialDate(year=1991, month=3))
    first, last = hijri.hijri_range(PartialDate(year=1991, month=3))
    assert (first, last) == (hijri.HijriDate(1411, 8, 15), hijri.HijriDate(1411, 9, 15))
    first, last = hijri.hijri_range(PartialDate(year=2024, month=2))  # a leap February
    assert hijri.hijri_to_gregorian(last) == dt.date(2024, 2, 29)


def test_the_range_of_2077_stops_at_the_end_of_the_table() -> None:
    assert hijri.hijri_range(PartialDate(year=2077))[1] == hijri.HIJRI_LAST


def test_year_1924_cannot_carry_both_calendars() -> None:
    with pytest.raises(hijri.OutsideHijriRangeError):
        hijri.to_hijri(PartialDate(year=1924))


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(hijri.DateFormatError, match="precision"):
        hijri.check_pair("1411-08-18", "1991-03-04", "week")


@given(
    st.dates(min_value=hijri.GREGORIAN_FIRST, max_value=hijri.GREGORIAN_LAST),
    st.sampled_from(("day", "month", "year")),
)
def test_written_pairs_always_check(day: dt.date, precision: str) -> None:
    date = PartialDate(
        year=day.year,
        month=day.month if precision != "year" else None,
        day=day.day if precision == "day" else None,
    )
    if precision == "year" and day.year == 1924:
        return  # 1 January 1924 is before the table
    written = hijri.to_hijri(date).isoformat()
    assert hijri.check_pair(written, hijri.written_gregorian(date), precision) == date


@given(st.dates(min_value=hijri.GREGORIAN_FIRST, max_value=hijri.GREGORIAN_LAST))
def test_day_conversion_round_trips(day: dt.date) -> None:
    assert hijri.hijri_to_gregorian(hijri.gregorian_to_hijri(day)) == day
