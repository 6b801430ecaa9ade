"""Benchmark delivery: the worker's deliveries/s to a loopback simulator (its own process)
against plain httpx posting the same kind of signed bodies to the same recipient, same run.

PYTHONPATH=. .venv/bin/python bench/bench_delivery.py            # 2000 deliveries
PYTHONPATH=. .venv/bin/python bench/bench_delivery.py --quick    # 300

The worker's cost per delivery on top of the POST: claim (lease), two reads (body, origin
message), provenance attached, RFC 9421 signature, answer signature verified, and one
durable SQLite commit (attempt row, two audit events, sent body, new state).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from adapters.provenance import attach_provenance
from gateway import crypto
from gateway.config import load_config
from gateway.delivery import DeliveryPolicy, DeliveryWorker
from gateway.signatures import sign_request
from schemas.canonical import Provenance
from tests.harness import free_port, pem_private, write_config
from tests.integration.test_delivery_live import GCC_BODY, GCC_ID, GCC_MT, Env, utc_now

CONCURRENCY = 32


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
        stdout=subprocess.PIPE,
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


async def through_worker(env: Env, count: int) -> float:
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
        policy=DeliveryPolicy(concurrency=CONCURRENCY, per_recipient=CONCURRENCY),
        on_outcome=count_outcome,
    )
    started = time.perf_counter()
    worker.start()
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await worker.stop()
    if outcomes != {"delivered": count}:
        raise RuntimeError(f"worker outcomes {outcomes}, expected {count} delivered")
    return count / elapsed


async def plain_httpx(env: Env, url: str, authority: str, count: int) -> float:
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
    async with httpx.AsyncClient(
        trust_env=False, limits=httpx.Limits(max_connections=CONCURRENCY)
    ) as client:

        async def post_all() -> None:
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

        started = time.perf_counter()
        await asyncio.gather(*(post_all() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    if set(statuses) != {202}:
        raise RuntimeError(f"plain posts answered {sorted(set(statuses))}, expected 202")
    return count / elapsed


async def main(count: int) -> None:
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
            from gateway.storage import open_storage

            storage = open_storage(config.storage_url)
            await storage.open()
            env = Env(cfg.directory, config, storage, {}, gateway_key, {})
            try:
                baseline = await plain_httpx(
                    env, f"http://127.0.0.1:{port}/inbox", f"127.0.0.1:{port}", count
                )
                worker = await through_worker(env, count)
            finally:
                await storage.close()
            listing = orjson.loads(
                httpx.get(f"http://127.0.0.1:{port}/received", trust_env=False).content
            )
        finally:
            sim.terminate()
            sim.wait(timeout=20)
        print(f"deliveries: {count}, concurrency {CONCURRENCY}, one simulator process on loopback")
        print(f"plain httpx (sign + POST):           {baseline:8.0f} /s")
        print(f"DeliveryWorker (claim…commit):       {worker:8.0f} /s")
        print(f"ratio worker / plain:                {worker / baseline:8.2f}")
        print(f"simulator kept {listing['count']} messages, {listing['duplicates']} duplicates")
        digest = hashlib.sha256(orjson.dumps(sorted(m["message_id"] for m in listing["messages"])))
        print(f"received ids digest {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.count or (300 if args.quick else 2000)))
