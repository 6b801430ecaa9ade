"""Storage benchmark: durable commits/s of a typical message transaction, group commit vs
one fsync per transaction, and audit events/s appended in batches.

    .venv/bin/python -m bench.bench_storage [--quick] [--dir /path/on/the/real/disk] [--json F]

`--json` writes the figures storage.append (1 committer) and storage.append64 (64
committers): transactions/s against raw sqlite3 writing the same rows with the same
durability in the same round (target ratio >= 0.5).

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
from dataclasses import dataclass
from pathlib import Path

from bench import figures
from bench.figures import Figure
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


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float  # transactions per wall-clock second
    cpu_us: float  # process CPU µs per transaction (every thread)
    per_commit: float  # transactions per COMMIT


async def _storage_commits(path: Path, total: int, concurrency: int) -> Rate:
    storage = SqliteStorage(path)
    await storage.open()
    txs = [typical_tx(n) for n in range(total)]
    queue: Iterator[Transaction] = iter(txs)

    async def committer() -> None:
        for tx in queue:  # the shared iterator hands each task its next transaction
            await storage.commit(tx)

    batches0 = storage.committer.batches
    cpu0, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(committer() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    batches = storage.committer.batches - batches0
    await storage.close()
    return Rate(total / elapsed, cpu / total * 1e6, total / batches)


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


def _raw_commits(path: Path, total: int) -> Rate:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    apply_migrations(conn)
    txs = [typical_tx(n) for n in range(total)]
    cpu0, start = time.process_time(), time.perf_counter()
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
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    conn.close()
    return Rate(total / elapsed, cpu / total * 1e6, 1.0)


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


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int  # raw / 1 committer / 64 committers, interleaved, this many times
    raw: int
    one: int
    many: int
    event_batches: int
    search_events: int


QUICK = Sizes(rounds=3, raw=50, one=50, many=500, event_batches=8, search_events=50_000)
FULL = Sizes(rounds=5, raw=500, one=500, many=10_000, event_batches=100, search_events=2_000_000)


def append_rates(folder: Path, sizes: Sizes) -> dict[str, list[Rate]]:
    """Raw sqlite3, 1 committer and 64 committers, interleaved round by round so the
    disk's and the machine's moods touch all three alike; fresh databases each round."""
    out: dict[str, list[Rate]] = {"raw": [], "one": [], "many": []}
    for r in range(sizes.rounds):
        out["raw"].append(_raw_commits(folder / f"raw{r}.db", sizes.raw))
        out["one"].append(asyncio.run(_storage_commits(folder / f"one{r}.db", sizes.one, 1)))
        out["many"].append(asyncio.run(_storage_commits(folder / f"many{r}.db", sizes.many, 64)))
    return out


def append_figures(rates: dict[str, list[Rate]]) -> list[Figure]:
    """storage.append and storage.append64: each round's ratio to the raw rate of the same
    round; the figure is the median round (by ratio)."""
    raw = rates["raw"]
    out = []
    for key, name, committers in (
        ("storage.append", "one", 1),
        ("storage.append64", "many", 64),
    ):
        ratios = [g.per_second / b.per_second for g, b in zip(rates[name], raw, strict=True)]
        mid = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
        g, b = rates[name][mid], raw[mid]
        out.append(
            Figure(
                key=key,
                label=f"durable message transactions/s, {committers} concurrent committer"
                + ("s" if committers > 1 else ""),
                value=g.per_second,
                unit="tx/s",
                baseline_label="raw sqlite3 inserts of the same rows, 1 COMMIT each (FULL)",
                baseline=b.per_second,
                ratio=ratios[mid],
                op=">=",
                target=0.5,
                detail=(
                    f"{g.per_commit:.1f} tx per COMMIT; CPU {g.cpu_us:.0f} µs/tx "
                    f"(raw {b.cpu_us:.0f}); {len(ratios)} rounds, ratios "
                    + ", ".join(f"{x:.2f}" for x in ratios)
                ),
                samples=ratios,
            )
        )
    return out


def run(folder: Path, sizes: Sizes) -> tuple[dict[str, float], list[Figure]]:
    rates = append_rates(folder, sizes)
    figs = append_figures(rates)
    results: dict[str, float] = {}
    for name, label in (
        ("raw", "raw sqlite3, 1 commit per tx"),
        ("one", "gateway storage, 1 committer"),
        ("many", "gateway storage, 64 committers"),
    ):
        results[f"{label} (tx/s)"] = figures.median(r.per_second for r in rates[name])
        results[f"  CPU per tx, {label} (µs)"] = figures.median(r.cpu_us for r in rates[name])
    results["  mean transactions per COMMIT (64 committers)"] = figures.median(
        r.per_commit for r in rates["many"]
    )
    per_batch = 256
    results[f"events appended, {per_batch} per tx (events/s)"] = asyncio.run(
        _storage_events(folder / "events.db", sizes.event_batches, per_batch)
    )
    count = sizes.search_events
    _fill_events(folder / "search.db", count)
    for name, ms in asyncio.run(_search_latency(folder / "search.db", count)).items():
        results[f"search on {count:,} events: {name} (ms)"] = ms
    return results, figs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer transactions (< 15 s)")
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go")
    parser.add_argument("--json", type=Path, help="write the budget figures here (bench.figures)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-storage-") as tmp:
        results, figs = run(Path(tmp), QUICK if args.quick else FULL)
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:>12,.2f}")
    for f in figs:
        print(f"{f.key:18} ratio {f.ratio:5.2f} (target {f.op} {f.target}): {f.detail}")
    figures.write(args.json, figs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
