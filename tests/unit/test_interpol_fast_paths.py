"""The cheaper paths of the INTERPOL adapter, the translation glue and routing give exactly
what the paths they stand in for give (docs/performance.md).

Each fast path is checked against the slower computation it skips or replaces, written out
here: the shape walk is skipped only when it cannot fail; the shared JSON decoder and the
duplicate-key hook parse and refuse like `json.loads` with the hooks; the remembered date
parses equal fresh ones and never remember a refusal; translating once for many message ids
gives the bytes and refusals of translating once per id; `with_references` equals the
straightforward merge; routing ranks recipients in participants.toml order.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import AdapterError, TranslationRefused
from adapters import interpol as adapter
from adapters._registry import adapter_for_schema
from adapters.translate import with_references
from gateway.config import load_config
from gateway.routing import RoutingFacts, route
from schemas import interpol as wire
from schemas.canonical import (
    CanonicalMessage,
    MessageKind,
    Notice,
    NoticeCategory,
    PartialDate,
    Reference,
)
from tests.strategies_interpol import interpol_messages, wire_bytes

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = (
    "6f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11",
    "0b7e9f5e-3c1d-4c7a-9a63-5d2f1e8b4c20",
    "c2d9a1b0-7e44-4f3a-8d15-94e0b6a3f7c8",
)


def _refusal(exc: BaseException) -> tuple[object, ...]:
    return (type(exc).__name__, str(exc), getattr(exc, "code", None), getattr(exc, "path", None))


# ---------------------------------------------------------------------------- shape walk

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\U0001f600"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=40,
)


def _nested(depth: int, opener: str) -> str:
    closer = "]" if opener == "[" else "}"
    inner = '{"k": ' if opener == "{" else "["
    return inner * depth + "1" + closer * depth


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_the_shape_walk_is_skipped_only_when_it_cannot_fail(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        parsed = adapter._DECODER.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return  # refused before the walk, on both paths
    if adapter._shape_is_plain(body):
        adapter._check_shape(parsed)  # must not raise


@pytest.mark.parametrize("opener", ["[", "{"])
def test_the_depth_bound_is_exact_at_the_limit(opener: str) -> None:
    # MAX_DEPTH containers in all: plain (and the walk agrees); one more: the walk decides.
    at_limit = _nested(adapter.MAX_DEPTH, opener).encode()
    assert adapter._shape_is_plain(at_limit)
    adapter._check_shape(json.loads(at_limit))
    over = _nested(adapter.MAX_DEPTH + 1, opener).encode()
    assert not adapter._shape_is_plain(over)
    with pytest.raises(AdapterError, match="nesting is deeper than 32 levels"):
        adapter._load_json(b'{"a": ' + over + b"}")


@pytest.mark.parametrize(
    ("escape", "refused"),
    [
        (b"\\ud800", True),
        (b"\\uDFFF", True),
        (b"\\udBff", True),
        (b"\\ud83d\\ude00", False),  # a pair: one character, accepted by the full walk
        (b"\\\\ud800", False),  # an escaped backslash, then text: walked, accepted
        (b"\\u00e9", False),
    ],
)
def test_surrogate_escapes_are_walked(escape: bytes, refused: bool) -> None:
    body = b'{"a": "x' + escape + b'y"}'
    assert adapter._shape_is_plain(body) is (escape == b"\\u00e9")
    if refused:
        with pytest.raises(AdapterError, match="unpaired surrogate"):
            adapter._load_json(body)
    else:
        adapter._load_json(body)


# ---------------------------------------------------------------------------- JSON decoder


def _reference_pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise adapter._DuplicateKeyError(key)
        out[key] = value
    return out


def _parse(text: str, hook: Any, *, shared: bool) -> tuple[object, ...]:
    try:
        if shared:
            value = adapter._DECODER.decode(text)
        else:
            value = json.loads(
                text,
                object_pairs_hook=hook,
                parse_float=Decimal,
                parse_constant=adapter._refuse_constant,
            )
    except adapter._DuplicateKeyError as exc:
        return ("duplicate", exc.key)
    except adapter._NotANumberError as exc:
        return ("nan", exc.token)
    except json.JSONDecodeError as exc:
        return ("json", exc.msg, exc.lineno, exc.colno, exc.pos)
    except (RecursionError, ValueError) as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", repr(value))


_KEYS = st.sampled_from(["a", "b", "c", "a\\u0062", "é"])
_TOKENS = st.lists(
    st.sampled_from(['{"a": 1', ', "b": 1.50', ', "a": [', "]", "}", "NaN", ' "c"', ":", "2e3"])
    | _KEYS.map(lambda k: f', "{k}": 0'),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TOKENS | st.text(max_size=30))
def test_the_shared_decoder_parses_and_refuses_like_json_loads(text: str) -> None:
    expected = _parse(text, _reference_pairs_hook, shared=False)
    assert _parse(text, None, shared=True) == expected


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers()), max_size=8))
def test_the_duplicate_hook_names_the_first_repeated_key(pairs: list[tuple[str, int]]) -> None:
    def run(hook: Any) -> object:
        try:
            return hook(list(pairs))
        except adapter._DuplicateKeyError as exc:
            return ("duplicate", exc.key)

    assert run(adapter._object_without_duplicates) == run(_reference_pairs_hook)


def test_a_leading_bom_never_reaches_the_shared_decoder() -> None:
    # json.loads refuses a str starting with U+FEFF; JSONDecoder.decode does not check.
    # The only way to that character at the start is the BOM bytes, refused first.
    with pytest.raises(AdapterError, match="byte order mark"):
        adapter._load_json("\ufeff{}".encode())


# ---------------------------------------------------------------------------- remembered parses


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\A[0-9]{4}(/[0-9]{2}(/[0-9]{2})?)?\n?\Z")
    | st.text(alphabet="0123456789/٣-", max_size=12)
)
def test_remembered_dates_equal_fresh_ones(text: str) -> None:
    def fresh(parse: Any) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            return ("refused", str(exc))

    expected = fresh(wire.parse_wire_date.__wrapped__)
    assert fresh(wire.parse_wire_date) == expected
    assert fresh(wire.parse_wire_date) == expected  # from the cache this time
    if not isinstance(expected, tuple) or expected[0] != "refused":
        year, month, day = wire.parse_wire_date(text)
        assert adapter._partial_date(text) == PartialDate(year=year, month=month, day=day)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
    st.integers(min_value=0, max_value=9),
)
def test_remembered_date_times_equal_fresh_ones(stamp: dt.datetime, minutes: int, n: int) -> None:
    sign = "-" if minutes < 0 else "+"
    fraction = f".{stamp.microsecond:06d}"[: n + 1] if n else ""
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S") + fraction
    text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def fresh(parse: Any) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            return ("refused", str(exc))

    assert fresh(wire.parse_wire_datetime) == fresh(wire.parse_wire_datetime.__wrapped__)


def test_refusals_are_not_remembered() -> None:
    before = wire.parse_wire_date.cache_info().currsize
    for bad in ("2026/02/30", "0000", "2026/13", "x" * 10_000):
        with pytest.raises(ValueError):
            wire.parse_wire_date(bad)
    assert wire.parse_wire_date.cache_info().currsize == before


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_the_remembered_rajab_test_equals_the_conversion(day: dt.date) -> None:
    import hijridate

    try:
        hijri = hijridate.Gregorian(day.year, day.month, day.day).to_hijri()
    except (OverflowError, ValueError):
        expected = None
    else:
        expected = hijri.year if (hijri.month, hijri.day) == (7, 1) else None
    assert adapter._rajab_first_year(day.year, day.month, day.day) == expected


@settings(max_examples=100, deadline=None)
@given(st.datetimes(timezones=st.timezones(), min_value=dt.datetime(1, 1, 2)))
def test_sent_at_is_written_as_strftime_writes_it(stamp: dt.datetime) -> None:
    try:
        utc = stamp.astimezone(dt.UTC)
    except OverflowError:
        return
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    assert adapter._wire_datetime(stamp, "sent_at") == expected


# ---------------------------------------------------------------------------- encode once


def _one_by_one(message: CanonicalMessage, ids: list[str]) -> object:
    try:
        return [
            adapter.encode_message(message.model_copy(update={"message_id": mid})) for mid in ids
        ]
    except TranslationRefused as exc:
        return _refusal(exc)


def _at_once(message: CanonicalMessage, ids: list[str]) -> object:
    try:
        return list(adapter.ADAPTER.encode_each(message, ids))
    except TranslationRefused as exc:
        return _refusal(exc)


_MESSAGE_IDS = st.lists(
    st.sampled_from([*IDS, "not-a-uuid", IDS[0] + "\n", IDS[1].upper(), ""]), max_size=4
)


@_SETTINGS
@given(interpol_messages(), _MESSAGE_IDS)
def test_encoding_for_many_ids_equals_encoding_for_each(
    message: dict[str, Any], ids: list[str]
) -> None:
    decoded = adapter.ADAPTER.decode(wire_bytes(message))
    assert _at_once(decoded, ids) == _one_by_one(decoded, ids)


def test_a_refused_notice_is_refused_once_for_every_id() -> None:
    decoded = adapter.ADAPTER.decode(wire_bytes(_red_message()))
    assert decoded.notice.subject is not None
    long_name = decoded.notice.subject.model_copy(update={"father_given": "x" * 300})
    bad = decoded.model_copy(
        update={"notice": decoded.notice.model_copy(update={"subject": long_name})}
    )
    assert _at_once(bad, list(IDS)) == _one_by_one(bad, list(IDS))
    assert isinstance(_at_once(bad, list(IDS)), tuple)


def _red_message() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "data" / "interpol-red-publish.json"
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"), parse_float=Decimal)
    return loaded


# ---------------------------------------------------------------------------- references


def _reference_with_references(notice: Notice, known: dict[str, str], schemas: list[str]) -> Notice:
    """The merge written plainly: copy, mint from the copy, copy again."""
    refs = dict(known)
    for ref in notice.references:
        refs.setdefault(ref.system, ref.id)

    def ordered() -> tuple[Reference, ...]:
        return tuple(Reference(system=s, id=i) for s, i in sorted(refs.items()))

    draft = notice.model_copy(update={"references": ordered()})
    for schema in sorted(set(schemas)):
        target = adapter_for_schema(schema)
        if target.reference_system not in refs:
            refs[target.reference_system] = target.mint_reference(draft)
    return notice.model_copy(update={"references": ordered()})


_SYSTEMS = st.sampled_from(["INTERPOL", "GCCPOL", "EUROPOL", "ZZ"])
_REF_IDS = st.sampled_from(["2026/48213", "GCC-ARE-1448-000123", "E-1", "1900/1"])


@_SETTINGS
@given(
    interpol_messages(kinds=("notice.publish",)),
    st.dictionaries(_SYSTEMS, _REF_IDS, max_size=3),
    st.lists(st.sampled_from(["interpol", "gccpol"]), max_size=3),
    st.booleans(),
)
def test_with_references_equals_the_plain_merge(
    message: dict[str, Any], known: dict[str, str], schemas: list[str], drop_own: bool
) -> None:
    notice = adapter.ADAPTER.decode(wire_bytes(message)).notice
    if drop_own:  # a notice without the INTERPOL reference: minted
        kept = tuple(r for r in notice.references if r.system != "INTERPOL")
        notice = notice.model_copy(update={"references": kept})

    def run(merge: Any) -> object:
        try:
            return merge(notice, known, schemas)
        except TranslationRefused as exc:
            return _refusal(exc)

    assert repr(run(with_references)) == repr(run(_reference_with_references))


def test_with_references_returns_the_notice_itself_when_nothing_changes() -> None:
    notice = Notice(
        category=NoticeCategory.WANTED,
        references=(
            Reference(system="GCCPOL", id="GCC-ARE-1448-000123"),
            Reference(system="INTERPOL", id="2026/48213"),
        ),
    )
    assert with_references(notice, {}, ["interpol", "gccpol"]) is notice
    changed = with_references(notice, {"GCCPOL": "GCC-ARE-1448-000999"}, ["gccpol"])
    assert changed.reference("GCCPOL") == "GCC-ARE-1448-000999"
    assert notice.reference("GCCPOL") == "GCC-ARE-1448-000123"


# ---------------------------------------------------------------------------- routing order

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "config", {})
_ALL_IDS = [*EXAMPLE.participants, "ncb-it", "zz-gone", "aa-gone"]


@settings(max_examples=300, deadline=None)
@given(
    st.frozensets(st.sampled_from(_ALL_IDS), max_size=8),
    st.sampled_from([MessageKind.UPDATE, MessageKind.CANCEL]),
)
def test_outcomes_follow_participants_order_then_former_ids(
    previous: frozenset[str], kind: MessageKind
) -> None:
    facts = RoutingFacts(
        message_id=IDS[0],
        sender="ipsg",
        source_schema="interpol",
        kind=kind,
        category=NoticeCategory.WARNING,
        notice_type="green",
        alert_category="WARNING",
    )
    decision = route(facts, EXAMPLE, previous_recipients=previous)
    order = {pid: i for i, pid in enumerate(EXAMPLE.participants)}
    got = [o.participant for o in decision.outcomes]
    assert got == sorted(got, key=lambda pid: (order.get(pid, len(order)), pid))
    assert set(previous) <= set(got)
