"""Several `gateway serve` processes on one PostgreSQL behave as one gateway, through a
worker's SIGKILL mid-load and through PostgreSQL being unreachable for a while
(docs/architecture.md, Concurrency). Real processes, real database, real signatures, real
simulated recipients (`gateway sim`)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from gateway.audit import tree
from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.merkle import verify_consistency
from gateway.commands.audit_cmd import verifier_key_from_config
from gateway.config import load_config
from gateway.storage import DeliveryState, PostgresStorage
from tests import pg
from tests.harness import GatewayFixture, free_port, write_config
from tests.integration.pg_cluster import (
    ROOT,
    Sim,
    TcpProxy,
    Worker,
    gateway_env,
    processes,
    wait_until,
)
from tests.messages import interpol_red

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

INTERPOL_MT = "application/vnd.interpol.notice+json"
RECIPIENTS = ("gccpol-hub", "sa-psd")  # a red notice about an SA national goes to both


def _config(tmp_path: Path) -> tuple[GatewayFixture, dict[str, int]]:
    ports = {r: free_port() for r in RECIPIENTS}
    cfg = write_config(
        tmp_path / "cfg", endpoints={r: f"http://127.0.0.1:{p}/inbox" for r, p in ports.items()}
    )
    return cfg, ports


def _post(cfg: GatewayFixture, url: str, body: bytes, client: httpx.Client) -> httpx.Response:
    """Sign for the public authority and send to one worker (what a load balancer does)."""
    headers = cfg.signed_headers("ipsg", body, INTERPOL_MT)
    headers["host"] = cfg.authority  # the load balancer keeps the public Host
    return client.post(f"{url}/v1/messages", content=body, headers=headers)


async def _check_checkpoints(url: str, verifier: str) -> int:
    """Every stored checkpoint is signed and extends the previous one (RFC 9162 §2.1.4
    consistency proofs between successive checkpoints, built from the stored tree)."""
    storage = PostgresStorage(url)
    await storage.open()
    try:
        stored = sorted(await storage.checkpoints(limit=1_000_000), key=lambda c: c.tree_size)
        reader = storage.node_reader()
        for old, new in itertools.pairwise(stored):
            for c in (old, new):
                opened = open_checkpoint(c.note, verifier)
                assert (opened.size, opened.root_hash) == (c.tree_size, c.root_hash)
            proof = await asyncio.to_thread(
                tree.consistency_proof, reader, old.tree_size, new.tree_size
            )
            verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
        assert await storage.event_count() == stored[-1].tree_size
        return len(stored)
    finally:
        await storage.close()


async def _delivery_states(
    url: str, message_ids: list[str]
) -> dict[str, list[tuple[str, DeliveryState]]]:
    storage = PostgresStorage(url)
    await storage.open()
    try:
        found = {}
        for mid in message_ids:
            found[mid] = [
                (d.delivered_message_id, d.state) for d in await storage.deliveries_of_message(mid)
            ]
        return found
    finally:
        await storage.close()


def _audit_verify(cfg: GatewayFixture, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "verify", "--config", str(cfg.directory)],
        cwd=ROOT,
        env=gateway_env(url, cfg.port),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_three_workers_one_killed_mid_load(tmp_path: Path) -> None:
    cfg, ports = _config(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    total, kill_after = 240, 80
    with pg.fresh_schema_sync("gwkill") as url, processes() as started:
        for r in RECIPIENTS:
            started.append(Sim(r, cfg, ports[r], logs))
        workers = [Worker(f"worker{i}", cfg, url, logs) for i in range(3)]
        started.extend(workers)
        for p in started:
            p.ready()  # type: ignore[attr-defined]

        acked: dict[str, int] = {}  # message id -> audit_index of its receipt
        lock = threading.Lock()
        killed = threading.Event()
        counter = itertools.count()

        def send(i: int) -> None:
            mid = str(uuid.uuid4())
            body = interpol_red(message_id=mid, entity_id=f"2026/{i + 1}", nationalities=["SA"])
            with httpx.Client(timeout=30) as client:
                for attempt in range(6):  # a dead worker: the client tries the next one
                    worker = workers[(i + attempt) % 3]
                    if killed.is_set() and worker is workers[0]:
                        continue
                    try:
                        answer = _post(cfg, worker.url, body, client)
                    except httpx.TransportError:
                        continue
                    if answer.status_code in (200, 202):
                        receipt = orjson.loads(answer.content)
                        with lock:
                            acked[mid] = int(receipt["audit_index"])
                        break
                    assert answer.status_code == 503, answer.text
            if next(counter) == kill_after:
                workers[0].kill()
                killed.set()

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send, range(total)))
        assert killed.is_set() and not workers[0].alive()

        # Every acknowledged message is delivered to both recipients (the killed worker's
        # leases run out and a survivor takes its deliveries over).
        def all_delivered() -> bool:
            states = asyncio.run(_delivery_states(url, sorted(acked)))
            return all(
                len(ds) == 2 and all(s is DeliveryState.DELIVERED for _, s in ds)
                for ds in states.values()
            )

        wait_until(all_delivered, 90, "every acknowledged message delivered")
        states = asyncio.run(_delivery_states(url, sorted(acked)))
        sims = {p.name: p for p in started if isinstance(p, Sim)}
        received = {name: sim.received() for name, sim in sims.items()}
        for ds in states.values():
            for delivered_id, _ in ds:
                assert any(delivered_id in got for got in received.values()), delivered_id
        delivered = sum(len(ds) for ds in states.values())
        # Receipts name distinct audit indices (one log order across the workers).
        assert len(set(acked.values())) == len(acked)

        # The log: integrated and checkpointed by the survivors, verified end to end.
        config = load_config(cfg.directory)
        verifier = verifier_key_from_config(config)

        def integrated() -> bool:
            async def check() -> bool:
                storage = PostgresStorage(url)
                await storage.open()
                try:
                    latest = await storage.latest_checkpoint()
                    count = await storage.event_count()
                    return latest is not None and latest.tree_size == count
                finally:
                    await storage.close()

            return asyncio.run(check())

        wait_until(integrated, 30, "a checkpoint covering every event")
        checked = asyncio.run(_check_checkpoints(url, verifier))
        verified = _audit_verify(cfg, url)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit log verifies" in verified.stdout
        print(
            f"\nscale-out/kill: sent={total} acknowledged={len(acked)} "
            f"deliveries={delivered} (all delivered) lost=0 checkpoints checked={checked}; "
            f"{verified.stdout.strip()}"
        )
        assert len(acked) == total  # the client retried on another worker: none refused


def test_postgres_unreachable_then_back(tmp_path: Path) -> None:
    cfg, ports = _config(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    with pg.fresh_schema_sync("gwcut") as url, processes() as started:
        parts = urlsplit(url)
        proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        proxy.start()
        proxied = url.replace(parts.netloc, f"{parts.username}@127.0.0.1:{proxy.port}")
        try:
            for r in RECIPIENTS:
                started.append(Sim(r, cfg, ports[r], logs))
            worker = Worker("worker", cfg, proxied, logs)
            started.append(worker)
            for p in started:
                p.ready()  # type: ignore[attr-defined]
            acked: list[str] = []
            tried: list[str] = []  # refused: must have left nothing behind
            with httpx.Client(timeout=30) as client:
                numbers = itertools.count(1)

                def send(tag: str) -> httpx.Response:
                    mid = str(uuid.uuid4())
                    body = interpol_red(
                        message_id=mid, entity_id=f"2026/{next(numbers)}", nationalities=["SA"]
                    )
                    answer = _post(cfg, worker.url, body, client)
                    if answer.status_code == 202:
                        acked.append(mid)
                    else:
                        tried.append(mid)
                    return answer

                first = send("before")
                assert first.status_code == 202, first.text
                proxy.cut()
                refused = send("during")
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"].startswith("application/problem+json")
                problem = orjson.loads(refused.content)
                assert problem["status"] == 503 and "retry" in problem["detail"]
                ready = client.get(f"{worker.url}/readyz")
                assert ready.status_code == 503
                assert "storage" in orjson.loads(ready.content)["detail"]
                proxy.restore()
                # Nothing restarts the worker: its pool reconnects by itself.
                wait_until(
                    lambda: client.get(f"{worker.url}/readyz").status_code == 200,
                    30,
                    "/readyz ready again",
                )
                tags = iter(f"after-{i}" for i in range(100))
                wait_until(lambda: send(next(tags)).status_code == 202, 30, "202 again")

            def delivered() -> bool:
                states = asyncio.run(_delivery_states(url, acked))
                return all(
                    ds and all(s is DeliveryState.DELIVERED for _, s in ds)
                    for ds in states.values()
                )

            wait_until(delivered, 60, "every acknowledged message delivered")
            refused_states = asyncio.run(_delivery_states(url, tried))
            assert tried and all(ds == [] for ds in refused_states.values())
            print(f"\noutage: acknowledged={len(acked)} delivered={len(acked)} lost=0")
        finally:
            proxy.cut()
