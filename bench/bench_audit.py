"""The audit log at scale, on the real SQLite storage: inclusion-proof time at 10^3 entries
vs 10^6 and 10^7, full verification rate (the `gateway audit verify` path) beside bare
SHA-256 of the same leaf bytes, durable append and tree integration rates, database size.

    .venv/bin/python -m bench.bench_audit --entries 1000000 --big   # full: 10^3, 10^6, 10^7
    .venv/bin/python -m bench.bench_audit --entries 100000          # quick: 10^3 vs 10^5
    [--dir DIR] [--json PATH] [--runs N]

The first 10,000 entries go through the storage's own writes (`Storage.commit`, 5,000
events a durable commit, then the real `Sequencer` integrating and signing checkpoints):
the append and integration rates printed are theirs. The rest is bulk-built with the same
SQL in transactions of 2^17 entries, the tree nodes computed by `gateway.audit.tree` (and
their tiles stored by the storage's own `save_tiles`), and
the `Sequencer` signs a checkpoint every 10^6 entries. The leaves are real canonical audit
events (one template, checked against `leaf_bytes`). The databases are in a temporary
directory unless --dir is given; --big needs ~7 GB there and takes a few minutes.

Proof time is the API's work for one proof: `tree.inclusion_proof` over the storage's node
reader (one SQL read of O(log n) nodes + assembling), called directly (the HTTP route adds
a thread hop), median over many random leaves after a warm-up (warm caches). The 10^3 log
is a second database measured in the same rounds, alternating with the big one.

Verification is `verify_storage` as `gateway audit verify` runs it (offline: SQLite chunks
read on the verifying thread; every leaf hash against the stored level-0 node and the
signed checkpoints' roots, the search columns against the leaf) in CPU seconds of the
process (every thread), against `hashlib.sha256(b"\\x00" + leaf)` of the
same leaves, median of --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench import figures as budget
from gateway import crypto
from gateway.audit import tree
from gateway.audit.checkpoint import verifier_key
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.audit.merkle import leaf_hash
from gateway.audit_verify import verify_storage
from gateway.sequencer import Sequencer
from gateway.storage import open_storage
from gateway.storage import sqlite_writes as writes
from gateway.storage.base import EventRow, Transaction
from gateway.storage.sqlite import SqliteStorage

ORIGIN = "bench.gateway/audit"
REALISTIC = 10_000  # entries written through Storage.commit and the Sequencer
COMMIT = 5000  # events per durable commit there
INTEGRATE = 5_000  # events per sequencer round there (one signed checkpoint each)
BULK = 1 << 17  # entries per bulk transaction beyond REALISTIC
BULK_CHECKPOINT = 1_000_000  # a signed checkpoint every so many bulk entries
START = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
_START_US = int(START.timestamp()) * 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The leaf of a DELIVERED event, as leaf_bytes writes it (checked in `check_template`).
_TEMPLATE = (
    b'{"actor":{"id":"gateway","type":"gateway"},"at":"%s","body_sha256":{"sent":"%s"},'
    b'"details":{"attempt":1,"recipient":"sa-psd","status":202},"kind":"delivered",'
    b'"message_id":"%s","outcome":"verified","v":1}'
)


def _leaf(i: int) -> tuple[bytes, str]:
    """Entry i: one event a millisecond from START, ~4 events a message."""
    seconds, ms = divmod(i, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    assert hours < 24, "the template keeps every event on one day"
    at = f"2026-11-29T{hours:02d}:{minute:02d}:{sec:02d}.{ms:03d}000Z"
    digest = hashlib.sha256(b"%d" % i).hexdigest()
    mid = f"6f1c3a52-8d0e-4d55-9a3b-{i // 4:012d}"
    return _TEMPLATE % (at.encode(), digest.encode(), mid.encode()), mid


def event_rows(start: int, n: int) -> list[EventRow]:
    out = []
    for i in range(start, start + n):
        leaf, mid = _leaf(i)
        at = START + dt.timedelta(milliseconds=i)
        out.append(EventRow(leaf, "delivered", at, mid, "sa-psd", "verified"))
    return out


def _sql_rows(start: int, n: int) -> list[tuple[object, ...]]:
    """The same entries as `event_rows`, as the storage's INSERT INTO events parameters."""
    out: list[tuple[object, ...]] = []
    for i in range(start, start + n):
        leaf, mid = _leaf(i)
        out.append((i, leaf, "delivered", _START_US + 1000 * i, mid, "sa-psd", "verified"))
    return out


def check_template() -> None:
    for i in (0, 1, 12345, 86_399_999):
        at = START + dt.timedelta(milliseconds=i)
        digest = hashlib.sha256(b"%d" % i).hexdigest()
        mid = f"6f1c3a52-8d0e-4d55-9a3b-{i // 4:012d}"
        ev = AuditEvent(
            kind=EventKind.DELIVERED,
            at=at,
            actor={"type": "gateway", "id": "gateway"},
            message_id=mid,
            outcome="verified",
            body_sha256={"sent": digest},
            details={"recipient": "sa-psd", "attempt": 1, "status": 202},
        )
        assert _leaf(i)[0] == leaf_bytes(ev), "the leaf template is stale"
        assert _sql_rows(i, 1)[0][3] == (at - _EPOCH) // dt.timedelta(microseconds=1)


