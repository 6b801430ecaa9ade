"""Where the time of one accepted message goes: cProfile over `gateway.ingress.accept_message`
with real SQLite storage and real signatures, in process (no HTTP).

    .venv/bin/python -m bench.profile_ingress [--messages N] [--direction interpol|gccpol]
                                              [--top K] [--stages-only]
    .venv/bin/python -m bench.profile_ingress --pyinstrument tmp/ingress.html


Prints a per-stage table (cumulative main-thread CPU µs per message of the functions that
make up the pipeline, docs/performance.md) and then the top K functions by cumulative time. The
profiler inflates pure-Python costs more than C ones: read the table for proportions,
and bench.bench_pipeline for rates. ``--pyinstrument PATH`` samples the same run with
pyinstrument instead (1 ms interval, much less inflation): it prints the call tree and
writes the interactive HTML (call tree and timeline) to PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.bench_config import bench_config
from gateway.config import load_config
from gateway.ingress import InboundRequest, accept_message
from gateway.runtime import Gateway, utc_now
from gateway.storage import open_storage
from tests.harness import GatewayFixture
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

# (label, module file suffix, function name): the pipeline's stages as cProfile names them.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("verify signature (RFC 9421)", "gateway/ingress.py", "verify"),
    ("decode (INTERPOL JSON)", "adapters/interpol.py", "decode_with_losses"),
    ("decode (GCC XML)", "adapters/gccpol.py", "decode_alert"),
    ("route", "gateway/routing.py", "route"),
    ("mint/merge references", "gateway/ingress.py", "with_references"),
    ("encode (all recipients)", "gateway/ingress.py", "translate_for"),
    ("  encode GCC XML", "adapters/gccpol.py", "encode_alert"),
    ("  encode GCC XML, once per schema", "adapters/gccpol.py", "encode_alerts"),
    ("  encode INTERPOL JSON", "adapters/interpol.py", "encode_message"),
    ("  encode INTERPOL JSON, per schema", "adapters/interpol.py", "encode_messages"),
    ("audit events (leaf bytes)", "gateway/audit/events.py", "leaf_bytes"),
    ("storage reads (awaited, 1 hand-off)", "gateway/storage/sqlite.py", "ingress_facts"),
    ("nonce check", "gateway/storage/sqlite.py", "nonce_seen"),
    ("storage commit (awaited)", "gateway/storage/sqlite.py", "commit"),
)


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread name
    (the reader pool's threads summed as one), from /proc/self/task/*/stat (Linux)."""
    import os
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid), "other")
        if name.startswith(("asyncio_", "ThreadPoolExecutor")):
            name = "storage readers (executor)"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def signer(cfg: GatewayFixture, direction: str) -> Callable[[], InboundRequest]:
    sender, media, make = (
        ("ipsg", INTERPOL, interpol_red)
        if direction == "interpol"
        else ("ae-moi", GCCPOL, gcc_missing)
    )

    def one() -> InboundRequest:
        body = make()
        headers = cfg.signed_headers(sender, body, media)
        return InboundRequest("POST", cfg.authority, "/v1/messages", headers, body, utc_now())

    return one


@dataclass(frozen=True, slots=True)
class Run:
    messages: int
    seconds: float
    stats: pstats.Stats | None


async def drive(
    directory: Path,
    direction: str,
    n: int,
    *,
    concurrency: int,
    profile: bool,
    on_start: Callable[[], None] = lambda: None,
    on_stop: Callable[[], None] = lambda: None,
) -> Run:
    """Accept ``n`` fresh messages, ``concurrency`` at a time, on a fresh database."""
    cfg = bench_config(directory)
    config = load_config(cfg.directory, require_signing_key=True)
    storage = open_storage(config.storage_url)
    await storage.open()
    gw = Gateway(config_dir=cfg.directory, config=config, storage=storage)
    gw.load_signing_key()
    make = signer(cfg, direction)
    requests = [make() for _ in range(n)]
    warm = [make() for _ in range(min(30, n))]
    for r in warm:  # imports, caches, the database's first pages
        await accept_message(gw, r)
    # The main thread's CPU time, not wall time: other load on the machine (and the storage
    # writer thread, which cProfile does not see) then changes the figures less.
    profiler = cProfile.Profile(time.thread_time) if profile else None
    on_start()
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for i in range(0, n, concurrency):
        await asyncio.gather(*(accept_message(gw, r) for r in requests[i : i + concurrency]))
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - start
    on_stop()
    await storage.close()
    return Run(n, seconds, pstats.Stats(profiler) if profiler is not None else None)


def stage_table(stats: pstats.Stats, messages: int) -> list[tuple[str, float, int]]:
    """(label, cumulative µs per message, calls per message x 100) for each stage found."""
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    out = []
    for label, suffix, name in STAGES:
        cum = 0.0
        calls = 0
        for (file, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == name and file.endswith(suffix):
                cum += ct
                calls += nc
        if calls:
            out.append((label, cum / messages * 1e6, round(calls * 100 / messages)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--direction", choices=("interpol", "gccpol"), default="interpol")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--stages-only", action="store_true")
    ap.add_argument("--pyinstrument", metavar="PATH", help="sample with pyinstrument, HTML here")
    args = ap.parse_args()
    if args.pyinstrument:
        sample(args)
        return
    per_thread: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run = asyncio.run(
            drive(
                Path(tmp) / "config",
                args.direction,
                args.messages,
                concurrency=args.concurrency,
                profile=True,
                on_start=lambda: per_thread.setdefault("start", thread_cpu()),
                on_stop=lambda: per_thread.setdefault("stop", thread_cpu()),
            )
        )
    assert run.stats is not None
    print(
        f"{args.messages} {args.direction} messages under cProfile: "
        f"{run.messages / run.seconds:.0f} msg/s (profiled; see bench.bench_pipeline)"
    )
    print(f"{'stage':34} {'µs/msg':>9} {'calls/msg':>10}")
    cpu = run.stats.total_tt  # type: ignore[attr-defined]  # sum of every function's own time
    print(f"{'wall time per message':34} {run.seconds / run.messages * 1e6:9.0f}")
    print(f"{'main-thread CPU per message':34} {cpu / run.messages * 1e6:9.0f}")
    for label, us, calls in stage_table(run.stats, run.messages):
        print(f"{label:34} {us:9.0f} {calls / 100:10.2f}")
    print("CPU per message by thread (main thread under cProfile; the others are not):")
    for name, seconds in sorted(per_thread["stop"].items(), key=lambda kv: -kv[1]):
        spent = seconds - per_thread["start"].get(name, 0.0)
        print(f"  {name:32} {spent / run.messages * 1e6:9.0f} µs")
    if not args.stages_only:
        run.stats.sort_stats("cumulative").print_stats(args.top)


def sample(args: argparse.Namespace) -> None:
    """The same run under pyinstrument's sampling profiler (main thread, async-aware)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="enabled")
    with tempfile.TemporaryDirectory() as tmp:
        run = asyncio.run(
            drive(
                Path(tmp) / "config",
                args.direction,
                args.messages,
                concurrency=args.concurrency,
                profile=False,
                on_start=profiler.start,
                on_stop=profiler.stop,
            )
        )
    print(
        f"{run.messages} {args.direction} messages under pyinstrument: "
        f"{run.messages / run.seconds:.0f} msg/s (sampled; see bench.bench_pipeline)"
    )
    print(profiler.output_text(unicode=True, color=False))
    out = Path(args.pyinstrument)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_html())
    print(f"HTML (call tree, timeline): {out}")


if __name__ == "__main__":
    main()
