"""Structured Field Values for HTTP (RFC 8941): the parts that Signature-Input, Signature
(RFC 9421 §4) and Content-Digest (RFC 9530 §2) use.

Parsing is strict (RFC 8941 §4.2): anything the grammar does not allow is a
`StructuredFieldError` that gives the character position and the reason; nothing else is
raised, whatever the input. Supported: Dictionaries, Inner Lists, Items with Parameters, and
the bare item types Integer, Decimal, String, Token, Byte Sequence and Boolean. Lists
(§3.1) are not needed by the gateway and are left out.

A parsed Dictionary member keeps the exact text it was parsed from (`DictMember.source`):
RFC 9421 §2.3 signs the signature parameters as the signer serialised them, and the
gateway checks what was received, never a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

__all__ = [
    "BareItem",
    "DictMember",
    "InnerList",
    "Item",
    "Member",
    "Params",
    "StructuredFieldError",
    "Token",
    "parse_dictionary",
    "parse_item",
    "serialize_bare_item",
    "serialize_dictionary",
    "serialize_inner_list",
    "serialize_item",
    "serialize_member",
    "serialize_params",
]


@dataclass(frozen=True, slots=True)
class Token:
    """An RFC 8941 §3.3.4 Token (kept apart from a String, which serialises with quotes)."""

    value: str


BareItem = bool | int | Decimal | str | Token | bytes
Params = dict[str, BareItem]


@dataclass(frozen=True, slots=True)
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member = Item | InnerList


@dataclass(frozen=True, slots=True)
class DictMember:
    value: Member
    source: str  # the member's value exactly as it appeared in the field


class StructuredFieldError(ValueError):
    """The field value does not follow RFC 8941; ``position`` is a 0-based character index."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"at position {position}: {reason}")


_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?([0-9]*)(\.[0-9]*)?")
_PLAIN_STRING = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]*)"')
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_KEY_FULL = re.compile(r"[a-z*][a-z0-9_\-.*]*\Z")
_TOKEN_FULL = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*\Z")
_MAX_INTEGER = 999_999_999_999_999


def parse_dictionary(text: str, *, unique_keys: bool = False) -> dict[str, DictMember]:
    """RFC 8941 §4.2.2. A repeated key overwrites the earlier value, as the RFC says,
    unless ``unique_keys``: then a repeated key is an error (for fields where two members
    with one name would be ambiguous, like a signature label)."""
    parser = _Parser(text)
    result = parser.dictionary(unique_keys)
    parser.end()
    return result


