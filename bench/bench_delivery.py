"""Benchmark delivery: the worker's deliveries/s to a loopback simulator (its own process)
against plain httpx posting the same kind of signed bodies to the same recipient, same run.

    PYTHONPATH=. .venv/bin/python -m bench.bench_delivery                 # 5 runs x 1000
    PYTHONPATH=. .venv/bin/python -m bench.bench_delivery --quick         # 3 runs x 100
    PYTHONPATH=. .venv/bin/python -m bench.bench_delivery --json out.json # figure delivery.rate

Three sides, each with 32 requests in flight to the one recipient, timed back to back in
every run (the order rotates from run to run):

- plain: httpx.AsyncClient, one client for all (the baseline of the figure);
- pooled: the same posters on clients of 8 connections each, the worker's layout
  (DeliveryPolicy.pool_connections): what is left between it and the worker is the worker's
  own bookkeeping;
- worker: DeliveryWorker over real SQLite storage: claim (lease), two reads (body, origin
  message), provenance attached, RFC 9421 signature, POST, the answer's signature verified,
  and one durable commit (attempt row, two audit events, sent body, new state).

The figure is the median over the runs of the per-run ratio worker / plain, so a slow
patch of the shared machine hits both sides of one ratio alike. The CPU time of this process
per delivery (all its threads) is printed beside each rate: much less noisy than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from adapters.provenance import attach_provenance
from bench import figures
from gateway import crypto
from gateway.config import load_config
from gateway.delivery import DeliveryPolicy, DeliveryWorker
from gateway.signatures import sign_request
from gateway.storage import open_storage
from schemas.canonical import Provenance
from tests.harness import free_port, pem_private, write_config
from tests.integration.test_delivery_live import GCC_BODY, GCC_ID, GCC_MT, Env, utc_now

CONCURRENCY = 32  # requests in flight to the one recipient, both sides
TARGET = 0.7


@dataclass(frozen=True, slots=True)
class Run:
    rate: float  # deliveries/s
    cpu_ms: float  # CPU time of this process (all threads) per delivery


def start_simulator(directory: Path, port: int) -> subprocess.Popen[bytes]:
    sim = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gateway.cli import main; main()",
            "sim",
            "ae-moi",
            "--config",
            str(directory),
            "--gateway-key",
            str(directory / "keys" / "gateway.pub.pem"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).status_code == 200:
                return sim
        except httpx.HTTPError:
            time.sleep(0.05)
    sim.kill()
    raise RuntimeError(f"simulator did not start: {sim.stderr.read() if sim.stderr else ''!r}")


async def through_worker(env: Env, count: int, concurrency: int) -> Run:
    await asyncio.gather(*(env.queue("ae-moi") for _ in range(count)))
    done = asyncio.Event()
    outcomes: dict[str, int] = {}

    def count_outcome(outcome: str) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if sum(outcomes.values()) >= count:
            done.set()

    worker = DeliveryWorker(
        env.storage,
        lambda: env.config,
        key=env.gateway_key,
        clock=utc_now,
        policy=DeliveryPolicy(concurrency=concurrency, per_recipient=concurrency),
        on_outcome=count_outcome,
    )
    cpu, started = time.process_time(), time.perf_counter()
    worker.start()
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await worker.stop()
    if outcomes != {"delivered": count}:
        raise RuntimeError(f"worker outcomes {outcomes}, expected {count} delivered")
    return Run(count / elapsed, cpu * 1000 / count)


async def plain_httpx(
    env: Env, url: str, authority: str, count: int, concurrency: int, pool: int
) -> Run:
    """What a delivery costs at the least: sign the body, POST it, read the answer; the
    ``concurrency`` posters share clients of ``pool`` connections each."""
    provenance = Provenance(
        origin="ncb-fr",
        origin_message_id=str(uuid.uuid4()),
        body_sha256="ab" * 32,
        keyid="ncb-fr-2026",
        signature="sig1=:AAAA:",
        audit_index=1,
    )
    bodies = [
        attach_provenance(GCC_MT, GCC_BODY.replace(GCC_ID, str(uuid.uuid4()).encode()), provenance)
        for _ in range(count)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: list[int] = []
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(trust_env=False, limits=httpx.Limits(max_connections=pool))
            )
            for _ in range(0, concurrency, pool)
        ]

        async def post_all(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"content-type": GCC_MT}
                headers.update(
                    sign_request(
                        "POST",
                        authority,
                        "/inbox",
                        headers,
                        body,
                        key=env.gateway_key,
                        keyid="gateway-2026",
                        created=int(time.time()),
                        nonce=secrets.token_urlsafe(16),
                    )
                )
                response = await client.post(url, content=body, headers=headers)
                statuses.append(response.status_code)

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(post_all(clients[n // pool]) for n in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if set(statuses) != {202}:
        raise RuntimeError(f"plain posts answered {sorted(set(statuses))}, expected 202")
    return Run(count / elapsed, cpu * 1000 / count)


SIDES = ("plain", "pooled", "worker")


async def measure(count: int, runs: int, concurrency: int) -> tuple[dict[str, list[Run]], str]:
    """``runs`` rounds of each side against one simulator, the order rotating from round to
    round; and what the simulator kept."""
    results: dict[str, list[Run]] = {side: [] for side in SIDES}
    pool = DeliveryPolicy().pool_connections
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cfg = write_config(
            Path(tmp) / "cfg", endpoints={"ae-moi": f"http://127.0.0.1:{port}/inbox"}
        )
        keys = cfg.directory / "keys"
        (keys / "ae-moi-2026.pem").write_bytes(pem_private(cfg.keys["ae-moi"]))
        gateway_key = crypto.as_private_key(cfg.gateway_key)
        (keys / "gateway.pub.pem").write_bytes(
            crypto.public_key_pem(crypto.public_key_bytes(gateway_key))
        )
        sim = start_simulator(cfg.directory, port)
        try:
            config = load_config(cfg.directory)
            storage = open_storage(config.storage_url)
            await storage.open()
            env = Env(cfg.directory, config, storage, {}, gateway_key, {})
            url, authority = f"http://127.0.0.1:{port}/inbox", f"127.0.0.1:{port}"
            sides: dict[str, Callable[[], Awaitable[Run]]] = {
                "plain": lambda: plain_httpx(env, url, authority, count, concurrency, concurrency),
                "pooled": lambda: plain_httpx(env, url, authority, count, concurrency, pool),
                "worker": lambda: through_worker(env, count, concurrency),
            }
            try:
                for n in range(runs):
                    for side in SIDES[n % 3 :] + SIDES[: n % 3]:
                        results[side].append(await sides[side]())
                    print(
                        f"  run {n + 1}: "
                        + ", ".join(
                            f"{side} {results[side][-1].rate:4.0f}/s "
                            f"({results[side][-1].cpu_ms:.2f} ms CPU)"
                            for side in SIDES
                        ),
                        flush=True,
                    )
            finally:
                await storage.close()
            listing = orjson.loads(
                httpx.get(f"http://127.0.0.1:{port}/received", trust_env=False).content
            )
        finally:
            sim.terminate()
            sim.wait(timeout=20)
    expected = len(SIDES) * count * runs
    if listing["count"] != expected:
        raise RuntimeError(f"simulator kept {listing['count']} messages, expected {expected}")
    digest = hashlib.sha256(orjson.dumps(sorted(m["message_id"] for m in listing["messages"])))
    kept = (
        f"simulator kept {listing['count']} messages, {listing['duplicates']} duplicates "
        f"(ids digest {digest.hexdigest()[:16]})"
    )
    return results, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs of 100 deliveries a side")
    parser.add_argument("--count", type=int, default=None, help="deliveries per run and side")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--json", type=Path, default=None, help="write the figure here")
    args = parser.parse_args()
    count = args.count or (100 if args.quick else 1000)
    runs = args.runs or (3 if args.quick else 5)
    print(
        f"deliveries: {runs} runs x {count} per side, {args.concurrency} in flight, "
        "one simulator process on loopback"
    )
    results, kept = asyncio.run(measure(count, runs, args.concurrency))
    worker, plain, pooled = results["worker"], results["plain"], results["pooled"]
    ratios = [w.rate / p.rate for w, p in zip(worker, plain, strict=True)]
    pooled_ratios = [w.rate / p.rate for w, p in zip(worker, pooled, strict=True)]
    cpu_ratios = [p.cpu_ms / w.cpu_ms for w, p in zip(worker, plain, strict=True)]
    pooled_cpu_ratios = [p.cpu_ms / w.cpu_ms for w, p in zip(worker, pooled, strict=True)]
    rate = {side: figures.median(r.rate for r in runs_) for side, runs_ in results.items()}
    cpu = {side: figures.median(r.cpu_ms for r in runs_) for side, runs_ in results.items()}
    ratio = figures.median(ratios)
    pool = DeliveryPolicy().pool_connections
    for side, name in (
        ("plain", "plain httpx, one client:"),
        ("pooled", f"plain httpx, clients of {pool} conn.:"),
        ("worker", "DeliveryWorker (claim…commit):"),
    ):
        print(f"{name:34s}{rate[side]:6.0f} /s  {cpu[side]:6.2f} ms CPU each")
    print(
        f"worker / plain httpx:  {ratio:.2f} (target >= {TARGET}), on CPU per delivery "
        f"{figures.median(cpu_ratios):.2f}; medians of the per-run ratios"
    )
    print(
        f"worker / plain httpx with the worker's pool layout: {figures.median(pooled_ratios):.2f}, "
        f"on CPU {figures.median(pooled_cpu_ratios):.2f} (what the worker's own bookkeeping costs)"
    )
    print(kept)
    figures.write(
        args.json,
        [
            figures.Figure(
                key="delivery.rate",
                label="deliveries/s to a loopback recipient",
                value=rate["worker"],
                unit="deliveries/s",
                baseline_label="plain httpx posting the same signed bodies (one client)",
                baseline=rate["plain"],
                ratio=ratio,
                op=">=",
                target=TARGET,
                detail=(
                    f"median of {runs} paired runs x {count}, {args.concurrency} in flight; "
                    f"CPU per delivery {cpu['worker']:.2f} ms vs {cpu['plain']:.2f} ms "
                    f"(ratio {figures.median(cpu_ratios):.2f}); vs plain httpx on clients of "
                    f"{pool} connections like the worker: {figures.median(pooled_ratios):.2f} "
                    f"(CPU {figures.median(pooled_cpu_ratios):.2f})"
                ),
                samples=[round(r, 3) for r in ratios],
            )
        ],
    )


if __name__ == "__main__":
    main()
