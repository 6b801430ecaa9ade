"""In-process pipeline messages/s per core, each direction, against the cryptographic floor
measured in the same run (issue "Benchmarks"; docs/performance.md).

    .venv/bin/python -m bench.bench_pipeline [--messages N] [--runs R] [--json FILE]

- INTERPOL → GCC: a red notice about a Saudi national, routed to 2 GCC recipients
  (gccpol-hub, sa-psd): verify, decode, route, 2 encodes, 4 audit events, 1 durable commit.
- GCC → INTERPOL: a missing-person alert from ae-moi, routed to 1 recipient (ipsg).

Each message goes through `gateway.ingress.accept_message` with real signatures and a real
SQLite database (group commit, synchronous=FULL as configured), no HTTP. "Per core" is
messages per CPU-second of this process (all its threads, the storage writer included),
which is what a core can sustain and less disturbed than wall time by other load on the
machine; wall-clock rates are printed beside it.

The floor is what no implementation can avoid per message: one Ed25519 verify (the
request), two signs (the receipt; the delivery), and SHA-256 over the body twice (the
Content-Digest check and the stored body's digest) — measured with the gateway's own
backend (libsodium) on this machine, in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
import timeit
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.profile_ingress import drive
from gateway import crypto
from tests.messages import gcc_missing, interpol_red

DIRECTIONS = {"interpol": "INTERPOL -> GCC (2 recipients)", "gccpol": "GCC -> INTERPOL (1)"}


def floor_us(body: bytes, repeat: int = 7, number: int = 2000) -> float:
    """µs of the unavoidable cryptography for one message with this body."""
    key = crypto.generate()
    base = b"x" * 320  # about the size of an RFC 9421 signature base
    signature = key.sign(base)

    def one() -> None:
        crypto.verify(key.public, signature, base)
        key.sign(base)
        key.sign(base)
        hashlib.sha256(body).digest()
        hashlib.sha256(body).digest()

    return min(timeit.repeat(one, number=number, repeat=repeat)) / number * 1e6


@dataclass(frozen=True, slots=True)
class Figures:
    direction: str
    per_core: float  # messages per CPU-second
    wall: float  # messages per wall-clock second
    cpu_us: float  # CPU µs per message
    floor_us: float
    ratio: float  # floor / cpu_us: the share of a message's CPU the floor is


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    bodies = {"interpol": interpol_red(), "gccpol": gcc_missing()}
    out: list[Figures] = []
    for direction, label in DIRECTIONS.items():
        walls, cpus, floors = [], [], []
        for _ in range(args.runs):  # the floor beside each run; its best is the least disturbed
            floors.append(floor_us(bodies[direction]))
            wall, cpu_us = asyncio.run(_one(direction, args.messages))
            walls.append(wall)
            cpus.append(cpu_us)
        floor = min(floors)
        cpu_us = statistics.median(cpus)
        out.append(
            Figures(
                direction=label,
                per_core=1e6 / cpu_us,
                wall=statistics.median(walls),
                cpu_us=cpu_us,
                floor_us=floor,
                ratio=floor / cpu_us,
            )
        )
    print(f"in-process pipeline, {args.messages} messages x {args.runs} runs (medians)")
    for f in out:
        print(
            f"  {f.direction:32} {f.per_core:7.0f} msg/s per core ({f.cpu_us:6.0f} µs CPU), "
            f"{f.wall:7.0f} msg/s wall; crypto floor {f.floor_us:5.0f} µs "
            f"= {1e6 / f.floor_us:6.0f} msg/s; ratio {f.ratio:.2f} (target >= 0.35)"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in out], indent=2))


async def _one(direction: str, messages: int) -> tuple[float, float]:
    """(wall msg/s, CPU µs per message) of one run, CPU time of the timed part only."""
    timed = _CpuOfRun()
    with tempfile.TemporaryDirectory() as tmp:
        run = await drive(
            Path(tmp) / "config",
            direction,
            messages,
            concurrency=32,
            profile=False,
            on_start=timed.start,
            on_stop=timed.stop,
        )
    return run.messages / run.seconds, timed.seconds / run.messages * 1e6


class _CpuOfRun:
    """Process CPU time (every thread) between start() and stop()."""

    def __init__(self) -> None:
        self._at = 0.0
        self.seconds = 0.0

    def start(self) -> None:
        self._at = time.process_time()

    def stop(self) -> None:
        self.seconds = time.process_time() - self._at


if __name__ == "__main__":
    main()
