"""The audit log at scale, on the real SQLite storage: durable append rate, integration into
the Merkle tree with signed checkpoints, inclusion-proof time at 10^3 vs 10^6 entries (read
from the database), full verification rate (the `gateway audit verify` path) beside bare
SHA-256 of the same leaf bytes, and the database size per million entries.

    .venv/bin/python -m bench.bench_audit [--entries 1000000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from gateway import crypto
from gateway.audit import tree
from gateway.audit.checkpoint import verifier_key
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.audit_verify import Entry, verify_entries
from gateway.sequencer import Sequencer
from gateway.storage import open_storage
from gateway.storage.base import EventRow, Storage, Transaction

BATCH = 1000
ORIGIN = "bench.gateway/audit"


def leaves(start: int, n: int) -> list[EventRow]:
    at = dt.datetime(2026, 11, 29, tzinfo=dt.UTC) + dt.timedelta(milliseconds=start)
    rows = []
    for i in range(start, start + n):
        ev = AuditEvent(
            kind=EventKind.DELIVERED,
            at=at,
            actor={"type": "gateway", "id": "gateway"},
            message_id=f"6f1c3a52-8d0e-4d55-9a3b-{i:012d}",
            outcome="verified",
            body_sha256={"sent": hashlib.sha256(str(i).encode()).hexdigest()},
            details={"recipient": "sa-psd", "attempt": 1, "status": 202},
        )
        rows.append(
            EventRow(leaf_bytes(ev), ev.kind.value, at, ev.message_id, "sa-psd", "verified")
        )
    return rows


def proof_time(storage: Storage, size: int, samples: int = 200) -> float:
    reader = storage.node_reader()
    rng = random.Random(7)
    times = []
    for _ in range(samples):
        i = rng.randrange(size)
        t = time.perf_counter()
        tree.inclusion_proof(reader, i, size)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def run(entries: int, directory: Path) -> None:
    storage = open_storage(f"sqlite:///{directory / 'audit.db'}")
    await storage.open()
    key = crypto.generate()
    seq = Sequencer(
        storage,
        origin=ORIGIN,
        sign=key.sign,
        key_name=ORIGIN,
        public_key=key.public,
        clock=lambda: dt.datetime.now(dt.UTC),
    )
    # 1. durable appends: one commit per batch of BATCH events (a busy gateway's group commit)
    t = time.perf_counter()
    proofs_small: float | None = None
    for start in range(0, entries, BATCH):
        await storage.commit(Transaction(events=leaves(start, min(BATCH, entries - start))))
        if start + BATCH == 1000:
            await seq.integrate()
            proofs_small = proof_time(storage, 1000)
    append_s = time.perf_counter() - t
    # 2. integration into the tree + checkpoint
    t = time.perf_counter()
    size = await seq.integrate()
    integrate_s = time.perf_counter() - t
    # 3. proofs at full size
    proofs_big = proof_time(storage, size)
    # 4. full verification, the CLI's path
    checkpoints = await storage.checkpoints(limit=1_000_000)
    vkey = verifier_key(ORIGIN, key.public)
    reader = storage.node_reader()

    async def stream() -> AsyncIterator[Entry]:
        for s in range(0, size, 5000):
            rows = await storage.get_events(s, min(s + 5000, size))
            stored = await asyncio.to_thread(reader.get_nodes, [(0, r.index) for r in rows])
            for r in rows:
                yield Entry(
                    r.index,
                    r.leaf,
                    {"kind": r.kind, "message_id": r.message_id, "outcome": r.outcome},
                    stored.get((0, r.index)),
                )

    t = time.perf_counter()
    report = await verify_entries(stream(), [(c.tree_size, c.note) for c in checkpoints], vkey)
    verify_s = time.perf_counter() - t
    all_leaves = [
        r.leaf
        for s in range(0, size, 20000)
        for r in await storage.get_events(s, min(s + 20000, size))
    ]
    t = time.perf_counter()
    for leaf in all_leaves:
        hashlib.sha256(b"\x00" + leaf).digest()
    sha_s = time.perf_counter() - t
    await storage.close()
    db_bytes = sum(p.stat().st_size for p in directory.glob("audit.db*"))
    print(f"audit log, {size:,} entries (~{len(all_leaves[0])} B leaves)")
    print(f"  durable append       : {size / append_s:10,.0f} events/s ({BATCH} per commit)")
    print(f"  tree integration     : {size / integrate_s:10,.0f} events/s (+ signed checkpoint)")
    assert proofs_small is not None
    print(
        f"  inclusion proof      : {proofs_small * 1e6:8.1f} us at 10^3, "
        f"{proofs_big * 1e6:8.1f} us at {size:,} ({proofs_big / proofs_small:.2f}x)"
    )
    print(
        f"  full verification    : {report.entries / verify_s:10,.0f} entries/s vs bare SHA-256 "
        f"{size / sha_s:,.0f}/s (ratio {sha_s / verify_s:.3f})"
    )
    print(f"  database size        : {db_bytes / size * 1e6 / 2**20:8.0f} MiB per million entries")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path)
    args = ap.parse_args()
    if args.dir:
        asyncio.run(run(args.entries, args.dir))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args.entries, Path(tmp)))


if __name__ == "__main__":
    main()
