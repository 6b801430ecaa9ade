"""Storage benchmark: durable commits/s of a typical message transaction, group commit vs
one fsync per transaction, and audit events/s appended in batches.

    .venv/bin/python -m bench.bench_storage [--quick] [--dir /path/on/the/real/disk]

A typical message transaction is what `POST /v1/messages` writes: 6 audit events (~400 B
leaves), 3 bodies (~2 KiB: the original and two translations), 2 deliveries, the nonce
and the message row. "raw sqlite3" writes the same rows on the same schema with the same
durability (WAL, synchronous=FULL) and one COMMIT per transaction, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gateway.storage import (
    BodyRow,
    EventFilter,
    EventRow,
    MessageRow,
    NewDelivery,
    NonceRow,
    SqliteStorage,
    Transaction,
)
from gateway.storage.sqlite_migrations import apply_migrations

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
T0_US = int(T0.timestamp() * 1_000_000)


def typical_tx(n: int) -> Transaction:
    mid = f"bench-{n:08d}"
    bodies = [
        BodyRow(hashlib.sha256(data).hexdigest(), data, "application/json")
        for data in (f"{mid}:{part}:".encode() + os.urandom(1000).hex().encode() for part in "abc")
    ]
    leaf = b'{"kind":"x","pad":"' + b"p" * 360 + b'","m":"' + mid.encode() + b'"}'
    return Transaction(
        events=[EventRow(leaf + bytes([i]), "received", T0, mid, "s") for i in range(6)],
        nonce=NonceRow("key-1", f"nonce-{n}", T0),
        message=MessageRow(
            "s", mid, bodies[0].sha256, "publish", f"N:{n}", T0, b"{}", 0, "k", "sig"
        ),
        bodies=bodies,
        deliveries=[
            NewDelivery(
                f"{mid}:{r}", mid, "s", r, f"N:{n}", "publish", bodies[i + 1].sha256,
                "application/json", f"gw-{mid}-{r}", T0,
            )
            for i, r in enumerate(("r1", "r2"))
        ],
    )  # fmt: skip


# ---- the gateway's backend -------------------------------------------------------------------


async def _storage_commits(path: Path, total: int, concurrency: int) -> tuple[float, int]:
    storage = SqliteStorage(path)
    await storage.open()
    txs = [typical_tx(n) for n in range(total)]
    queue: Iterator[Transaction] = iter(txs)

    async def committer() -> None:
        for tx in queue:  # the shared iterator hands each task its next transaction
            await storage.commit(tx)

    start = time.perf_counter()
    await asyncio.gather(*(committer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    batches = storage.committer.batches
    await storage.close()
    return total / elapsed, batches


async def _storage_events(path: Path, batches: int, per_batch: int) -> float:
    storage = SqliteStorage(path)
    await storage.open()
    leaf = b'{"kind":"refused","pad":"' + b"p" * 370 + b'"}'
    txs = [
        Transaction(
            events=[EventRow(leaf, "refused", T0, None, "s", "bad") for _ in range(per_batch)]
        )
        for _ in range(batches)
    ]
    start = time.perf_counter()
    for tx in txs:
        await storage.commit(tx)
    elapsed = time.perf_counter() - start
    await storage.close()
    return batches * per_batch / elapsed


# ---- raw sqlite3, one COMMIT per transaction ---------------------------------------------------


def _raw_commits(path: Path, total: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    apply_migrations(conn)
    txs = [typical_tx(n) for n in range(total)]
    start = time.perf_counter()
    idx = 0
    for tx in txs:
        assert tx.message is not None and tx.nonce is not None
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO nonces VALUES (?, ?, ?)", (tx.nonce.keyid, tx.nonce.nonce, 0))
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(idx + i, e.leaf, e.kind, T0_US, e.message_id, e.participant, e.outcome)
             for i, e in enumerate(tx.events)],
        )  # fmt: skip
        conn.executemany(
            "INSERT OR IGNORE INTO bodies (sha256, body, media_type, stored_at) VALUES (?,?,?,?)",
            [(b.sha256, b.body, b.media_type, T0_US) for b in tx.bodies],
        )
        m = tx.message
        conn.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.sender, m.message_id, m.body_sha256, m.kind, m.notice_key, T0_US, m.outcome,
             idx, m.keyid, m.signature),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO deliveries (delivery_id, message_id, sender, recipient, notice_key, kind,"
            " body_sha256, media_type, delivered_message_id, state, next_attempt_at, created_at,"
            " updated_at, losses) VALUES (?,?,?,?,?,?,?,?,?,'pending',?,?,?,?)",
            [(d.delivery_id, d.message_id, d.sender, d.recipient, d.notice_key, d.kind,
              d.body_sha256, d.media_type, d.delivered_message_id, T0_US, T0_US, T0_US, d.losses)
             for d in tx.deliveries],
        )  # fmt: skip
        conn.execute("COMMIT")
        idx += len(tx.events)
    elapsed = time.perf_counter() - start
    conn.close()
    return total / elapsed


# ---- search on a large log ----------------------------------------------------------------------


def _fill_events(path: Path, count: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    apply_migrations(conn)
    leaf = b"x" * 400
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (i, leaf, f"k{i % 12}", T0_US + i * 1000, f"m{i // 6}", f"p{i % 40}",
             "ok" if i % 50 else "refused")
            for i in range(count)
        ),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


async def _search_latency(path: Path, count: int) -> dict[str, float]:
    storage = SqliteStorage(path)
    await storage.open()
    cases: dict[str, Callable[[], object]] = {
        "newest page, no filter": lambda: storage.search_events(EventFilter(), 50),
        "participant, deep cursor": lambda: storage.search_events(
            EventFilter(participant="p7"), 50, before=count // 3
        ),
        "kind+outcome, oldest first": lambda: storage.search_events(
            EventFilter(kind="k3", outcome="refused"), 50, after=count // 2
        ),
        "one message": lambda: storage.search_events(EventFilter(message_id=f"m{count // 12}"), 50),
    }
    out: dict[str, float] = {}
    for name, call in cases.items():
        rounds = 50
        start = time.perf_counter()
        for _ in range(rounds):
            await call()  # type: ignore[misc]
        out[name] = (time.perf_counter() - start) / rounds * 1000
    await storage.close()
    return out


def run(folder: Path, quick: bool) -> dict[str, float]:
    seq, conc, raw = (300, 3000, 300) if quick else (1000, 20000, 1000)
    results: dict[str, float] = {}
    results["raw sqlite3, 1 commit per tx (tx/s)"] = _raw_commits(folder / "raw.db", raw)
    one, _ = asyncio.run(_storage_commits(folder / "one.db", seq, 1))
    results["gateway storage, 1 committer (tx/s)"] = one
    many, batches = asyncio.run(_storage_commits(folder / "many.db", conc, 64))
    results["gateway storage, 64 committers (tx/s)"] = many
    results["  mean transactions per COMMIT (64 committers)"] = conc / batches
    per_batch = 256
    results[f"events appended, {per_batch} per tx (events/s)"] = asyncio.run(
        _storage_events(folder / "events.db", 20 if quick else 100, per_batch)
    )
    count = 200_000 if quick else 2_000_000
    _fill_events(folder / "search.db", count)
    for name, ms in asyncio.run(_search_latency(folder / "search.db", count)).items():
        results[f"search on {count:,} events: {name} (ms)"] = ms
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer transactions")
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-storage-") as tmp:
        results = run(Path(tmp), args.quick)
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:>12,.2f}")
    raw = results["raw sqlite3, 1 commit per tx (tx/s)"]
    one = results["gateway storage, 1 committer (tx/s)"]
    many = results["gateway storage, 64 committers (tx/s)"]
    print(f"ratio 1 committer / raw     {one / raw:6.2f}x")
    print(f"ratio 64 committers / raw   {many / raw:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
