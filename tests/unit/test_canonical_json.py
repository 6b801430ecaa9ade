"""gateway.audit.events.canonical_json writes exactly the `rfc8785` package's bytes.

Leaf bytes are hashed into the audit tree: one differing byte would make every proof
over that leaf fail verification elsewhere. The orjson fast path must be byte-identical.
"""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.events import _plain, canonical_json

_any_text = st.text(st.characters(codec="utf-8"), max_size=30)  # every code point but surrogates
_keys = st.one_of(_any_text, st.text(st.characters(max_codepoint=0x7F), max_size=8))
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53) + 1, 2**53 - 1),
    _any_text,
    st.floats(allow_nan=False, allow_infinity=False),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(_keys, inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=1500, deadline=None)
@given(_values)
def test_the_fast_path_writes_the_rfc8785_bytes(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_outside_the_bmp_sort_by_utf16_code_units() -> None:
    # U+FF61 sorts after U+1F600 in UTF-16 (0xD83D < 0xFF61) but before it in UTF-8.
    value = {"\uff61": 1, "\U0001f600": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001f600".encode()) < canonical_json(value).index(
        "\uff61".encode()
    )


def test_edge_integers_and_control_characters() -> None:
    for value in (2**53 - 1, -(2**53) + 1, '\x00\x1f\x7f\u2028\u2029"\\/', [(), {}]):
        assert canonical_json(value) == rfc8785.dumps(value)


_fractions = st.floats(min_value=1e-4, max_value=1e15, exclude_max=True).filter(
    lambda x: not x.is_integer()
)


@settings(max_examples=3000, deadline=None)
@given(_fractions, st.booleans(), st.integers(0, 6))
def test_floats_with_a_fraction_take_the_fast_path_and_match(
    magnitude: float, negative: bool, digits: int
) -> None:
    for x in (magnitude, round(magnitude, digits)):
        value = -x if negative else x
        if value.is_integer():
            continue
        assert _plain({"duration_ms": value})
        assert canonical_json({"duration_ms": value}) == rfc8785.dumps({"duration_ms": value})


def test_floats_orjson_writes_differently_go_through_rfc8785() -> None:
    for value in (1.0, -0.0, 0.0, 1e-5, 1.5e-7, 1e15 + 0.5, 1e16, 2.5e21, 9007199254740993.0):
        assert not _plain(value)
        assert canonical_json(value) == rfc8785.dumps(value)
