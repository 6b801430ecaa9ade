"""`gateway.audit_verify`: the batched verifier against a one-entry-at-a-time reference.

The verifier checks entries in batches with shortcuts (a whole batch's stored leaf hashes
compared as one blob, search columns compared as a byte suffix of the leaf, perfect
subtrees hashed a level at a time). These tests pin that it still does every check the
entry-at-a-time verifier did, and names the same first bad entry with the same message.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import crypto
from gateway.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint, verifier_key
from gateway.audit.events import canonical_json
from gateway.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_from_leaves
from gateway.audit_verify import (
    Batch,
    Entry,
    RootAccumulator,
    VerificationFailed,
    _all_suffixes_match,
    _check_columns,
    _suffixes_match,
    columns_suffix,
    verify_batches,
    verify_entries,
)
from gateway.storage import EventRow, Storage, StoredCheckpoint, Transaction
from gateway.storage.base import PackedHashes
from tests.storage_builders import T0

pytest_plugins = ["tests.storage_fixtures"]

ORIGIN = "test.gateway/audit"
KEY = crypto.generate()
VKEY = verifier_key(ORIGIN, KEY.public)


# ---- the root accumulator ----------------------------------------------------------------


def test_accumulator_gives_the_rfc_root_however_the_leaves_are_grouped() -> None:
    rng = random.Random(3)
    leaves = [b"%d" % i for i in range(300)]
    hashes = [leaf_hash(d) for d in leaves]
    for _ in range(60):
        acc, pos = RootAccumulator(), 0
        while pos < len(hashes):
            chunk = hashes[pos : pos + rng.choice([1, 2, 3, 5, 8, 17, 64, 100])]
            if rng.random() < 0.3:
                for h in chunk:
                    acc.add(h)
            else:
                acc.extend(chunk)
            pos += len(chunk)
            assert acc.size == pos
            if rng.random() < 0.2:
                assert acc.root() == root_from_leaves(leaves[:pos])
        assert acc.root() == root_from_leaves(leaves)
    assert RootAccumulator().root() == EMPTY_ROOT


# ---- the search-column fast path ---------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_names = st.sampled_from(["kind", "message_id", "outcome", "v", "at", "x"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names | _text, inner, max_size=3),
    max_leaves=8,
)


def _reference_accepts(leaf: bytes, kind: object, message_id: object, outcome: object) -> bool:
    try:
        _check_columns(0, leaf, {"kind": kind, "message_id": message_id, "outcome": outcome})
    except VerificationFailed:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    kind=_text,
    message_id=st.none() | _text,
    outcome=_text,
    details=st.dictionaries(_names | _text, _json, max_size=4),
    other=st.none() | _text,
    tamper=st.integers(0, 3),
)
def test_suffix_fast_path_never_accepts_what_parsing_refuses(
    kind: str,
    message_id: str | None,
    outcome: str,
    details: dict[str, Any],
    other: str | None,
    tamper: int,
) -> None:
    event = {
        "v": 1,
        "kind": kind,
        "at": "2026-03-01T12:00:00.000000Z",
        "actor": {"type": "gateway", "id": "gw"},
        "message_id": message_id,
        "outcome": outcome,
        "body_sha256": {},
        "details": details,
    }
    leaf = canonical_json(event)
    # canonical leaves with their own columns take the fast path
    assert leaf.endswith(columns_suffix(kind, message_id, outcome))
    # columns that differ: whatever the fast path says, parsing must agree
    columns = [kind, message_id, outcome]
    if tamper < 3:
        columns[tamper] = other
    if leaf.endswith(columns_suffix(*columns)):
        assert _reference_accepts(leaf, *columns)
    # leaves that are JSON objects but not canonical (other key order, duplicate keys)
    shuffled = orjson.dumps(dict(reversed(list(event.items()))))
    duplicated = leaf[:-1] + b',"kind":' + orjson.dumps(other) + b"}"
    trailing = b'{"kind":' + orjson.dumps(other) + b"," + leaf[1:]
    for variant in (shuffled, duplicated, trailing):
        if variant.endswith(columns_suffix(*columns)):
            assert _reference_accepts(variant, *columns)


_column_value = st.none() | st.sampled_from(["delivered", "routed", "m-1", ""]) | _text


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["delivered", "routed", "é\n"]),
            st.none() | st.sampled_from(["m-1", "m-2", ""]),
            st.sampled_from(["accepted", "verified"]),
            st.integers(0, 3),
            _column_value | st.integers(0, 2) | st.just(float("nan")) | st.just(b"x"),
        ),
        max_size=12,
    )
)
def test_the_c_level_suffix_check_agrees_with_the_per_entry_one(
    rows: list[tuple[str, str | None, str, int, object]],
) -> None:
    leaves, columns = [], []
    for kind, message_id, outcome, tamper, other in rows:
        event = {"v": 1, "kind": kind, "message_id": message_id, "outcome": outcome, "x": 0}
        leaves.append(canonical_json(event))
        values: list[object] = [kind, message_id, outcome]
        if tamper < 3:
            values[tamper] = other
        columns.append(values)
    kinds, message_ids, outcomes = ([c[i] for c in columns] for i in range(3))
    try:
        each: list[bool] | type[Exception] = _suffixes_match(leaves, kinds, message_ids, outcomes)
    except (TypeError, orjson.JSONEncodeError) as exc:
        each = type(exc)
    try:
        whole: bool | type[Exception] = _all_suffixes_match(leaves, kinds, message_ids, outcomes)
    except (TypeError, orjson.JSONEncodeError) as exc:
        whole = type(exc)
    if not isinstance(each, list):  # refused: some column is not a string (None: id only)
        assert whole is each
        assert any(
            type(k) is not str or type(o) is not str or type(m) not in (str, type(None))
            for k, m, o in columns
        )
        return
    assert whole == all(each)
    for leaf, (kind, message_id, outcome), verdict in zip(leaves, columns, each, strict=True):
        # each verdict is the documented suffix's; a match is one the reference parser
        # accepts (a leaf with members after "v" never matches: the reference path judges)
        assert verdict == leaf.endswith(columns_suffix(kind, message_id, outcome))
        assert not verdict or _reference_accepts(leaf, kind, message_id, outcome)


# ---- the batched verifier against a one-at-a-time reference --------------------------------


async def reference_verify(
    entries: Sequence[Entry], checkpoints: Iterable[tuple[int, bytes]]
) -> tuple[int, str]:
    """The verifier as it was before batching (entry by entry); (entries, root b64)."""
    import base64

    signed = {}
    for size, note in checkpoints:
        cp = open_checkpoint(note, VKEY)
        if cp.size != size:
            raise VerificationFailed(f"checkpoint stored for size {size} says size {cp.size}")
        signed[size] = cp.root_hash
    if not signed:
        raise VerificationFailed("no signed checkpoint to verify against")
    latest = max(signed)
    frontier: list[tuple[int, bytes]] = []
    size = last_good = 0

    def root() -> bytes:
        if not frontier:
            return EMPTY_ROOT
        node = frontier[-1][1]
        for _, left in reversed(frontier[:-1]):
            node = node_hash(left, node)
        return node

    if 0 in signed and signed[0] != EMPTY_ROOT:
        raise VerificationFailed("the checkpoint of the empty tree has a wrong root")
    for entry in entries:
        if entry.index != size:
            raise VerificationFailed(
                f"entry {size} is missing: the next stored entry is {entry.index} "
                "(an entry was removed or reordered)",
                size,
            )
        lh = leaf_hash(entry.leaf)
        if entry.stored_leaf_hash is not None and entry.stored_leaf_hash != lh:
            raise VerificationFailed(
                f"entry {entry.index}: its bytes do not hash to the leaf hash integrated into "
                "the tree (the entry was changed after it was logged)",
                entry.index,
            )
        if entry.columns is not None:
            _check_columns(entry.index, entry.leaf, entry.columns)
        height, node = 0, bytes(lh)
        while frontier and frontier[-1][0] == height:
            node = node_hash(frontier.pop()[1], node)
            height += 1
        frontier.append((height, node))
        size += 1
        if size in signed:
            if root() != signed[size]:
                raise VerificationFailed(
                    f"entries {last_good}..{size - 1} do not match the signed checkpoint "
                    f"of size {size}: the first bad entry is in that range",
                    last_good,
                )
            last_good = size
        if size >= latest:
            break
    if size < latest:
        raise VerificationFailed(
            f"the log has {size} entries but its latest checkpoint covers {latest}: "
            f"entry {size} onwards is missing",
            size,
        )
    return size, base64.b64encode(root()).decode("ascii")


def _leaf(i: int, mid: str | None) -> bytes:
    return canonical_json(
        {
            "v": 1,
            "kind": "delivered" if i % 3 else "received",
            "at": "2026-03-01T12:00:00.000000Z",
            "actor": {"type": "gateway", "id": "gw"},
            "message_id": mid,
            "outcome": "ok" if i % 5 else "refused",
            "body_sha256": {},
            "details": {"n": i, "kind": "nested"},
        }
    )


def _note(size: int, root: bytes) -> bytes:
    return sign_checkpoint(
        Checkpoint(origin=ORIGIN, size=size, root_hash=root),
        key_name=ORIGIN,
        sign=KEY.sign,
        public_key=KEY.public,
    )


def _log(n: int, rng: random.Random) -> tuple[list[Entry], list[tuple[int, bytes]]]:
    entries = []
    for i in range(n):
        mid = None if i % 7 == 0 else f"m-{i // 3}"
        leaf = _leaf(i, mid)
        columns: dict[str, object] = {
            "kind": "delivered" if i % 3 else "received",
            "message_id": mid,
            "outcome": "ok" if i % 5 else "refused",
        }
        entries.append(Entry(i, leaf, columns, leaf_hash(leaf)))
    sizes = sorted({n, *rng.sample(range(1, n), 4)})
    leaves = [e.leaf for e in entries]
    return entries, [(s, _note(s, root_from_leaves(leaves[:s]))) for s in sizes]


def _tamper(entries: list[Entry], rng: random.Random) -> list[Entry]:
    out = list(entries)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        e = out[i]
        cols = dict(e.columns or {})
        match rng.randrange(9):
            case 0:  # leaf changed, its stored hash kept
                out[i] = Entry(
                    e.index, e.leaf.replace(b'"n":', b'"N":'), e.columns, e.stored_leaf_hash
                )
            case 1:  # leaf and stored hash rewritten together
                new = e.leaf.replace(b'"n":', b'"N":')
                out[i] = Entry(e.index, new, e.columns, leaf_hash(new))
            case 2:  # leaf changed where no stored hash is left
                out[i] = Entry(e.index, e.leaf + b" ", e.columns, None)
            case 3:  # a search column changed
                cols[rng.choice(["kind", "message_id", "outcome"])] = "changed"
                out[i] = Entry(e.index, e.leaf, cols, e.stored_leaf_hash)
            case 4:  # a column of another type
                cols["outcome"] = rng.choice([1, 1.5, b"ok", None])
                out[i] = Entry(e.index, e.leaf, cols, e.stored_leaf_hash)
            case 5:  # removed
                del out[i]
            case 6:  # reordered
                j = min(i + 1, len(out) - 1)
                out[i], out[j] = out[j], out[i]
            case 7:  # a leaf that is not JSON, stored hash rewritten
                bad = b"not json" + e.leaf[-40:]
                out[i] = Entry(e.index, bad, e.columns, leaf_hash(bad))
            case _:  # a stored hash changed alone
                out[i] = Entry(e.index, e.leaf, e.columns, hashlib.sha256(b"x").digest())
        if not out:
            break
    return out


async def _iterate(entries: Sequence[Entry]) -> AsyncIterator[Entry]:
    for e in entries:
        yield e


async def _outcome_reference(
    entries: Sequence[Entry], checkpoints: list[tuple[int, bytes]]
) -> tuple[str, int | None]:
    try:
        size, root = await reference_verify(entries, checkpoints)
    except VerificationFailed as exc:
        return str(exc), exc.index
    return f"ok {size} {root}", None


async def _outcome(
    entries: Sequence[Entry], checkpoints: list[tuple[int, bytes]], batch: int
) -> tuple[str, int | None]:
    try:
        report = await verify_entries(_iterate(entries), checkpoints, VKEY, batch_size=batch)
    except VerificationFailed as exc:
        return str(exc), exc.index
    return f"ok {report.entries} {report.root_b64}", None


async def _outcome_packed(
    entries: Sequence[Entry], checkpoints: list[tuple[int, bytes]], batch: int
) -> tuple[str, int | None]:
    """As the database path feeds it: columns as columns, stored hashes packed."""

    async def batches() -> AsyncIterator[Batch]:
        for s in range(0, len(entries), batch):
            part = entries[s : s + batch]
            stored = [e.stored_leaf_hash for e in part]
            yield Batch(
                [e.index for e in part],
                [e.leaf for e in part],
                kind=[(e.columns or {})["kind"] for e in part],
                message_id=[(e.columns or {})["message_id"] for e in part],
                outcome=[(e.columns or {})["outcome"] for e in part],
                stored_leaf_hash=(
                    PackedHashes(b"".join(h for h in stored if h is not None))
                    if all(h is not None for h in stored)
                    else stored
                ),
            )

    try:
        report = await verify_batches(batches(), checkpoints, VKEY)
    except VerificationFailed as exc:
        return str(exc), exc.index
    return f"ok {report.entries} {report.root_b64}", None


@pytest.mark.parametrize("seed", range(40))
def test_batches_name_the_same_first_bad_entry_as_one_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    entries, checkpoints = _log(rng.randint(20, 70), rng)
    logs = [entries] + [_tamper(entries, rng) for _ in range(6)]

    async def check() -> None:
        for log in logs:
            expected = await _outcome_reference(log, checkpoints)
            for batch in (1, 3, 8, 64, 4096):
                assert await _outcome(log, checkpoints, batch) == expected, (batch, expected)
                assert await _outcome_packed(log, checkpoints, batch) == expected, (batch, expected)

    asyncio.run(check())


def test_an_untouched_log_verifies_and_a_leaf_that_is_not_json_is_caught() -> None:
    rng = random.Random(99)
    entries, checkpoints = _log(50, rng)

    async def check() -> None:
        assert (await _outcome(entries, checkpoints, 16))[1] is None
        changed = list(entries)
        e = changed[10]
        changed[10] = Entry(e.index, e.leaf, {**(e.columns or {}), "kind": "x"}, e.stored_leaf_hash)
        message, index = await _outcome(changed, checkpoints, 16)
        assert index == 10 and "column kind" in message
        # Not JSON, its stored hash rewritten to match: named when the suffix is gone...
        e = entries[12]
        for bad, named in ((e.leaf[:-1], True), (b"[" + e.leaf, False)):
            not_json = list(entries)
            not_json[12] = Entry(e.index, bad, e.columns, leaf_hash(bad))
            message, index = await _outcome(not_json, checkpoints, 16)
            if named:
                assert index == 12 and "not JSON" in message
            else:  # ...else caught by the checkpoint (verify_storage then names it: below)
                assert "do not match the signed checkpoint" in message
                assert index is not None and index <= 12

    asyncio.run(check())


# ---- reading the log from a database ----------------------------------------------------------


async def _fill(storage: Storage, n: int) -> list[bytes]:
    leaves = [_leaf(i, f"m-{i}" if i % 4 else None) for i in range(n)]
    await storage.commit(
        Transaction(
            events=[
                EventRow(
                    leaf,
                    "delivered" if i % 3 else "received",
                    T0,
                    f"m-{i}" if i % 4 else None,
                    "p",
                    "ok" if i % 5 else "refused",
                )
                for i, leaf in enumerate(leaves)
            ]
        )
    )
    hashes: list[bytes] = [leaf_hash(leaf) for leaf in leaves]
    root = root_from_leaves(leaves)
    cp = StoredCheckpoint(tree_size=n, root_hash=root, note=_note(n, root), signed_at=T0)
    await storage.save_tree([((0, i), h) for i, h in enumerate(hashes)], n, cp)
    return hashes


@pytest.mark.anyio
async def test_leaf_rows_are_the_events_with_their_stored_leaf_hashes(storage: Storage) -> None:
    hashes = await _fill(storage, 40)
    rows = await storage.leaf_rows(5, 30)
    events = await storage.get_events(5, 30)
    assert list(rows.index) == [e.index for e in events]
    assert list(rows.leaf) == [e.leaf for e in events]
    assert list(rows.kind) == [e.kind for e in events]
    assert list(rows.message_id) == [e.message_id for e in events]
    assert list(rows.outcome) == [e.outcome for e in events]
    assert list(rows.leaf_hash) == hashes[5:30]
    assert list((await storage.leaf_rows(38, 50)).index) == [38, 39]
    assert list((await storage.leaf_rows(40, 50)).leaf) == []


@pytest.mark.anyio
@pytest.mark.parametrize("site", ["sqlite"], indirect=True)  # edits the file
async def test_sqlite_leaf_rows_pack_hashes_only_when_they_match_one_to_one(
    storage: Storage, site: Any
) -> None:
    assert site.path is not None
    hashes = await _fill(storage, 40)
    assert isinstance((await storage.leaf_rows(0, 40)).leaf_hash, PackedHashes)
    with sqlite3.connect(site.path, isolation_level=None) as conn:
        conn.execute("DELETE FROM nodes WHERE level = 0 AND idx = 7")
        conn.execute("DELETE FROM events WHERE idx = 20")
        conn.execute("DELETE FROM nodes WHERE level = 0 AND idx = 33")
        conn.execute("INSERT INTO nodes (level, idx, hash) VALUES (0, 41, ?)", (hashes[0],))
    rows = await storage.leaf_rows(0, 45)
    assert list(rows.index) == [i for i in range(40) if i != 20]
    expected = [None if i in (7, 33) else hashes[i] for i in range(40) if i != 20]
    assert list(rows.leaf_hash) == expected
    rows = await storage.leaf_rows(34, 45)  # hashes of 34..39 present, 41 has no entry
    assert list(rows.leaf_hash) == hashes[34:40]


@pytest.mark.anyio
@pytest.mark.parametrize("site", ["sqlite"], indirect=True)  # edits the file
async def test_verify_storage_names_a_changed_column_and_a_changed_leaf(
    storage: Storage, site: Any
) -> None:
    from gateway.audit_verify import verify_storage

    assert site.path is not None
    await _fill(storage, 40)
    report = await verify_storage(storage, VKEY, chunk=16)
    assert report.entries == 40
    with sqlite3.connect(site.path, isolation_level=None) as conn:
        conn.execute("UPDATE events SET message_id = 'other' WHERE idx = 25")
    with pytest.raises(VerificationFailed, match="entry 25: column message_id") as info:
        await verify_storage(storage, VKEY, chunk=16)
    assert info.value.index == 25
    with sqlite3.connect(site.path, isolation_level=None) as conn:
        conn.execute("UPDATE events SET message_id = 'm-25' WHERE idx = 25")
        conn.execute("UPDATE events SET leaf = CAST('x' || leaf AS BLOB) WHERE idx = 17")
    with pytest.raises(VerificationFailed, match="entry 17: its bytes") as info:
        await verify_storage(storage, VKEY, chunk=16)
    # a leaf rewritten with its node into something that is not JSON but keeps the
    # canonical suffix passes the fast column check: the checkpoint catches it, and the
    # range is searched to name it as an entry-at-a-time verifier would
    with sqlite3.connect(site.path, isolation_level=None) as conn:
        leaf = conn.execute("SELECT leaf FROM events WHERE idx = 17").fetchone()[0]
        bad = b"[" + leaf[1:]
        conn.execute("UPDATE events SET leaf = ? WHERE idx = 17", (bad,))
        conn.execute("UPDATE nodes SET hash = ? WHERE level = 0 AND idx = 17", (leaf_hash(bad),))
    with pytest.raises(VerificationFailed, match="entry 17: leaf is not JSON") as info:
        await verify_storage(storage, VKEY, chunk=16)
    assert info.value.index == 17


@pytest.mark.anyio
@pytest.mark.parametrize("site", ["sqlite"], indirect=True)  # edits the file
@pytest.mark.parametrize(
    ("tamper", "index", "message"),
    [
        # a column holding a newline (the separator a packed read of the columns would use)
        (
            "UPDATE events SET outcome = 'ok' || char(10) || 'x' WHERE idx = 9",
            9,
            "entry 9: column outcome is 'ok\\nx' but the signed leaf says 'ok'",
        ),
        ("UPDATE events SET leaf = leaf || X'0A' WHERE idx = 12", 12, "entry 12: its bytes"),
        ("UPDATE events SET leaf = X'00' || leaf WHERE idx = 13", 13, "entry 13: its bytes"),
        (
            "DELETE FROM events WHERE idx = 20",
            20,
            "entry 20 is missing: the next stored entry is 21",
        ),
        # '' and NULL stay apart (entry 0 has no message id)
        (
            "UPDATE events SET message_id = '' WHERE idx = 0",
            0,
            "entry 0: column message_id is '' but the signed leaf says None",
        ),
        (
            "UPDATE events SET message_id = NULL WHERE idx = 33",
            33,
            "entry 33: column message_id is None but the signed leaf says 'm-33'",
        ),
        # a search column stored as a BLOB is not the text the leaf holds
        (
            "UPDATE events SET kind = CAST(kind AS BLOB) WHERE idx = 7",
            7,
            "entry 7: column kind is b'delivered'",
        ),
    ],
)
async def test_verify_storage_names_each_kind_of_tampered_row(
    storage: Storage, site: Any, tamper: str, index: int, message: str
) -> None:
    from gateway.audit_verify import verify_storage

    assert site.path is not None
    assert hasattr(storage, "leaf_rows_now")  # SQLite: read on the verifying thread offline
    await _fill(storage, 40)
    for offline in (True, False):
        assert (await verify_storage(storage, VKEY, chunk=16, offline=offline)).entries == 40
    with sqlite3.connect(site.path, isolation_level=None) as conn:
        conn.execute(tamper)
    for offline in (True, False):  # both ways of reading name the same entry
        with pytest.raises(VerificationFailed) as info:
            await verify_storage(storage, VKEY, chunk=16, offline=offline)
        assert str(info.value).startswith(message), str(info.value)
        assert info.value.index == index
