"""schemas.interpol: the published JSON Schema matches the models; wire-value checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from schemas import codes, interpol

SCHEMA_FILE = Path(__file__).parent.parent.parent / "schemas" / "interpol-notice.schema.json"


def test_committed_json_schema_is_generated_from_the_models() -> None:
    committed = SCHEMA_FILE.read_text("utf-8")
    assert committed == interpol.render_json_schema(), (
        "schemas/interpol-notice.schema.json is stale; regenerate it with "
        "`.venv/bin/python -m schemas.interpol > schemas/interpol-notice.schema.json`"
    )


def test_json_schema_describes_all_three_kinds() -> None:
    schema = interpol.interpol_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == {"notice.publish", "notice.update", "notice.cancel"}
    notice = schema["$defs"]["NoticeBody"]
    assert notice["additionalProperties"] is False
    assert set(notice["required"]) == {"notice_type", "entity_id", "requesting_country_id"}
    assert "_provenance" in schema["$defs"]["NoticeMessage"]["properties"]
    height = json.dumps(notice["properties"]["height"])
    assert '"maximum": 3' in height


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1980/05/13", (1980, 5, 13)),
        ("1980/05", (1980, 5, None)),
        ("1980", (1980, None, None)),
        ("2024/02/29", (2024, 2, 29)),
    ],
)
def test_wire_dates(value: str, expected: tuple[int, int | None, int | None]) -> None:
    assert interpol.parse_wire_date(value) == expected


@pytest.mark.parametrize(
    "value", ["2023/02/29", "1980/04/31", "1980/00", "1980-05-13", "80/05/13", "1980/5/13"]
)
def test_bad_wire_dates(value: str) -> None:
    with pytest.raises(ValueError, match=r"date|month"):
        interpol.parse_wire_date(value)


def test_wire_datetimes_are_normalised_to_utc() -> None:
    stamp = interpol.parse_wire_datetime("2026-11-20T10:15:00.123456789+02:00")
    assert stamp == dt.datetime(2026, 11, 20, 8, 15, 0, 123456, tzinfo=dt.UTC)
    assert stamp.tzinfo is dt.UTC
    for bad in ("2026-11-20T08:15:00", "2026-11-20 08:15:00Z", "2026-11-20T08:15:60Z"):
        with pytest.raises(ValueError):
            interpol.parse_wire_datetime(bad)


def test_language_codes_are_the_b_forms_the_code_table_knows() -> None:
    assert interpol.is_wire_language("GER")
    assert not interpol.is_wire_language("DEU")  # the T form of a B/T pair
    assert not interpol.is_wire_language("ger")
    for code in ("ARA", "ENG", "FRE", "CHI", "PER", "CMN"):
        assert interpol.is_wire_language(code)
        assert codes.language_from_639_2b(code) is not None


def test_country_codes_are_assigned_alpha2() -> None:
    assert interpol.is_wire_country("SA")
    assert not interpol.is_wire_country("XX")
    assert not interpol.is_wire_country("sa")
    assert all(codes.is_alpha2(c) for c in ("FR", "AE", "SA"))


@pytest.mark.parametrize(
    "check",
    [
        lambda: interpol.parse_wire_date("1980/05/13\n"),
        lambda: interpol.parse_wire_datetime("2026-11-29T10:00:00Z\n"),
        lambda: interpol._check_uuid("0b7c4c1e-3f7a-4f0e-9a39-5d2a6c1e8b10\n"),
    ],
    ids=["date", "date-time", "uuid"],
)
def test_a_trailing_newline_is_refused(check: object) -> None:
    # Python's "$" also matches before a final "\n"; the wire values must end where they end.
    with pytest.raises(ValueError):
        check()  # type: ignore[operator]