def parse_item(text: str) -> Item:
    """RFC 8941 §4.2.3, a whole field value that is one Item."""
    parser = _Parser(text)
    item = parser.item()
    parser.end()
    return item


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        if not text.isascii():
            bad = next(i for i, c in enumerate(text) if not c.isascii())
            raise StructuredFieldError(bad, "non-ASCII character in a structured field")
        self.text = text
        self.pos = 0
        # §4.2 step 2: discard leading SP characters.
        while self.pos < len(text) and text[self.pos] == " ":
            self.pos += 1

    def fail(self, reason: str) -> StructuredFieldError:
        return StructuredFieldError(self.pos, reason)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]  # "" at the end

    def end(self) -> None:
        # §4.2 steps 5-6: discard trailing SP; anything left over is an error.
        while self.peek() == " ":
            self.pos += 1
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r} after the end of the value")

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def dictionary(self, unique_keys: bool) -> dict[str, DictMember]:
        members: dict[str, DictMember] = {}
        text = self.text
        while self.pos < len(text):
            key_at = self.pos
            key = self.key()
            if self.peek() == "=":
                self.pos += 1
                start = self.pos
                value: Member = self.item_or_inner_list()
            else:
                start = self.pos
                value = Item(True, self.params())
            if unique_keys and key in members:
                raise StructuredFieldError(key_at, f"key {key!r} appears more than once")
            members[key] = DictMember(value, text[start : self.pos])
            self.skip_ows()
            if self.pos >= len(text):
                return members
            if self.peek() != ",":
                raise self.fail(f"expected ',' between members, got {self.peek()!r}")
            self.pos += 1
            self.skip_ows()
            if self.pos >= len(text):
                raise self.fail("trailing ',' after the last member")
        return members

    def item_or_inner_list(self) -> Member:
        return self.inner_list() if self.peek() == "(" else self.item()

    def inner_list(self) -> InnerList:
        # §4.2.1.2
        self.pos += 1
        items: list[Item] = []
        text = self.text
        while self.pos < len(text):
            while text[self.pos : self.pos + 1] == " ":
                self.pos += 1
            if text[self.pos : self.pos + 1] == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(self.item())
            after = text[self.pos : self.pos + 1]
            if after not in (" ", ")"):
                raise self.fail(
                    f"expected ' ' or ')' after an inner-list item, got {after!r}"
                    if after
                    else "inner list is not closed with ')'"
                )
        raise self.fail("inner list is not closed with ')'")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def params(self) -> Params:
        # §4.2.3.2
        params: Params = {}
        text = self.text
        while text[self.pos : self.pos + 1] == ";":
            self.pos += 1
            while text[self.pos : self.pos + 1] == " ":
                self.pos += 1
            key = self.key()
            value: BareItem = True
            if text[self.pos : self.pos + 1] == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        # §4.2.3.3
        match = _KEY.match(self.text, self.pos)
        if match is None:
            got = self.peek()
            raise self.fail(
                f"expected a key (lower-case letter or '*' first), got {got!r}"
                if got
                else "expected a key, got the end of the value"
            )
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> BareItem:
        # §4.2.3.1
        first = self.peek()
        if first == "-" or first.isdigit():
            return self.number()
        if first == '"':
            return self.string()
        if first == ":":
            return self.byte_sequence()
        if first == "?":
            return self.boolean()
        if first == "*" or (first.isalpha() and first.isascii()):
            match = _TOKEN.match(self.text, self.pos)
            assert match is not None  # the first character is a valid token start
            self.pos = match.end()
            return Token(match.group())
        if not first:
            raise self.fail("expected an item, got the end of the value")
        raise self.fail(f"expected an item, got {first!r}")

    def number(self) -> int | Decimal:
        # §4.2.4
        match = _NUMBER.match(self.text, self.pos)
        assert match is not None  # the pattern matches the empty string
        digits, fraction = match.group(1), match.group(2)
        if not digits:
            raise self.fail("expected a digit after '-'")
        if fraction is None:
            if len(digits) > 15:
                raise self.fail(f"integer has {len(digits)} digits; at most 15 are allowed")
            self.pos = match.end()
            return int(match.group())
        if len(digits) > 12:
            raise self.fail(f"decimal has {len(digits)} integer digits; at most 12 are allowed")
        if len(fraction) == 1:
            raise self.fail("decimal ends with '.'")
        if len(fraction) > 4:
            raise self.fail(f"decimal has {len(fraction) - 1} fraction digits; at most 3")
        self.pos = match.end()
        return Decimal(match.group())

    def string(self) -> str:
        # §4.2.5; the fast path is a string without escapes.
        match = _PLAIN_STRING.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()
            return match.group(1)
        self.pos += 1
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if char == "\\":
                if self.pos >= len(text):
                    raise self.fail("string ends inside an escape")
                escaped = text[self.pos]
                if escaped not in ('"', "\\"):
                    raise self.fail(f"only '\\\"' and '\\\\' may be escaped, got '\\{escaped}'")
                out.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                self.pos -= 1
                raise self.fail(f"character {char!r} is not allowed in a string")
            else:
                out.append(char)
        raise self.fail("string is not closed with '\"'")

    def byte_sequence(self) -> bytes:
        # §4.2.7; a missing '=' padding is tolerated, as the RFC asks of parsers.
        match = _BYTES.match(self.text, self.pos)
        if match is None:
            self.pos += 1
            while self.peek() and re.match(r"[A-Za-z0-9+/=]", self.peek()):
                self.pos += 1
            if not self.peek():
                raise self.fail("byte sequence is not closed with ':'")
            raise self.fail(f"character {self.peek()!r} is not allowed in a byte sequence")
        encoded = match.group(1)
        try:
            decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("byte sequence is not valid base64") from None
        self.pos = match.end()
        return decoded

    def boolean(self) -> bool:
        # §4.2.8
        value = self.text[self.pos + 1 : self.pos + 2]
        if value not in ("0", "1"):
            self.pos += 1
            raise self.fail(f"boolean must be ?0 or ?1, got {'?' + value!r}")
        self.pos += 2
        return value == "1"


def serialize_bare_item(value: BareItem) -> str:
    """RFC 8941 §4.1.3.1; raises ValueError for a value the grammar cannot carry."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise ValueError(f"integer {value} is outside ±{_MAX_INTEGER}")
        return str(value)
    if isinstance(value, Decimal):
        return _serialize_decimal(value)
    if isinstance(value, str):
        # %x20-7E exactly: the printable ASCII characters (one C pass, not a loop per char)
        if not (value.isascii() and value.isprintable()):
            raise ValueError(f"string {value!r} has characters outside %x20-7E")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Token):
        if not _TOKEN_FULL.match(value.value):
            raise ValueError(f"{value.value!r} is not a valid token")
        return value.value
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def _serialize_decimal(value: Decimal) -> str:
    # §4.1.5: round to three fraction digits, at most 12 integer digits, at least one
    # fraction digit.
    try:
        rounded = value.quantize(Decimal("0.001"))
    except InvalidOperation:
        raise ValueError(f"decimal {value} cannot be serialised") from None
    if abs(rounded) >= Decimal(10) ** 12:
        raise ValueError(f"decimal {value} has more than 12 integer digits")
    text = f"{rounded:f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def serialize_params(params: Params) -> str:
    out = []
    for key, value in params.items():
        _check_key(key)
        out.append(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}")
    return "".join(out)


def serialize_item(item: Item) -> str:
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    return (
        "("
        + " ".join(serialize_item(i) for i in inner.items)
        + ")"
        + serialize_params(inner.params)
    )


def serialize_member(member: Member) -> str:
    return serialize_inner_list(member) if isinstance(member, InnerList) else serialize_item(member)


def serialize_dictionary(members: dict[str, Member]) -> str:
    """RFC 8941 §4.1.2: a member whose value is Boolean true is written as its key alone."""
    out = []
    for key, member in members.items():
        _check_key(key)
        if isinstance(member, Item) and member.value is True:
            out.append(key + serialize_params(member.params))
        else:
            out.append(f"{key}={serialize_member(member)}")
    return ", ".join(out)


def _check_key(key: str) -> None:
    if not _KEY_FULL.match(key):
        raise ValueError(f"{key!r} is not a valid key (lower-case letters, digits, _-.*)")
