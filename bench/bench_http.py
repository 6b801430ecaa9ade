"""End-to-end messages/s through HTTP — verify, translate, route to 2 recipients, record
durably, signed receipt — beside a bare endpoint that only reads the body and answers 202,
on the same uvicorn settings, under the same load generator, in the same run.

Each server runs in its own process pinned to core 0; the load generator (pre-signed
requests, each with its own nonce and message id) runs here, pinned to core 1.

    python -m bench.bench_http [--requests N] [--concurrency C] [--runs R] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.bench_config import bench_config
from bench.loadgen import LoadResult, build_request, run_load
from gateway.signatures import sign_request
from tests.harness import GatewayFixture, free_port
from tests.messages import INTERPOL, interpol_red

REPO = Path(__file__).resolve().parents[1]


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def start(cmd: list[str], port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    prefix = ["taskset", "-c", "0"] if (os.cpu_count() or 1) > 1 else []
    proc = subprocess.Popen(prefix + cmd, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {cmd}")


def signed_requests(cfg: GatewayFixture, n: int) -> list[bytes]:
    out = []
    now = int(time.time())
    for _ in range(n):
        body = interpol_red()  # a red notice about a Saudi national: gccpol-hub + sa-psd
        headers = {"content-type": INTERPOL}
        headers.update(
            sign_request(
                "POST", cfg.authority, "/v1/messages", headers, body,
                key=cfg.keys["ipsg"], keyid=cfg.keyid("ipsg"), created=now,
                nonce=secrets.token_urlsafe(16),
            )
        )
        out.append(build_request(cfg.authority, "/v1/messages", headers, body))
    return out


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
    pin(1)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = bench_config(Path(tmp) / "config")  # rate limits lifted: one sender floods
        bare_port = free_port()
        bare = start(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
             "--port", str(bare_port), "--no-access-log", "--log-level", "warning"],
            bare_port,
        )
        gw = start([sys.executable, "-m", "gateway", "serve", "--config", str(cfg.directory),
                    "--log-level", "warning"], cfg.port)
        try:
            bare_results: list[LoadResult] = []
            gw_results: list[LoadResult] = []
            for _ in range(args.runs):
                reqs = signed_requests(cfg, args.requests)
                bare_results.append(asyncio.run(
                    run_load("127.0.0.1", bare_port, reqs, args.concurrency)))
                res = asyncio.run(run_load("127.0.0.1", cfg.port, reqs, args.concurrency))
                assert set(res.statuses) == {202}, res.statuses
                gw_results.append(res)
        finally:
            for p in (bare, gw):
                p.terminate()
                p.wait(timeout=30)
    base, full = summarize(bare_results), summarize(gw_results)
    ratio = full["rate"] / base["rate"]
    p99_ratio = full["p99_ms"] / base["p99_ms"]
    print(f"HTTP, {args.requests} requests x {args.runs} runs, {args.concurrency} concurrent "
          "senders (medians)")
    print(f"  bare endpoint : {base['rate']:8.0f} msg/s  p50 {base['p50_ms']:6.1f} ms  "
          f"p99 {base['p99_ms']:6.1f} ms")
    print(f"  gateway       : {full['rate']:8.0f} msg/s  p50 {full['p50_ms']:6.1f} ms  "
          f"p99 {full['p99_ms']:6.1f} ms")
    print(f"  ratio         : {ratio:.2f} of the bare endpoint's rate (target >= 0.5); "
          f"p99 {p99_ratio:.1f}x the bare p99 (target <= 4x)")
    if args.json:
        args.json.write_text(json.dumps({"bare": base, "gateway": full, "ratio": ratio,
                                         "p99_ratio": p99_ratio}, indent=2))


if __name__ == "__main__":
    main()
