"""Characters no free-text field of either wire schema may carry (docs/security.md).

A name or a place is read by people, on consoles and on the recipients' screens. Control
characters (C0 except tab and line breaks, DEL, C1) can drive terminals and break XML 1.0;
bidirectional embeddings, overrides and isolates (Unicode UAX #9: U+202A..U+202E,
U+2066..U+2069) can make a name display as another ("Trojan Source", CVE-2021-42574);
noncharacters and a byte order mark have no meaning inside text. The marks that real
Arabic and Persian text needs (U+200E/U+200F, U+200C/U+200D) are allowed.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)


def refuse_hidden_characters(value: str) -> str:
    """``value`` unchanged, or ValueError naming the first forbidden character."""
    found = _FORBIDDEN.search(value)
    if found is not None:
        raise ValueError(
            f"character U+{ord(found.group()):04X} at offset {found.start()} is not allowed "
            "in text (control, bidirectional override or noncharacter)"
        )
    return value
