"""Offline verification of a whole audit log: from the database or from an export file.

Leaf by leaf: every entry's hash is recomputed from its bytes, folded into the tree's
right frontier (O(log n) memory), and the root is compared with every signed checkpoint
the log holds, whose signatures are checked first with the verifier key. The first entry
that does not verify is named:

- an index missing or out of order (a row removed or reordered) is named directly;
- a leaf whose bytes changed is named by comparing with the stored leaf hash (level-0
  node) when the database still has it, else by the first checkpoint whose root differs
  (the bad entry lies between that checkpoint and the previous one);
- a leaf whose search columns (kind, message id, …) disagree with its signed bytes.

Entries are checked a batch at a time, as fast as the hashing allows (docs/performance.md):
a batch's stored leaf hashes are compared as one blob, the search columns as a byte suffix
of the canonical leaf (`columns_suffix`; the JSON parse is the fallback that names what is
wrong), perfect subtrees are hashed a level at a time, and the cyclic garbage collector
rests. The first bad entry and the message are the ones checking entries one at a time
gives (tests/unit/test_audit_verify.py compares the two), with one exception the database
path closes: a leaf that is not JSON yet ends with its columns' canonical suffix passes the
fast column check; if its bytes are not the logged ones the checkpoint catches it and
`verify_storage` searches that checkpoint's range to name it.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.merkle import node_hash
from gateway.storage.base import PackedHashes

if TYPE_CHECKING:
    from gateway.storage.base import LeafRows, Storage

EXPORT_FORMAT = "gateway-audit-export"
EXPORT_VERSION = 1
EMPTY_ROOT = hashlib.sha256(b"").digest()


class VerificationFailed(Exception):
    """The log does not verify; ``index`` is the first entry at fault when it is known."""

    def __init__(self, message: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


class RangeMismatch(VerificationFailed):
    """The entries since the last good checkpoint do not lead to the next one's root."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        super().__init__(
            f"entries {start}..{end - 1} do not match the signed checkpoint of size {end}: "
            "the first bad entry is in that range",
            start,
        )


_NODE = hashlib.sha256(b"\x01")  # copied per node: cheaper than a new hash object


