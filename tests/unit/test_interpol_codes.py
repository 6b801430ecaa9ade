"""adapters.interpol_codes: every table agrees with its reverse and covers its spec list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import pytest

from adapters import interpol_codes as ic
from schemas import interpol
from schemas.canonical import Colour, NoticeCategory, Sex, SubjectRole, Tlp

PAIRS: list[tuple[Mapping[Any, Any], Mapping[Any, Any]]] = [
    (ic.CATEGORY_BY_NOTICE_TYPE, ic.NOTICE_TYPE_BY_CATEGORY),
    (ic.ROLE_BY_PERSON_STATUS, ic.PERSON_STATUS_BY_ROLE),
    (ic.SEX_BY_CODE, ic.SEX_CODE),
    (ic.EYES_BY_CODE, ic.EYE_CODE),
    (ic.HAIR_BY_CODE, ic.HAIR_CODE),
    (ic.TLP_BY_CODE, ic.TLP_CODE),
]


@pytest.mark.parametrize(("forward", "backward"), PAIRS)
def test_both_directions_agree(forward: Mapping[Any, Any], backward: Mapping[Any, Any]) -> None:
    assert len(set(forward.values())) == len(forward), "two wire codes map to one value"
    assert {v: k for k, v in forward.items()} == dict(backward)
    for code, value in forward.items():
        assert backward[value] == code


def test_tables_cover_the_wire_code_lists() -> None:
    assert set(ic.CATEGORY_BY_NOTICE_TYPE) == set(get_args(interpol.NoticeType))
    assert set(ic.CATEGORY_BY_NOTICE_TYPE.values()) == set(NoticeCategory)
    assert set(ic.EYES_BY_CODE) == {"BLA", "BLU", "BRO", "BROH", "GRE", "GRY", "HAZ", "OTHD"}
    assert set(ic.HAIR_BY_CODE) == {"BLA", "BRO", "BLN", "RED", "GRY", "WHI", "BAL", "OTHD"}
    assert set(ic.ROLE_BY_PERSON_STATUS.values()) == set(SubjectRole)
    assert set(ic.TLP_BY_CODE.values()) == set(Tlp)
    assert set(ic.DEFAULT_ACTION) == set(NoticeCategory)


def test_gaps_are_explicit() -> None:
    assert Sex.NOT_APPLICABLE not in ic.SEX_CODE  # a refusal
    assert Colour.BLOND not in ic.EYE_CODE  # OTHD plus a loss
    assert Colour.BROWNISH not in ic.HAIR_CODE
    assert ic.EYE_CODE[Colour.OTHER] == ic.HAIR_CODE[Colour.OTHER] == ic.OTHER_COLOUR_CODE


def test_default_actions() -> None:
    assert ic.DEFAULT_ACTION[NoticeCategory.WANTED].value == "arrest"
    assert ic.DEFAULT_ACTION[NoticeCategory.MISSING].value == "locate"
    assert ic.DEFAULT_ACTION[NoticeCategory.UNIDENTIFIED_BODY].value == "identify"
    assert ic.DEFAULT_ACTION[NoticeCategory.THREAT].value == "inform"
