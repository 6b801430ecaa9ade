"""End-to-end messages/s on PostgreSQL with 1 and 2 gateway workers, beside 1 worker on
SQLite: same signed load (bench.loadgen, a red notice routed to 2 recipients, each request
with its own nonce and message id), same run, delivery off (ingress only, like bench_http).

Two workers are two `gateway serve` processes on one database (one schema made for the run
and dropped after); the load is split evenly between them, as a load balancer would.

    python -m bench.bench_postgres [--requests N] [--concurrency C] [--runs R] [--json FILE]

PostgreSQL: $GATEWAY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

from bench.bench_config import bench_config
from bench.bench_http import signed_requests
from bench.loadgen import LoadResult, run_load
from tests.harness import GatewayFixture, free_port
from tests.pg import schema_url

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def start_worker(
    cfg: GatewayFixture, storage_url: str | None, port: int
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = str(REPO)
    env["GATEWAY_GATEWAY__LISTEN"] = f"127.0.0.1:{port}"
    if storage_url is not None:
        env["GATEWAY_STORAGE__URL"] = storage_url
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(cfg.directory),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gateway worker on port {port} did not become ready")


@contextlib.contextmanager
def workers(cfg: GatewayFixture, storage_url: str | None, n: int) -> Iterator[list[int]]:
    ports = [free_port() for _ in range(n)]
    procs = []
    try:
        for port in ports:
            procs.append(start_worker(cfg, storage_url, port))
        yield ports
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    schema = f"gwbench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def split_load(ports: list[int], reqs: list[bytes], concurrency: int) -> LoadResult:
    """The requests dealt round-robin to the workers, all at once; one combined result."""
    started = time.perf_counter()
    parts = await asyncio.gather(
        *(
            run_load("127.0.0.1", port, reqs[i :: len(ports)], max(1, concurrency // len(ports)))
            for i, port in enumerate(ports)
        )
    )
    seconds = time.perf_counter() - started
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = [lat for part in parts for lat in part.latencies]
    return LoadResult(len(reqs), seconds, latencies, statuses)


def summarize(results: list[LoadResult]) -> dict[str, float]:
    return {
        "rate": statistics.median(r.rate for r in results),
        "p50_ms": statistics.median(r.percentile(50) for r in results) * 1000,
        "p99_ms": statistics.median(r.percentile(99) for r in results) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    pg_url = os.environ.get("GATEWAY_TEST_POSTGRES_URL", DEFAULT_URL)
    setups: list[tuple[str, str | None, int]] = []
    results: dict[str, list[LoadResult]] = {}
    with tempfile.TemporaryDirectory() as tmp, fresh_schema(pg_url) as url:
        cfg = bench_config(Path(tmp) / "config")
        setups = [
            ("sqlite, 1 worker", None, 1),
            ("postgres, 1 worker", url, 1),
            ("postgres, 2 workers", url, 2),
        ]
        for name, storage_url, n in setups:
            results[name] = []
            with workers(cfg, storage_url, n) as ports:
                for _ in range(args.runs):
                    reqs = signed_requests(cfg, args.requests)
                    res = asyncio.run(split_load(ports, reqs, args.concurrency))
                    assert set(res.statuses) == {202}, (name, res.statuses)
                    results[name].append(res)
    summary = {name: summarize(res) for name, res in results.items()}
    print(
        f"HTTP ingress, {args.requests} requests x {args.runs} runs, {args.concurrency} "
        f"concurrent senders, {os.cpu_count()} cores shared by everything (medians)"
    )
    base = summary["sqlite, 1 worker"]["rate"]
    for name, s in summary.items():
        print(
            f"  {name:20}: {s['rate']:7.0f} msg/s  p50 {s['p50_ms']:6.1f} ms  "
            f"p99 {s['p99_ms']:6.1f} ms  ({s['rate'] / base:.2f}x sqlite)"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
