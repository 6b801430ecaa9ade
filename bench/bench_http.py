"""End-to-end messages/s through HTTP — verify, translate, route to 2 recipients, record
durably, signed receipt — beside a bare endpoint that only reads the body and answers 202,
on the same server settings, under the same load generator, in the same run.

    python -m bench.bench_http [--requests N] [--concurrency C] [--runs R] [--json FILE]

What is measured:

- The gateway is `gateway serve` (1 worker, SQLite, synchronous=FULL, group commit) on
  the benchmark configuration (bench/bench_config.py: the per-sender limits lifted).
- The bare endpoint (bench/bare_app.py) is served by the same code with the same
  configuration folder (`gateway.commands.serve.run_server`: h11 and its bounds, uvloop,
  keep-alive and concurrency limits, no access log, the same log level), on another port.
  Only the ASGI app differs.
- Each server runs in its own process, both pinned to core 0 and loaded one at a time
  (the idle one only waits on its sockets). The load generator runs in this
  process pinned to core 1: raw asyncio streams, C keep-alive connections, requests built
  and signed beforehand (each with its own nonce and message id: a red notice about a
  Saudi national, so routed to gccpol-hub and sa-psd), sent one at a time per connection.
- Rate = requests / wall seconds from the first write to the last response read. Latency
  = from writing a request to having read its whole response. Each run posts the same
  fresh requests to the bare endpoint, then to the gateway, after a warm-up of each.
- Server CPU µs a request = the server process's user+system time (all its threads, the
  storage writer included) over the measured requests: less disturbed than wall time by
  other load on the machine.

Every gateway answer must be a 202 (a refusal would measure the wrong path).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import figures
from bench.bench_config import bench_config
from bench.loadgen import LoadResult, build_request, run_load
from gateway import crypto
from gateway.signatures import sign_request
from tests.harness import GatewayFixture, free_port
from tests.messages import INTERPOL, interpol_red

REPO = Path(__file__).resolve().parents[1]
SERVER_CORE, LOAD_CORE = 0, 1


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def spawn(cmd: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # taskset execs the command: the pid stays the server's (for its CPU time below)
    prefix = ["taskset", "-c", str(SERVER_CORE)] if (os.cpu_count() or 1) > 1 else []
    return subprocess.Popen(prefix + cmd, cwd=REPO, env=env, stderr=subprocess.DEVNULL)


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not start: {proc.args}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc); 0 elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed_requests(cfg: GatewayFixture, n: int) -> list[bytes]:
    """`n` POST /v1/messages requests, each a fresh message id, signed with a fresh nonce."""
    placeholder = str(uuid.uuid4())
    # a red notice about a Saudi national: routed to gccpol-hub and sa-psd
    template = interpol_red(message_id=placeholder).decode("utf-8")
    key = crypto.as_private_key(cfg.keys["ipsg"])  # prepared once, not per signature
    out = []
    now = int(time.time())
    for _ in range(n):
        body = template.replace(placeholder, str(uuid.uuid4())).encode("utf-8")
        headers = {"content-type": INTERPOL}
        headers.update(
            sign_request(
                "POST",
                cfg.authority,
                "/v1/messages",
                headers,
                body,
                key=key,
                keyid=cfg.keyid("ipsg"),
                created=now,
                nonce=secrets.token_urlsafe(16),
            )
        )
        out.append(build_request(cfg.authority, "/v1/messages", headers, body))
    return out


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    results: list[LoadResult]
    cpu: float = 0.0  # server CPU seconds over the measured runs
    load_cpu: float = 0.0  # the load generator's CPU seconds over the same runs

    def load(self, requests: list[bytes], concurrency: int, *, measure: bool) -> LoadResult:
        before, load_before = cpu_seconds(self.proc.pid), time.process_time()
        res = asyncio.run(run_load("127.0.0.1", self.port, requests, concurrency))
        load_after = time.process_time()
        if set(res.statuses) != {202}:
            raise RuntimeError(f"{self.name} answered {res.statuses}, not only 202")
        if measure:
            self.cpu += cpu_seconds(self.proc.pid) - before
            self.load_cpu += load_after - load_before
            self.results.append(res)
        return res

    def summary(self) -> dict[str, float]:
        n = sum(r.requests for r in self.results)
        return {
            "rate": statistics.median(r.rate for r in self.results),
            "p50_ms": statistics.median(r.percentile(50) for r in self.results) * 1000,
            "p99_ms": statistics.median(r.percentile(99) for r in self.results) * 1000,
            "cpu_us": self.cpu / n * 1e6 if n else 0.0,
            "load_cpu_us": self.load_cpu / n * 1e6 if n else 0.0,
        }


def measure(requests: int, concurrency: int, runs: int, warmup: int) -> tuple[Server, Server]:
    pin(LOAD_CORE)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = bench_config(Path(tmp) / "config")  # rate limits lifted: one sender floods
        bare_port = free_port()
        common = ["--config", str(cfg.directory), "--log-level", "warning"]
        # both start at once (start-up is most of a quick run's fixed cost)
        bare = Server(
            "bare endpoint",
            spawn([sys.executable, "-m", "bench.bare_app", *common, "--port", str(bare_port)]),
            bare_port,
            [],
        )
        gw = Server(
            "gateway", spawn([sys.executable, "-m", "gateway", "serve", *common]), cfg.port, []
        )
        try:
            for server in (bare, gw):
                wait_ready(server.proc, server.port)
            if warmup:
                warm = signed_requests(cfg, warmup)
                for server in (bare, gw):
                    server.load(warm, concurrency, measure=False)
            for _ in range(runs):
                reqs = signed_requests(cfg, requests)
                for server in (bare, gw):
                    server.load(reqs, concurrency, measure=True)
        finally:
            for server in (bare, gw):
                server.proc.terminate()
                server.proc.wait(timeout=30)
    return bare, gw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=None, help="default: requests / 8, <= 250")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    warmup = min(250, args.requests // 8) if args.warmup is None else args.warmup
    bare, gw = measure(args.requests, args.concurrency, args.runs, warmup)
    base, full = bare.summary(), gw.summary()
    ratio = full["rate"] / base["rate"]
    p99_ratio = full["p99_ms"] / base["p99_ms"]
    # What the rate ratio would be with the core to each server alone: CPU per request.
    cpu_ratio = base["cpu_us"] / full["cpu_us"] if full["cpu_us"] else 0.0
    print(
        f"HTTP, {args.requests} requests x {args.runs} runs (+{warmup} warm-up), "
        f"{args.concurrency} concurrent keep-alive senders, medians of the runs"
    )
    print(
        "  load generator: pre-signed requests (own nonce and message id each), this "
        f"process on core {LOAD_CORE}; servers on core {SERVER_CORE}, loaded one at a time, "
        "same uvicorn settings (gateway.commands.serve.server_options)"
    )
    for name, s in (("bare endpoint", base), ("gateway", full)):
        print(
            f"  {name:14s}: {s['rate']:8.0f} msg/s  p50 {s['p50_ms']:6.1f} ms  "
            f"p99 {s['p99_ms']:6.1f} ms  server CPU {s['cpu_us']:7.0f} µs/request "
            f"(load generator {s['load_cpu_us']:4.0f})"
        )
    print(
        f"  ratio         : {ratio:.3f} of the bare endpoint's rate (target >= 0.5); "
        f"p99 {p99_ratio:.1f}x the bare p99 (target <= 4x)"
    )
    print(
        f"  CPU ratio     : {cpu_ratio:.3f} = bare server CPU / gateway server CPU a request "
        "(the rate ratio if each server had its core to itself)"
    )
    size = f"{args.requests} requests x {args.runs} runs, {args.concurrency} senders"
    figures.write(
        args.json,
        [
            figures.Figure(
                key="http.rate",
                label="end-to-end msg/s through HTTP (1 worker, SQLite, 2 recipients)",
                value=full["rate"],
                unit="msg/s",
                baseline_label="bare endpoint (reads body, 202), same server settings",
                baseline=base["rate"],
                ratio=ratio,
                op=">=",
                target=0.5,
                detail=(
                    f"p50 {full['p50_ms']:.1f} ms vs {base['p50_ms']:.1f} ms bare; server "
                    f"CPU {full['cpu_us']:.0f} vs {base['cpu_us']:.0f} µs/request (CPU ratio "
                    f"{cpu_ratio:.3f}); {size}"
                ),
                samples=[r.rate for r in gw.results],
            ),
            figures.Figure(
                key="http.p99",
                label=f"p99 latency through HTTP at {args.concurrency} concurrent senders",
                value=full["p99_ms"],
                unit="ms",
                baseline_label="bare endpoint's p99, same load",
                baseline=base["p99_ms"],
                ratio=p99_ratio,
                op="<=",
                target=4.0,
                detail=(f"p50 {full['p50_ms']:.1f} ms vs {base['p50_ms']:.1f} ms bare; {size}"),
                samples=[r.percentile(99) * 1000 for r in gw.results],
            ),
        ],
    )


if __name__ == "__main__":
    main()