class Log:
    """One SQLite audit log with its sequencer."""

    def __init__(self, path: Path, key: crypto.PrivateKey) -> None:
        self.storage = open_storage(f"sqlite:///{path}")
        assert isinstance(self.storage, SqliteStorage)
        self.path = path
        self.size = 0
        self.seq = Sequencer(
            self.storage,
            origin=ORIGIN,
            sign=key.sign,
            key_name=ORIGIN,
            public_key=key.public,
            clock=lambda: dt.datetime.now(dt.UTC),
            batch=INTEGRATE,
        )

    async def grow(self, upto: int) -> tuple[float, float]:
        """Append and integrate up to `upto` entries through the storage and the sequencer;
        (append, integrate) seconds."""
        append_s = integrate_s = 0.0
        while self.size < upto:
            n = min(COMMIT, upto - self.size)
            rows = event_rows(self.size, n)
            t = time.perf_counter()
            await self.storage.commit(Transaction(events=rows))
            append_s += time.perf_counter() - t
            self.size += n
            if self.size % INTEGRATE == 0 or self.size == upto:
                t = time.perf_counter()
                assert await self.seq.integrate() == self.size
                integrate_s += time.perf_counter() - t
        return append_s, integrate_s

    async def bulk_grow(self, upto: int) -> None:
        """Append up to `upto` entries with the storage's own SQL in big transactions, the
        nodes computed by gateway.audit.tree, a checkpoint signed every BULK_CHECKPOINT."""
        reader = self.storage.node_reader()
        store = tree.MemoryNodeStore()
        store.nodes = await asyncio.to_thread(reader.get_nodes, tree.frontier_keys(self.size))
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            # building, not measuring: no fsync, a page cache that holds the indexes' ends
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -262144")
            while self.size < upto:
                n = min(BULK, upto - self.size)
                rows = _sql_rows(self.size, n)
                hashes = [leaf_hash(r[1]) for r in rows]  # type: ignore[arg-type]
                nodes = tree.append_leaves(store, self.size, hashes)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO events (idx, leaf, kind, at, message_id, participant, outcome)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)",
                    [(level, idx, h) for (level, idx), h in nodes],
                )
                writes.save_tiles(conn, [key for key, _ in nodes])  # as save_tree does
                before, self.size = self.size, self.size + n
                conn.execute("UPDATE tree_head SET size = ? WHERE id = 0", (self.size,))
                conn.execute("COMMIT")
                known = store.nodes | dict(nodes)
                store.nodes = {k: known[k] for k in tree.frontier_keys(self.size)}
                if self.size // BULK_CHECKPOINT > before // BULK_CHECKPOINT or self.size == upto:
                    assert await self.seq.integrate() == self.size  # signs from the nodes
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def db_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))


def proof_rounds(
    small: Log, big: Log, rounds: int = 7, per_round: int = 300
) -> tuple[float, float, list[float]]:
    """Median µs of CPU (this thread's: the SQL read runs in it) per inclusion proof in
    `small` and `big`, alternating rounds so both see the same noise; each round's value is
    the median of `per_round` random leaves. Also the per-round ratios."""
    rng = random.Random(7)
    times: dict[int, list[float]] = {small.size: [], big.size: []}
    readers = {small.size: small.storage.node_reader(), big.size: big.storage.node_reader()}
    ratios = []
    clock = time.thread_time
    for r in range(rounds + 1):  # round 0 warms the caches and is dropped
        per: dict[int, float] = {}
        for size in (small.size, big.size):
            reader, sample = readers[size], []
            for _ in range(per_round):
                i = rng.randrange(size)
                t = clock()
                tree.inclusion_proof(reader, i, size)
                sample.append(clock() - t)
            per[size] = statistics.median(sample) * 1e6
        if r:
            times[small.size].append(per[small.size])
            times[big.size].append(per[big.size])
            ratios.append(per[big.size] / per[small.size])
    return statistics.median(times[small.size]), statistics.median(times[big.size]), ratios


async def verification(log: Log, vkey: str, runs: int) -> tuple[float, float, list[float]]:
    """(verify entries/s, SHA-256 entries/s), medians over `runs` (CPU time), and the
    per-run ratios."""
    size = log.size
    leaves: list[bytes] = []
    for s in range(0, size, 50_000):
        leaves.extend(r.leaf for r in await log.storage.get_events(s, min(s + 50_000, size)))
    verify_rates, sha_rates, ratios = [], [], []
    sha = hashlib.sha256
    for _ in range(runs):
        t = time.process_time()
        report = await verify_storage(log.storage, vkey, offline=True)  # as the CLI
        v = time.process_time() - t
        assert report.entries == size
        t = time.process_time()
        for leaf in leaves:
            sha(b"\x00" + leaf).digest()
        h = time.process_time() - t
        verify_rates.append(size / v)
        sha_rates.append(size / h)
        ratios.append(h / v)
    return statistics.median(verify_rates), statistics.median(sha_rates), ratios


