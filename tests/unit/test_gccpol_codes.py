"""The GCCPOL code tables are total, one-to-one and agree with the XSD's enumerations."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from lxml import etree

from adapters import gccpol_codes as gc
from schemas import gccpol as wire
from schemas.canonical import (
    Classification,
    Colour,
    MessageKind,
    NoticeCategory,
    RequestedAction,
    Sex,
    SubjectRole,
    Tlp,
)

XS = "{http://www.w3.org/2001/XMLSchema}"


def _xsd_enumeration(type_name: str) -> set[str]:
    root = etree.parse(str(wire.XSD_PATH)).getroot()
    simple = root.find(f"{XS}simpleType[@name='{type_name}']")
    assert simple is not None, type_name
    return {e.get("value", "") for e in simple.iter(f"{XS}enumeration")}


def _literal(annotated: Any) -> set[str]:
    return set(get_args(get_args(annotated)[0]))


@pytest.mark.parametrize(
    ("table", "inverse", "canonical", "xsd_type", "model_type"),
    [
        (gc.KIND_BY_CODE, gc.CODE_BY_KIND, set(MessageKind), "MessageType", wire.MessageTypeCode),
        (
            gc.ACTION_BY_CODE,
            gc.CODE_BY_ACTION,
            set(RequestedAction),
            "RequestedAction",
            wire.ActionCode,
        ),
        (gc.ROLE_BY_CODE, gc.CODE_BY_ROLE, set(SubjectRole), "Role", wire.RoleCode),
        (gc.SEX_BY_CODE, gc.CODE_BY_SEX, set(Sex), "Sex", wire.SexCode),
        (
            gc.CATEGORY_BY_CODE,
            gc.CODE_BY_CATEGORY,
            set(NoticeCategory) - {NoticeCategory.UN_SPECIAL},
            "AlertCategory",
            wire.CategoryCode,
        ),
    ],
)
def test_tables_are_one_to_one_and_match_the_wire(
    table: Any, inverse: Any, canonical: set[Any], xsd_type: str, model_type: Any
) -> None:
    assert set(table.values()) == canonical
    assert len(set(table.values())) == len(table)
    assert {inverse[v]: v for v in table.values()} == dict(table)
    assert set(table) == _xsd_enumeration(xsd_type) == _literal(model_type)


def test_un_special_has_no_gcc_category() -> None:
    assert NoticeCategory.UN_SPECIAL not in gc.CODE_BY_CATEGORY


def test_role_codes_are_the_upper_case_canonical_values() -> None:
    assert all(code == role.value.upper() for code, role in gc.ROLE_BY_CODE.items())


def test_colour_codes() -> None:
    assert set(gc.COLOUR_BY_CODE) == _xsd_enumeration("Colour") == _literal(wire.ColourCode)
    assert gc.COLOUR_BY_CODE["02"] is Colour.BROWN
    assert gc.COLOUR_BY_CODE["99"] is Colour.OTHER
    for code, colour in gc.COLOUR_BY_CODE.items():
        assert gc.colour_code(colour) == (code, True)
    assert gc.colour_code(Colour.BROWNISH) == ("02", False)
    every_colour_has_a_code = {gc.colour_code(c)[0] for c in Colour}
    assert every_colour_has_a_code <= set(gc.COLOUR_BY_CODE)


def test_classification_from_tlp_and_its_inverse() -> None:
    assert set(gc.CLASSIFICATION_BY_TLP) == set(Tlp)
    for tlp, (classification, inverse) in gc.CLASSIFICATION_BY_TLP.items():
        # exact exactly when the INTERPOL encoder maps the classification back to this TLP
        assert inverse == (gc.INTERPOL_TLP_BY_CLASSIFICATION.get(classification) == tlp)
    assert gc.CLASSIFICATION_BY_TLP[Tlp.AMBER] == (Classification.RESTRICTED, True)
    assert gc.CLASSIFICATION_BY_TLP[Tlp.RED] == (Classification.SECRET, False)
    assert {c.value for c in Classification} == _xsd_enumeration("Classification")


def test_handling_codes_and_romanizations_match_the_xsd() -> None:
    assert set(gc.HANDLING_CODES) == _xsd_enumeration("HandlingCode")
    assert set(gc.ROMANIZATIONS) == _xsd_enumeration("Romanization") == _literal(wire.Romanization)
