"""Console benchmark: what the console's pages cost on a large audit log.

    .venv/bin/python -m bench.bench_console [--events 1000000] [--dir /path]

Fills a real SQLite database with N audit events spread over 30 days (mixed kinds,
outcomes, participants and message ids), then times the queries behind the console:
a timeline page (50 rows, newest first, unfiltered / by kind / by participant / by
message id, deep in the log via the keyset cursor), and the overview's chart counts
(`event_counts` over the last 24 hours, hourly buckets).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.storage import EventFilter, EventRow, SqliteStorage, Transaction

KINDS = [
    (EventKind.RECEIVED, "accepted"),
    (EventKind.TRANSLATED, "translated"),
    (EventKind.ROUTED, "routed"),
    (EventKind.DELIVERY_ATTEMPTED, "ok"),
    (EventKind.DELIVERED, "verified"),
    (EventKind.REFUSED, "signature-missing"),
    (EventKind.REFUSED, "schema-violation"),
]
PARTICIPANTS = ["ipsg", "ncb-fr", "ncb-de", "gccpol-hub", "ae-moi", "sa-psd"]


async def fill(storage: SqliteStorage, n: int, end: dt.datetime) -> None:
    span = dt.timedelta(days=30)
    batch = 20_000
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(start + batch, n)):
            kind, outcome = KINDS[i % len(KINDS)]
            at = end - span + span * (i / n)
            ev = AuditEvent(
                kind=kind,
                at=at,
                actor={"type": "participant", "id": PARTICIPANTS[i % 6]},
                outcome=outcome,
                message_id=f"m-{i // 7:08d}",
            )
            rows.append(
                EventRow(
                    leaf=leaf_bytes(ev),
                    kind=kind.value,
                    at=at,
                    message_id=ev.message_id,
                    participant=PARTICIPANTS[i % 6],
                    outcome=outcome,
                )
            )
        await storage.commit(Transaction(events=rows))


async def timed(label: str, run: Callable[[], Awaitable[object]], repeat: int = 20) -> None:
    await run()  # warm the page cache
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"{label:<52} median {statistics.median(samples):8.2f} ms  max {max(samples):8.2f} ms")


async def main(n: int, directory: Path) -> None:
    end = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    storage = SqliteStorage(str(directory / "console-bench.db"))
    await storage.open()
    try:
        t0 = time.perf_counter()
        await fill(storage, n, end)
        print(f"filled {n} events in {time.perf_counter() - t0:.1f} s")
        deep = n // 2
        since = end - dt.timedelta(hours=24)
        await timed("timeline page, newest", lambda: storage.search_events(EventFilter(), 51))
        await timed(
            "timeline page, before the middle of the log",
            lambda: storage.search_events(EventFilter(), 51, before=deep),
        )
        await timed(
            "timeline page, kind=refused, middle",
            lambda: storage.search_events(EventFilter(kind="refused"), 51, before=deep),
        )
        await timed(
            "timeline page, participant=sa-psd, middle",
            lambda: storage.search_events(EventFilter(participant="sa-psd"), 51, before=deep),
        )
        await timed(
            "timeline page, one message id",
            lambda: storage.search_events(EventFilter(message_id=f"m-{deep // 7:08d}"), 51),
        )
        await timed(
            "timeline page, kind=refused + last 24 h",
            lambda: storage.search_events(EventFilter(kind="refused", since=since), 51),
        )
        kinds = ("received", "refused", "delivered", "delivery_failed", "dead_lettered")
        await timed(
            f"overview chart counts, 24 h (~{n // 30} events)",
            lambda: storage.event_counts(since, end, dt.timedelta(hours=1), kinds),
            repeat=5,
        )
    finally:
        await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        asyncio.run(main(args.events, Path(tmp)))
