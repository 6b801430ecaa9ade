"""gateway.structured_fields: strict RFC 8941 parsing and serialisation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.structured_fields import (
    BareItem,
    InnerList,
    Item,
    Member,
    StructuredFieldError,
    Token,
    parse_dictionary,
    parse_item,
    serialize_bare_item,
    serialize_dictionary,
    serialize_item,
)


def values(text: str) -> dict[str, Member]:
    return {k: m.value for k, m in parse_dictionary(text).items()}


def test_signature_input_member_parses_with_its_exact_source() -> None:
    text = (
        'sig1=("@method" "@authority" "@path" "content-type" "content-digest");'
        'created=1763626500;expires=1763626800;nonce="b1c2";keyid="ncb-fr-2026";alg="ed25519"'
    )
    member = parse_dictionary(text)["sig1"]
    assert member.source == text[len("sig1=") :]
    assert member.value == InnerList(
        tuple(
            Item(c) for c in ("@method", "@authority", "@path", "content-type", "content-digest")
        ),
        {
            "created": 1763626500,
            "expires": 1763626800,
            "nonce": "b1c2",
            "keyid": "ncb-fr-2026",
            "alg": "ed25519",
        },
    )


def test_source_keeps_non_canonical_whitespace_as_received() -> None:
    parsed = parse_dictionary('a=(  "x"   "y" );p=1 ,  b=?0')
    assert parsed["a"].source == '(  "x"   "y" );p=1'
    assert parsed["b"].source == "?0"
    assert parsed["a"].value == InnerList((Item("x"), Item("y")), {"p": 1})


def test_every_bare_item_type() -> None:
    got = values(
        'i=-42, d=3.140, s="a \\"q\\" \\\\ b", t=foo/bar:baz, b=:aGVsbG8=:, y=?1, n=?0, flag;x=*tok'
    )
    assert got == {
        "i": Item(-42),
        "d": Item(Decimal("3.14")),
        "s": Item('a "q" \\ b'),
        "t": Item(Token("foo/bar:baz")),
        "b": Item(b"hello"),
        "y": Item(True),
        "n": Item(False),
        "flag": Item(True, {"x": Token("*tok")}),
    }
    assert isinstance(got["y"], Item) and got["y"].value is True


def test_content_digest_example_from_rfc9530() -> None:
    # RFC 9530 §2 / Appendix B: {"hello": "world"} with both algorithms.
    got = values(
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, "
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    )
    assert set(got) == {"sha-256", "sha-512"}
    first = got["sha-256"]
    assert isinstance(first, Item) and isinstance(first.value, bytes) and len(first.value) == 32


def test_repeated_keys_last_wins_unless_unique_keys() -> None:
    assert values("a=1, b=2, a=3") == {"a": Item(3), "b": Item(2)}
    with pytest.raises(StructuredFieldError, match="key 'a' appears more than once") as info:
        parse_dictionary("a=1, b=2, a=3", unique_keys=True)
    assert info.value.position == 10


def test_empty_and_whitespace_only_values_are_empty_dictionaries() -> None:
    assert parse_dictionary("") == {}
    assert parse_dictionary("   ") == {}


def test_missing_padding_in_a_byte_sequence_is_tolerated() -> None:
    # RFC 8941 §4.2.7: parsers SHOULD NOT fail when '=' padding is missing.
    assert parse_item(":aGVsbG8:").value == b"hello"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("a=(", 3, "inner list is not closed"),
        ('a=("x"', 6, "inner list is not closed"),
        ('a=("x""y")', 6, "expected ' ' or ')'"),
        ('a="x', 4, "string is not closed"),
        ('a="x\\n"', 5, "may be escaped, got '\\n'"),
        ('a="tab\there"', 6, "not allowed in a string"),
        ("A=1", 0, "expected a key"),
        ("a=1,", 4, "trailing ','"),
        ("a=1 b=2", 4, "expected ',' between members"),
        ("a=?2", 3, "boolean must be ?0 or ?1"),
        ("a=1.2345", 2, "4 fraction digits"),
        ("a=1.", 2, "decimal ends with '.'"),
        ("a=1234567890123456", 2, "16 digits; at most 15"),
        ("a=1234567890123.4", 2, "13 integer digits"),
        ("a=-", 2, "expected a digit after '-'"),
        ("a=:abc*:", 6, "not allowed in a byte sequence"),
        ("a=:abc", 6, "byte sequence is not closed"),
        ("a=:a:", 2, "not valid base64"),
        ("a=é", 2, "non-ASCII"),
        ("a=", 2, "expected an item, got the end"),
        ("a=1;", 4, "expected a key, got the end"),
        ("a=@", 2, "expected an item, got '@'"),
    ],
)
def test_malformed_input_names_position_and_reason(text: str, position: int, reason: str) -> None:
    with pytest.raises(StructuredFieldError) as info:
        parse_dictionary(text)
    assert info.value.position == position
    assert reason in info.value.reason
    assert str(info.value).startswith(f"at position {position}: ")


def test_serialisation_refuses_what_the_grammar_cannot_carry() -> None:
    with pytest.raises(ValueError, match="outside"):
        serialize_bare_item(10**15)
    with pytest.raises(ValueError, match="characters outside"):
        serialize_bare_item("é")
    with pytest.raises(ValueError, match="not a valid token"):
        serialize_bare_item(Token("1abc"))
    with pytest.raises(ValueError, match="not a valid key"):
        serialize_dictionary({"Bad": Item(1)})
    with pytest.raises(ValueError, match="more than 12 integer digits"):
        serialize_bare_item(Decimal("1000000000000"))


def test_decimal_serialisation_rounds_to_three_places() -> None:
    assert serialize_bare_item(Decimal("1.23456")) == "1.235"
    assert serialize_bare_item(Decimal("2")) == "2.0"
    assert serialize_bare_item(Decimal("-0.5")) == "-0.5"


# --- properties ------------------------------------------------------------------------

keys = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,8}", fullmatch=True)
bare_items: st.SearchStrategy[BareItem] = st.one_of(
    st.booleans(),
    st.integers(min_value=-999_999_999_999_999, max_value=999_999_999_999_999),
    st.decimals(
        min_value=Decimal("-999999999999.999"),
        max_value=Decimal("999999999999.999"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.from_regex(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]{0,10}", fullmatch=True).map(Token),
    st.binary(max_size=40),
)
params = st.dictionaries(keys, bare_items, max_size=3)
items = st.builds(Item, bare_items, params)
inner_lists = st.builds(InnerList, st.lists(items, max_size=4).map(tuple), params)
dictionaries = st.dictionaries(keys, st.one_of(items, inner_lists), max_size=4)


def _same(a: object, b: object) -> bool:
    """Equality that also tells True from 1 and Decimal('1') from 1."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, Item) and isinstance(b, Item):
        return _same(a.value, b.value) and _same(a.params, b.params)
    if isinstance(a, InnerList) and isinstance(b, InnerList):
        return (
            len(a.items) == len(b.items)
            and all(_same(x, y) for x, y in zip(a.items, b.items, strict=True))
            and _same(a.params, b.params)
        )
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(dictionaries)
def test_serialise_then_parse_is_the_identity(members: dict[str, Member]) -> None:
    text = serialize_dictionary(members)
    parsed = parse_dictionary(text)
    assert _same({k: m.value for k, m in parsed.items()}, members)
    assert serialize_dictionary({k: m.value for k, m in parsed.items()}) == text


@settings(max_examples=200, deadline=None)
@given(items)
def test_item_round_trip(item: Item) -> None:
    assert _same(parse_item(serialize_item(item)), item)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_only_the_typed_error(text: str) -> None:
    try:
        parse_dictionary(text)
    except StructuredFieldError as exc:
        assert 0 <= exc.position <= len(text)


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        st.sampled_from(list('abc=();:,"\\ ?*-.01289/+AZ\t')),
        max_size=40,
    )
)
def test_grammar_shaped_noise_parses_or_raises_only_the_typed_error(text: str) -> None:
    try:
        parsed = parse_dictionary(text)
    except StructuredFieldError as exc:
        assert 0 <= exc.position <= len(text)
    else:
        # Whatever parses serialises to something that parses to the same thing.
        again = parse_dictionary(serialize_dictionary({k: m.value for k, m in parsed.items()}))
        assert _same(
            {k: m.value for k, m in again.items()}, {k: m.value for k, m in parsed.items()}
        )