def _exp(n: int) -> str:
    import math

    e = round(math.log10(n))
    return f"10^{e}" if 10**e == n else f"{n:,}"


async def run(entries: int, big: bool, runs: int, directory: Path) -> list[budget.Figure]:
    check_template()
    key = crypto.generate()
    vkey = verifier_key(ORIGIN, key.public)
    small = Log(directory / "small.db", key)
    main = Log(directory / "audit.db", key)
    for log in (small, main):
        await log.storage.open()
    try:
        await small.grow(1000)
        wall = time.perf_counter()
        append_s, integrate_s = await main.grow(min(entries, REALISTIC))
        await main.bulk_grow(entries)
        build_s = time.perf_counter() - wall
        print(f"audit log, {main.size:,} entries (~{len(event_rows(0, 1)[0].leaf)} B leaves)")
        first = min(entries, REALISTIC)
        print(
            f"  durable append       : {first / append_s:10,.0f} events/s "
            f"({COMMIT} per commit, first {first:,} entries)"
        )
        print(
            f"  tree integration     : {first / integrate_s:10,.0f} events/s "
            f"({INTEGRATE:,} per signed checkpoint, first {first:,} entries)"
        )
        print(
            f"  database size        : {main.db_bytes() / main.size * 1e6 / 2**20:8.0f} MiB "
            "per million entries"
        )
        p_small, p_mid, mid_ratios = proof_rounds(small, main)
        print(
            f"  inclusion proof      : {p_small:8.1f} µs at 10^3, {p_mid:8.1f} µs at "
            f"{_exp(main.size)} (CPU; ratio {statistics.median(mid_ratios):.2f}, per round "
            f"{min(mid_ratios):.2f}..{max(mid_ratios):.2f})"
        )
        v_rate, sha_rate, v_ratios = await verification(main, vkey, runs)
        print(
            f"  full verification    : {v_rate:10,.0f} entries/s (CPU) vs bare SHA-256 "
            f"{sha_rate:,.0f}/s: ratio {statistics.median(v_ratios):.3f} "
            f"(runs {', '.join(f'{r:.3f}' for r in v_ratios)})"
        )
        mid_size, p_big, big_ratios = main.size, p_mid, mid_ratios
        if big:
            wall = time.perf_counter()
            await main.bulk_grow(10 * entries)
            build_s += time.perf_counter() - wall
            p_small, p_big, big_ratios = proof_rounds(small, main)
            print(
                f"  inclusion proof      : {p_small:8.1f} µs at 10^3, {p_big:8.1f} µs at "
                f"{_exp(main.size)} (CPU; ratio {statistics.median(big_ratios):.2f}, per round "
                f"{min(big_ratios):.2f}..{max(big_ratios):.2f})"
            )
            print(
                f"  database size        : {main.db_bytes() / 2**30:8.1f} GiB at {_exp(main.size)}"
            )
        print(f"  (building the logs took {build_s:.0f} s)")
    finally:
        for log in (small, main):
            await log.storage.close()
    ratio = statistics.median(big_ratios)
    detail = (
        f"CPU µs; median of {len(big_ratios)} alternating rounds x 300 random leaves, warm cache"
    )
    if big:
        detail = (
            f"{_exp(mid_size)}: {p_mid:.0f} µs ({statistics.median(mid_ratios):.2f}x); " + detail
        )
    return [
        budget.Figure(
            key="audit.proof",
            label=f"inclusion proof at {_exp(main.size)} entries (SQLite, node read + assembling)",
            value=p_big,
            unit="µs",
            baseline_label="proof at 10^3 entries",
            baseline=p_small,
            ratio=ratio,
            op="<=",
            target=3.0,
            detail=detail,
            samples=big_ratios,
        ),
        budget.Figure(
            key="audit.verify",
            label=f"full audit verification at {_exp(mid_size)} entries, entries/s (CPU)",
            value=v_rate,
            unit="entries/s",
            baseline_label="SHA-256 of the same leaf bytes alone",
            baseline=sha_rate,
            ratio=statistics.median(v_ratios),
            op=">=",
            target=0.3,
            detail=f"median of {runs} runs; leaf hash, stored leaf hash, columns, checkpoints",
            samples=v_ratios,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--big", action="store_true", help="then grow the log to 10x (10^7)")
    ap.add_argument("--runs", type=int, default=3, help="verification runs (median)")
    ap.add_argument("--dir", type=Path, help="where the databases go (default: a temp dir)")
    ap.add_argument("--json", type=Path, help="write the budget figures here")
    args = ap.parse_args()
    tmp = None
    directory = args.dir
    if directory is None:
        tmp = directory = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        figs = asyncio.run(run(args.entries, args.big, args.runs, directory))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    budget.write(args.json, figs)


if __name__ == "__main__":
    main()
