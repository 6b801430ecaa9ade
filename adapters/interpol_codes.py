"""INTERPOL-side code lists ↔ canonical values (spec/schemas.md; conventions: categories,
roles, sex, colours, TLP).

Each table is written out once in the wire → canonical direction; the reverse tables are
derived, and tests check that every pair of directions agrees. A canonical value with no
wire code (ISO/IEC 5218 ``9``, a hair colour INTERPOL has no code for …) is absent from
the reverse table: the adapter decides whether that is a loss or a refusal.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from schemas.canonical import Colour, NoticeCategory, RequestedAction, Sex, SubjectRole, Tlp

__all__ = [
    "CATEGORY_BY_NOTICE_TYPE",
    "DEFAULT_ACTION",
    "EYES_BY_CODE",
    "EYE_CODE",
    "HAIR_BY_CODE",
    "HAIR_CODE",
    "NOTICE_TYPE_BY_CATEGORY",
    "OTHER_COLOUR_CODE",
    "PERSON_STATUS_BY_ROLE",
    "ROLE_BY_PERSON_STATUS",
    "SEX_BY_CODE",
    "SEX_CODE",
    "TLP_BY_CODE",
    "TLP_CODE",
]

# notice_type ↔ canonical category (conventions, "Categories").
CATEGORY_BY_NOTICE_TYPE: Final = MappingProxyType(
    {
        "red": NoticeCategory.WANTED,
        "yellow": NoticeCategory.MISSING,
        "black": NoticeCategory.UNIDENTIFIED_BODY,
        "blue": NoticeCategory.INFO_REQUEST,
        "green": NoticeCategory.WARNING,
        "orange": NoticeCategory.THREAT,
        "purple": NoticeCategory.MODUS_OPERANDI,
        "un": NoticeCategory.UN_SPECIAL,
    }
)
NOTICE_TYPE_BY_CATEGORY: Final = MappingProxyType(
    {category: code for code, category in CATEGORY_BY_NOTICE_TYPE.items()}
)

# INTERPOL has no requested action: each category implies one (conventions).
DEFAULT_ACTION: Final = MappingProxyType(
    {
        NoticeCategory.WANTED: RequestedAction.ARREST,
        NoticeCategory.MISSING: RequestedAction.LOCATE,
        NoticeCategory.UNIDENTIFIED_BODY: RequestedAction.IDENTIFY,
        NoticeCategory.INFO_REQUEST: RequestedAction.INFORM,
        NoticeCategory.WARNING: RequestedAction.INFORM,
        NoticeCategory.THREAT: RequestedAction.INFORM,
        NoticeCategory.MODUS_OPERANDI: RequestedAction.INFORM,
        NoticeCategory.UN_SPECIAL: RequestedAction.INFORM,
    }
)

# person_status is the lower-case canonical role value.
ROLE_BY_PERSON_STATUS: Final = MappingProxyType({role.value: role for role in SubjectRole})
PERSON_STATUS_BY_ROLE: Final = MappingProxyType(
    {role: code for code, role in ROLE_BY_PERSON_STATUS.items()}
)

# sex_id M/F/U; ISO/IEC 5218 "not applicable" has no INTERPOL code (a refusal).
SEX_BY_CODE: Final = MappingProxyType({"M": Sex.MALE, "F": Sex.FEMALE, "U": Sex.UNKNOWN})
SEX_CODE: Final = MappingProxyType({sex: code for code, sex in SEX_BY_CODE.items()})

OTHER_COLOUR_CODE: Final = "OTHD"

EYES_BY_CODE: Final = MappingProxyType(
    {
        "BLA": Colour.BLACK,
        "BLU": Colour.BLUE,
        "BRO": Colour.BROWN,
        "BROH": Colour.BROWNISH,
        "GRE": Colour.GREEN,
        "GRY": Colour.GREY,
        "HAZ": Colour.HAZEL,
        "OTHD": Colour.OTHER,
    }
)
EYE_CODE: Final = MappingProxyType({colour: code for code, colour in EYES_BY_CODE.items()})

HAIR_BY_CODE: Final = MappingProxyType(
    {
        "BLA": Colour.BLACK,
        "BRO": Colour.BROWN,
        "BLN": Colour.BLOND,
        "RED": Colour.RED,
        "GRY": Colour.GREY,
        "WHI": Colour.WHITE,
        "BAL": Colour.BALD,
        "OTHD": Colour.OTHER,
    }
)
HAIR_CODE: Final = MappingProxyType({colour: code for code, colour in HAIR_BY_CODE.items()})

TLP_BY_CODE: Final = MappingProxyType({tlp.value: tlp for tlp in Tlp})
TLP_CODE: Final = MappingProxyType({tlp: code for code, tlp in TLP_BY_CODE.items()})