def next_level(level: Sequence[bytes]) -> list[bytes]:
    """The tree level above ``level``: the node hash of each pair (an odd last node has no
    parent yet), in one list comprehension."""
    sha = hashlib.sha256
    return [sha(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """MTH of 2^k leaf hashes, a level at a time."""
    level = list(hashes)
    while len(level) > 1:
        level = next_level(level)
    return level[0]


class RootAccumulator:
    """RFC 9162 §2.1.1 tree head computed leaf by leaf from the right frontier: one perfect
    subtree hash per set bit of the size, largest (leftmost) first; O(log n) memory."""

    def __init__(self) -> None:
        self.size = 0
        self._frontier: list[bytes] = []

    def add(self, lh: bytes) -> None:
        self._push(lh, 0)

    def _push(self, node: bytes, height: int) -> None:
        """Append a perfect subtree of 2^height leaves (self.size is a multiple of it)."""
        frontier, size = self._frontier, self.size
        self.size = size + (1 << height)
        while size >> height & 1:  # a left sibling of this height waits on the frontier
            h = _NODE.copy()
            h.update(frontier.pop())
            h.update(node)
            node = h.digest()
            height += 1
        frontier.append(node)

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append leaf hashes, as the largest aligned perfect subtrees they tile (RFC 9162's
        MTH is the same however the leaves are grouped; this hashes a level at a time)."""
        offset, n = 0, len(leaf_hashes)
        while offset < n:
            size = self.size
            # the largest power of two that both divides the size and fits what is left
            height = (n - offset).bit_length() - 1
            if size:
                height = min(height, (size & -size).bit_length() - 1)
            width = 1 << height
            if width == 1:
                self._push(leaf_hashes[offset], 0)
            else:
                self._push(_perfect_root(leaf_hashes[offset : offset + width]), height)
            offset += width

    def root(self) -> bytes:
        if not self._frontier:
            return EMPTY_ROOT
        node = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            node = node_hash(left, node)
        return node


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    leaf: bytes
    columns: dict[str, object] | None = None  # search columns the database keeps beside the leaf
    stored_leaf_hash: bytes | None = None


@dataclass
class Report:
    entries: int = 0
    checkpoints_checked: int = 0
    tree_size: int = 0
    root_b64: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive entries column by column (`Entry` one at a time costs more than the
    hashing). ``kind``/``message_id``/``outcome`` are the search columns the database keeps
    beside each leaf (None: an export, which has none); ``stored_leaf_hash`` the level-0
    node of each entry (None: none stored)."""

    index: Sequence[int]
    leaf: Sequence[bytes]
    kind: Sequence[object] | None = None
    message_id: Sequence[object] | None = None
    outcome: Sequence[object] | None = None
    stored_leaf_hash: Sequence[bytes | None] | None = None
    columns: Sequence[dict[str, object] | None] | None = None  # any other columns, per entry


_COLUMN_NAMES = frozenset({"kind", "message_id", "outcome"})


def _check_columns(index: int, leaf: bytes, columns: dict[str, object]) -> None:
    """The reference check: parse the leaf, compare each column with its field."""
    try:
        event = orjson.loads(leaf)
    except orjson.JSONDecodeError as exc:
        raise VerificationFailed(f"entry {index}: leaf is not JSON", index) from exc
    if not isinstance(event, dict):
        raise VerificationFailed(f"entry {index}: leaf is not a JSON object", index)
    for name, value in columns.items():
        if event.get(name) != value:
            raise VerificationFailed(
                f"entry {index}: column {name} is {value!r} but the signed leaf says "
                f"{event.get(name)!r}",
                index,
            )


def columns_suffix(kind: object, message_id: object, outcome: object) -> bytes:
    """How a canonical leaf (RFC 8785: keys sorted, so these are its last members) ends
    when its kind, message_id and outcome are these values.

    A JSON object that ends with these bytes has exactly these values as its top-level
    kind, message_id and outcome (the last occurrence of each, the one a parser keeps):
    the suffix starts outside any string (a string cannot go on with `,"kind` after its
    closing quote), holds no bracket outside its strings, and its final brace closes the
    whole text; so its members are the top-level object's last ones. orjson writes each
    value so that it reads back as itself. Raises TypeError/orjson.JSONEncodeError for a
    value JSON cannot hold (the caller then takes the reference path). Meant for strings (and
    a null message id): orjson writes a NaN float as null."""
    return b',"kind":%b,"message_id":%b,"outcome":%b,"v":1}' % (
        orjson.dumps(kind),
        orjson.dumps(message_id),
        orjson.dumps(outcome),
    )


_STR: frozenset[type] = frozenset({str})
_STR_OR_NONE: frozenset[type] = frozenset({str, type(None)})


def _suffixes(
    kinds: Sequence[object], message_ids: Sequence[object], outcomes: Sequence[object]
) -> Iterator[bytes]:
    """`columns_suffix` of each entry's columns, built from parts in C (kind and outcome
    take few values: each is encoded once). Raises TypeError for a column value that is not
    a string (or None for a message id), orjson.JSONEncodeError for one JSON cannot hold."""
    # Strings (and a null message id) only: orjson writes NaN as null, and equal keys of
    # other types (1, 1.0) would share an encoding.
    if not (
        set(map(type, kinds)) <= _STR
        and set(map(type, outcomes)) <= _STR
        and set(map(type, message_ids)) <= _STR_OR_NONE
    ):
        raise TypeError("a search column is not a string")
    dumps = orjson.dumps
    heads = {k: b',"kind":%b,"message_id":' % dumps(k) for k in set(kinds)}
    tails = {o: b',"outcome":%b,"v":1}' % dumps(o) for o in set(outcomes)}
    return map(
        b"".join,
        zip(
            map(heads.__getitem__, kinds),
            map(dumps, message_ids),
            map(tails.__getitem__, outcomes),
            strict=False,
        ),
    )


def _suffixes_match(
    leaves: Sequence[bytes],
    kinds: Sequence[object],
    message_ids: Sequence[object],
    outcomes: Sequence[object],
) -> list[bool]:
    """For each entry: does its leaf end with `columns_suffix` of its columns? Raises as
    `_suffixes` does, and TypeError for a leaf that is not bytes."""
    return list(map(bytes.endswith, leaves, _suffixes(kinds, message_ids, outcomes)))


def _all_suffixes_match(
    leaves: Sequence[bytes],
    kinds: Sequence[object],
    message_ids: Sequence[object],
    outcomes: Sequence[object],
) -> bool:
    """``all(_suffixes_match(...))``, iterated in C and stopping at the first mismatch."""
    return all(map(bytes.endswith, leaves, _suffixes(kinds, message_ids, outcomes)))


def _first_bad_columns(
    start: int,
    leaves: Sequence[bytes],
    columns: tuple[Sequence[object], Sequence[object], Sequence[object]],
    limit: int,
) -> tuple[int, VerificationFailed] | None:
    """The first of the first ``limit`` entries whose columns disagree with its leaf.

    Fast path: the leaf ends with the canonical suffix of its columns (`columns_suffix`),
    which is the reference check's verdict for every leaf that is a JSON object. Any other
    leaf (not canonical, odd column types, not JSON) is judged by the reference check."""
    kinds, message_ids, outcomes = (c[:limit] for c in columns)
    leaves = leaves[:limit]
    try:
        if _all_suffixes_match(leaves, kinds, message_ids, outcomes):
            return None
        matched = _suffixes_match(leaves, kinds, message_ids, outcomes)  # which ones
    except (TypeError, orjson.JSONEncodeError):  # a column JSON cannot hold: check each
        matched = [False] * len(leaves)
    for pos, ok in enumerate(matched):
        if ok:
            continue
        try:
            _check_columns(
                start + pos,
                leaves[pos],
                {"kind": kinds[pos], "message_id": message_ids[pos], "outcome": outcomes[pos]},
            )
        except VerificationFailed as exc:
            return pos, exc
    return None


def _first_bad_other(
    start: int, leaves: Sequence[bytes], columns: Sequence[dict[str, object] | None], limit: int
) -> tuple[int, VerificationFailed] | None:
    for pos, (leaf, cols) in enumerate(zip(leaves[:limit], columns, strict=False)):
        if cols is not None:
            try:
                _check_columns(start + pos, leaf, cols)
            except VerificationFailed as exc:
                return pos, exc
    return None


class _Verifier:
    """Entries 0..n-1 in batches against every signed checkpoint; reports what checking
    them one at a time would (the first bad entry, in the same order of checks: index,
    stored leaf hash, search columns, then the checkpoints up to it; see the module doc
    for the one exception)."""

    def __init__(self, checkpoints: Iterable[tuple[int, bytes]], verifier_key: str) -> None:
        signed: dict[int, bytes] = {}
        for size, note in checkpoints:
            cp = open_checkpoint(note, verifier_key)
            if cp.size != size:
                raise VerificationFailed(f"checkpoint stored for size {size} says size {cp.size}")
            signed[size] = cp.root_hash
        if not signed:
            raise VerificationFailed("no signed checkpoint to verify against")
        if 0 in signed and signed[0] != EMPTY_ROOT:
            raise VerificationFailed("the checkpoint of the empty tree has a wrong root")
        self.signed = signed
        self.sizes = sorted(s for s in signed if s > 0)
        self.latest = max(signed)
        self.acc = RootAccumulator()
        self.last_good = 0
        self._next_cp = 0  # position in self.sizes of the next checkpoint to reach

    @property
    def done(self) -> bool:
        return self.acc.size >= self.latest

    def feed(self, batch: Batch) -> None:
        acc = self.acc
        start = acc.size
        n = min(len(batch.index), len(batch.leaf), self.latest - start)
        if n <= 0:
            return
        leaves = batch.leaf
        failure: tuple[int, VerificationFailed] | None = None
        # 1. indices: entry start + i must be the i-th row (ranges compare in O(1))
        index, expected = batch.index[:n], range(start, start + n)
        if index != expected and list(index) != list(expected):
            pos = next(i for i, x in enumerate(batch.index[:n]) if x != start + i)
            failure = (
                pos,
                VerificationFailed(
                    f"entry {start + pos} is missing: the next stored entry is "
                    f"{batch.index[pos]} (an entry was removed or reordered)",
                    start + pos,
                ),
            )
            n = pos  # nothing after it is aligned
        # 2. leaf hashes (what the baseline measures: SHA-256 of 0x00 || leaf)
        sha = hashlib.sha256
        hashes = [sha(b"\x00" + leaf).digest() for leaf in leaves[:n]]
        limit = n
        stored = batch.stored_leaf_hash
        if stored is None:
            pass
        elif isinstance(stored, PackedHashes) and stored.blob[: 32 * limit] == b"".join(hashes):
            pass  # one comparison for the whole batch
        elif list(stored[:limit]) != hashes:
            for pos, (s, h) in enumerate(zip(stored[:limit], hashes, strict=False)):
                if s is not None and s != h:
                    failure = (
                        pos,
                        VerificationFailed(
                            f"entry {start + pos}: its bytes do not hash to the leaf hash "
                            "integrated into the tree (the entry was changed after it was logged)",
                            start + pos,
                        ),
                    )
                    limit = pos
                    break
        # 3. search columns (entries before any failure found so far)
        bad: tuple[int, VerificationFailed] | None = None
        if batch.kind is not None and batch.message_id is not None and batch.outcome is not None:
            bad = _first_bad_columns(
                start, leaves, (batch.kind, batch.message_id, batch.outcome), limit
            )
        elif batch.columns is not None:
            bad = _first_bad_other(start, leaves, batch.columns, limit)
        if bad is not None:
            failure = bad
            limit = bad[0]
        # 4. the tree, checkpoint by checkpoint, up to the first bad entry
        self._integrate(hashes, limit)
        if failure is not None:
            raise failure[1]

    def _integrate(self, hashes: Sequence[bytes], count: int) -> None:
        acc, sizes = self.acc, self.sizes
        offset = 0
        while offset < count:
            target = sizes[self._next_cp] if self._next_cp < len(sizes) else self.latest
            step = min(count - offset, target - acc.size)
            acc.extend(hashes[offset : offset + step])
            offset += step
            if acc.size == target and self._next_cp < len(sizes):
                self._next_cp += 1
                if acc.root() != self.signed[target]:
                    raise RangeMismatch(self.last_good, target)
                self.last_good = target

    def finish(self) -> Report:
        acc = self.acc
        if acc.size < self.latest:
            raise VerificationFailed(
                f"the log has {acc.size} entries but its latest checkpoint covers "
                f"{self.latest}: entry {acc.size} onwards is missing",
                acc.size,
            )
        return Report(
            entries=acc.size,
            checkpoints_checked=len(self.signed),
            tree_size=self.latest,
            root_b64=base64.b64encode(acc.root()).decode("ascii"),
        )


async def verify_batches(
    batches: AsyncIterator[Batch],
    checkpoints: Iterable[tuple[int, bytes]],  # (tree_size, signed note), any order
    verifier_key: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify entries 0..n-1, given in consecutive batches, against every checkpoint; raise
    VerificationFailed naming the first bad entry."""
    verifier = _Verifier(checkpoints, verifier_key)
    with _gc_paused():
        async for batch in batches:
            verifier.feed(batch)
            if progress is not None:
                progress(verifier.acc.size)
            if verifier.done:
                break
    return verifier.finish()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while verifying (an offline command: nothing else runs
    on its loop): a batch allocates ~10^5 short-lived tuples (freed by reference counting;
    nothing here makes cycles), and the collections they trigger are pure overhead."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def verify_entries(
    entries: AsyncIterator[Entry],
    checkpoints: Iterable[tuple[int, bytes]],  # (tree_size, signed note), any order
    verifier_key: str,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 4096,
) -> Report:
    """Verify entries 0..n-1 against every checkpoint; raise VerificationFailed naming the
    first bad entry. (Entries are checked `batch_size` at a time: see `verify_batches`.)"""

    async def batches() -> AsyncIterator[Batch]:
        pending: list[Entry] = []
        async for entry in entries:
            pending.append(entry)
            if len(pending) >= batch_size:
                yield _batch_of(pending)
                pending = []
        if pending:
            yield _batch_of(pending)

    return await verify_batches(batches(), checkpoints, verifier_key, progress=progress)


def _batch_of(entries: Sequence[Entry]) -> Batch:
    index = [e.index for e in entries]
    leaf = [e.leaf for e in entries]
    stored = [e.stored_leaf_hash for e in entries]
    if all(e.columns is not None and e.columns.keys() == _COLUMN_NAMES for e in entries):
        return Batch(
            index,
            leaf,
            kind=[e.columns["kind"] for e in entries if e.columns is not None],
            message_id=[e.columns["message_id"] for e in entries if e.columns is not None],
            outcome=[e.columns["outcome"] for e in entries if e.columns is not None],
            stored_leaf_hash=stored,
        )
    columns = [e.columns for e in entries]
    return Batch(
        index,
        leaf,
        stored_leaf_hash=stored,
        columns=None if all(c is None for c in columns) else columns,
    )


def export_header(origin: str, verifier_key: str, checkpoint_note: bytes, size: int) -> bytes:
    return orjson.dumps(
        {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "origin": origin,
            "verifier_key": verifier_key,
            "tree_size": size,
            "checkpoint": checkpoint_note.decode("utf-8"),
        }
    )


def export_line(index: int, leaf: bytes) -> bytes:
    return orjson.dumps({"index": index, "leaf_b64": base64.b64encode(leaf).decode("ascii")})


async def verify_storage(
    storage: Storage,
    verifier_key: str,
    *,
    chunk: int = 20_000,
    progress: Callable[[int], None] | None = None,
    offline: bool = False,
) -> Report:
    """Verify the log a database holds, from entry 0 to its latest checkpoint, reading
    ``chunk`` entries (and their stored leaf hashes) at a time: memory stays O(chunk).

    ``offline``: nothing else runs on this event loop (`gateway audit verify`). A storage
    with a synchronous ``leaf_rows_now`` (SQLite) is then read on this thread, so each
    chunk is read and checked on one core (rows made by a reader thread and checked on
    another core cost 5-30 % more CPU), at the price of blocking the loop while it reads.
    Otherwise (the console's background check in a serving process) reads go to a reader
    thread, and the next chunk is asked for while this one is checked."""
    import asyncio

    checkpoints = await storage.checkpoints(limit=1_000_000)
    if not checkpoints:
        raise VerificationFailed("no signed checkpoint to verify against")
    latest = max(c.tree_size for c in checkpoints)
    read_now: Callable[[int, int], LeafRows] | None = (
        getattr(storage, "leaf_rows_now", None) if offline else None
    )

    def read(start: int) -> asyncio.Future[LeafRows]:
        return asyncio.ensure_future(storage.leaf_rows(start, min(start + chunk, latest)))

    def batch(rows: LeafRows) -> Batch:
        return Batch(
            rows.index,
            rows.leaf,
            kind=rows.kind,
            message_id=rows.message_id,
            outcome=rows.outcome,
            stored_leaf_hash=rows.leaf_hash,
        )

    async def batches() -> AsyncGenerator[Batch, None]:
        if read_now is not None:
            for start in range(0, latest, chunk):
                yield batch(read_now(start, min(start + chunk, latest)))
            return
        ahead = read(0)  # the next chunk is read while this one is checked
        try:
            for start in range(0, latest, chunk):
                rows = await ahead
                if start + chunk < latest:
                    ahead = read(start + chunk)
                yield batch(rows)
        finally:
            ahead.cancel()

    notes = [(c.tree_size, c.note) for c in checkpoints]
    gen = batches()
    try:
        return await verify_batches(gen, notes, verifier_key, progress=progress)
    except RangeMismatch as exc:
        await _name_entry_in(storage, exc.start, exc.end, chunk)
        raise
    finally:
        await gen.aclose()


async def _name_entry_in(storage: Storage, start: int, end: int, chunk: int) -> None:
    """Raise the failure of the first entry in [start, end) the reference column check
    refuses, if any: the one an entry-at-a-time verifier would have named before reaching
    the checkpoint. (Only a leaf that is not a JSON object but still ends with its columns'
    canonical suffix passes the fast check and fails this one.)"""
    for s in range(start, end, chunk):
        rows = await storage.leaf_rows(s, min(s + chunk, end))
        for index, leaf, kind, message_id, outcome in zip(
            rows.index, rows.leaf, rows.kind, rows.message_id, rows.outcome, strict=False
        ):
            _check_columns(
                index, leaf, {"kind": kind, "message_id": message_id, "outcome": outcome}
            )
