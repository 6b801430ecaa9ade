"""GCCPOL code tables ↔ canonical values (spec/schemas.md, GCCPOL side; conventions).

Each table is written out once, in the direction the wire reads, and its inverse is derived,
so a code can never map two ways. Where the canonical model has more values than the GCC
list (``brownish``, ``un_special``, TLP levels), the encode table says what is written and
whether the mapping is exact; the adapter reports the inexact ones as losses.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from schemas.canonical import (
    Classification,
    Colour,
    HandlingCode,
    MessageKind,
    NoticeCategory,
    RequestedAction,
    Sex,
    SubjectRole,
    Tlp,
)

__all__ = [
    "ACTION_BY_CODE",
    "CATEGORY_BY_CODE",
    "CLASSIFICATION_BY_TLP",
    "CODE_BY_ACTION",
    "CODE_BY_CATEGORY",
    "CODE_BY_KIND",
    "CODE_BY_ROLE",
    "CODE_BY_SEX",
    "COLOUR_BY_CODE",
    "HANDLING_CODES",
    "INTERPOL_TLP_BY_CLASSIFICATION",
    "KIND_BY_CODE",
    "ROLE_BY_CODE",
    "ROMANIZATIONS",
    "SEX_BY_CODE",
    "colour_code",
]

KIND_BY_CODE: Final = MappingProxyType(
    {"NEW": MessageKind.PUBLISH, "AMEND": MessageKind.UPDATE, "WITHDRAW": MessageKind.CANCEL}
)
CODE_BY_KIND: Final = MappingProxyType({v: k for k, v in KIND_BY_CODE.items()})

# AlertCategory; UN_SPECIAL has no GCC counterpart (the encoder refuses: no-counterpart).
CATEGORY_BY_CODE: Final = MappingProxyType(
    {
        "WANTED": NoticeCategory.WANTED,
        "MISSING": NoticeCategory.MISSING,
        "UNIDENTIFIED_BODY": NoticeCategory.UNIDENTIFIED_BODY,
        "INFO_REQUEST": NoticeCategory.INFO_REQUEST,
        "WARNING": NoticeCategory.WARNING,
        "THREAT": NoticeCategory.THREAT,
        "MODUS_OPERANDI": NoticeCategory.MODUS_OPERANDI,
    }
)
CODE_BY_CATEGORY: Final = MappingProxyType({v: k for k, v in CATEGORY_BY_CODE.items()})

ACTION_BY_CODE: Final = MappingProxyType({a.value.upper(): a for a in RequestedAction})
CODE_BY_ACTION: Final = MappingProxyType({v: k for k, v in ACTION_BY_CODE.items()})

# Subject/@role is the upper-case canonical SubjectRole value (conventions).
ROLE_BY_CODE: Final = MappingProxyType({r.value.upper(): r for r in SubjectRole})
CODE_BY_ROLE: Final = MappingProxyType({v: k for k, v in ROLE_BY_CODE.items()})

# ISO/IEC 5218.
SEX_BY_CODE: Final = MappingProxyType(
    {"0": Sex.UNKNOWN, "1": Sex.MALE, "2": Sex.FEMALE, "9": Sex.NOT_APPLICABLE}
)
CODE_BY_SEX: Final = MappingProxyType({v: k for k, v in SEX_BY_CODE.items()})

# EyeColour / HairColour: one two-digit code each.
COLOUR_BY_CODE: Final = MappingProxyType(
    {
        "01": Colour.BLACK,
        "02": Colour.BROWN,
        "03": Colour.BLUE,
        "04": Colour.GREEN,
        "05": Colour.GREY,
        "06": Colour.HAZEL,
        "07": Colour.BLOND,
        "08": Colour.RED,
        "09": Colour.WHITE,
        "10": Colour.BALD,
        "99": Colour.OTHER,
    }
)
_CODE_BY_COLOUR: Final = {v: k for k, v in COLOUR_BY_CODE.items()}
# Canonical colours with no GCC code of their own: the nearest code, never exact.
_NEAREST_COLOUR_CODE: Final = {Colour.BROWNISH: "02"}


def colour_code(colour: Colour) -> tuple[str, bool]:
    """The GCC code for ``colour`` and whether it is exact (False = report a loss)."""
    exact = _CODE_BY_COLOUR.get(colour)
    if exact is not None:
        return exact, True
    return _NEAREST_COLOUR_CODE.get(colour, "99"), False


HANDLING_CODES: Final = MappingProxyType({h.value: h for h in HandlingCode})

# conventions, "Dissemination": GCC encode of an INTERPOL TLP. The flag says whether the
# mapping is the inverse of the INTERPOL encoder's (INTERPOL_TLP_BY_CLASSIFICATION);
# every one that is not is reported as a loss.
CLASSIFICATION_BY_TLP: Final = MappingProxyType(
    {
        Tlp.CLEAR: (Classification.UNCLASSIFIED, False),
        Tlp.GREEN: (Classification.UNCLASSIFIED, True),
        Tlp.AMBER: (Classification.RESTRICTED, True),
        Tlp.AMBER_STRICT: (Classification.CONFIDENTIAL, False),
        Tlp.RED: (Classification.SECRET, False),
    }
)
# The INTERPOL encoder's mapping (CONFIDENTIAL and SECRET are refused there); kept here
# only to state and test the inverse relation above.
INTERPOL_TLP_BY_CLASSIFICATION: Final = MappingProxyType(
    {Classification.UNCLASSIFIED: Tlp.GREEN, Classification.RESTRICTED: Tlp.AMBER}
)

# Name/@romanization; UNKNOWN is decoded as "not stated" (None) and None encoded as UNKNOWN.
ROMANIZATIONS: Final = ("ICAO9303", "UNGEGN", "ALA-LC", "NATIONAL", "UNKNOWN")
