"""schemas/text.py against a reference written from the Unicode categories."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.text import refuse_hidden_characters

BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def reference_forbidden(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    if unicodedata.category(ch) == "Cc":  # C0, DEL and C1
        return True
    return ch in BIDI_CONTROLS or ch in "\ufeff\ufffe\uffff"


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=30))
def test_matches_the_reference(text: str) -> None:
    expected_ok = not any(reference_forbidden(ch) for ch in text)
    try:
        assert refuse_hidden_characters(text) == text
        ok = True
    except ValueError:
        ok = False
    assert ok == expected_ok


@pytest.mark.parametrize("text", ["القحطاني", "محمد\u200fعبدالله", "می\u200cخواهم", "A\tB\nC"])
def test_real_text_marks_pass(text: str) -> None:
    assert refuse_hidden_characters(text) == text


def test_error_names_the_character_and_offset() -> None:
    with pytest.raises(ValueError, match=r"U\+202E at offset 3"):
        refuse_hidden_characters("AL \u202eX")
