"""Crash test: a real `gateway serve` process SIGKILLed while senders post and the worker
delivers; restarted; every acknowledged message reaches every routed recipient, nothing
is half-recorded, and the audit log verifies (docs/delivery.md, storage.md).

Recipients already down for a while, and a 4xx answer dead-lettered with the answer
kept, are tested in test_delivery_live.py (down-then-up, 400/422 dead letters)."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.simulators import GatewayKeys, Simulator, SimulatorIdentity, post_notice
from tests.harness import free_port, raw_public, write_config
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red
from tests.process import ROOT, GatewayProcess

pytestmark = pytest.mark.integration

RECIPIENTS = {"gccpol-hub": "gccpol", "sa-psd": "gccpol", "ipsg": "interpol"}
PER_SENDER = 40
SENDERS = ("ipsg", "ipsg", "ae-moi", "ae-moi")
KILL_AFTER = 50  # acknowledged messages before the SIGKILL
FAST = """backoff_initial_seconds = 0.1
backoff_max_seconds = 0.5
timeout_seconds = 1.0
lease_seconds = 3
"""


@dataclass
class Tally:
    sent: int = 0
    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # message id -> routed
    unacknowledged: list[str] = field(default_factory=list)  # no 202 seen (error / refused)


async def _until(check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_stopped_mid_load_loses_nothing_acknowledged(tmp_path: Path, how: str) -> None:
    """SIGKILL: no shutdown code runs. SIGTERM: a graceful stop under load (requests in
    flight answered, deliveries in flight finished, a last sequencer round), which must
    end within 20 s (`GatewayProcess.stop`)."""
    ports = {r: free_port() for r in RECIPIENTS}
    cfg = write_config(
        tmp_path / "cfg",
        endpoints={r: f"http://127.0.0.1:{p}/inbox" for r, p in ports.items()},
        extra_gateway=FAST,
    )
    gateway = GatewayProcess(cfg, tmp_path / "gateway.log")
    tally = Tally()
    numbers = itertools.count()

    async def scenario() -> dict[str, float]:
        trusted = GatewayKeys(
            [KeyRecord(KeyID("gateway-2026"), "gateway", raw_public(cfg.gateway_key))]
        )
        sims = {
            r: Simulator(
                SimulatorIdentity(
                    r, r, schema, f"{r}-2026", crypto.as_private_key(cfg.keys[r]), port=ports[r]
                ),
                trusted,
            )
            for r, schema in RECIPIENTS.items()
        }
        for sim in sims.values():
            await sim.start()
        restarted = asyncio.Event()
        try:
            await asyncio.to_thread(gateway.start)

            async def sender(participant: str) -> None:
                key = crypto.as_private_key(cfg.keys[participant])
                async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
                    for _ in range(PER_SENDER):
                        n = next(numbers)
                        if participant == "ipsg":
                            body = interpol_red(entity_id=f"2026/{20000 + n}", nationalities=["SA"])
                            media_type, mid = INTERPOL, orjson.loads(body)["message_id"]
                        else:
                            body = gcc_missing(alert_id=f"GCC-ARE-1448-{n:06d}")
                            media_type = GCCPOL
                            mid = body.split(b"<gcc:MessageID>")[1].split(b"<")[0].decode()
                        tally.sent += 1
                        try:
                            status, _, raw = await post_notice(
                                cfg.url,
                                body,
                                media_type,
                                participant=participant,
                                key=key,
                                keyid=cfg.keyid(participant),
                                client=client,
                            )
                        except httpx.HTTPError:
                            status, raw = 0, b""
                        if status == 202:
                            receipt = orjson.loads(raw)
                            tally.acknowledged[mid] = [
                                r["participant"]
                                for r in receipt["recipients"]
                                if r["outcome"] == "routed"
                            ]
                        else:
                            tally.unacknowledged.append(mid)
                            await restarted.wait()  # the gateway is down: wait for it

            async def crash_and_restart() -> float:
                await _until(lambda: len(tally.acknowledged) >= KILL_AFTER, 60)
                if how == "sigkill":
                    await asyncio.to_thread(gateway.kill)
                else:
                    code = await asyncio.to_thread(gateway.stop)
                    assert code in (0, -signal.SIGTERM)
                await asyncio.sleep(0.3)  # senders meet the dead port meanwhile
                started = time.monotonic()
                await asyncio.to_thread(gateway.start)
                restarted.set()
                return time.monotonic() - started

            tasks = [asyncio.create_task(sender(p)) for p in SENDERS]
            restart_seconds = await crash_and_restart()
            await asyncio.gather(*tasks)
            drain_started = time.monotonic()

            def nothing_pending() -> bool:
                db = sqlite3.connect(cfg.directory / "gateway.db", timeout=5)
                try:
                    (n,) = db.execute(
                        "SELECT count(*) FROM deliveries WHERE state = 'pending'"
                    ).fetchone()
                finally:
                    db.close()
                return int(n) == 0

            def all_delivered() -> bool:
                return nothing_pending() and all(
                    any(got.provenance.get("origin_message_id") == mid for got in sims[r].received)
                    for mid, routed in tally.acknowledged.items()
                    for r in routed
                )

            await _until(all_delivered, 60)
            drain = time.monotonic() - drain_started
            # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught
            assert gateway.stop() in (0, -signal.SIGTERM)
            return {
                "restart_seconds": restart_seconds,
                "drain_seconds": drain,
                "delivered": sum(len(s.received) for s in sims.values()),
                "duplicates": sum(s.duplicates for s in sims.values()),
            }
        finally:
            gateway.stop()
            for sim in sims.values():
                await sim.stop()

    figures = asyncio.run(scenario())

    # every acknowledged message was routed somewhere and delivered to each routed recipient
    assert len(tally.acknowledged) >= KILL_AFTER
    if how == "sigkill":
        assert tally.unacknowledged, "the SIGKILL should have cut some requests off"
    expected_copies = sum(len(r) for r in tally.acknowledged.values())
    assert all(tally.acknowledged.values())

    # nothing half-recorded: every message row has its events and deliveries, every
    # "received" event its message row, every delivery is delivered
    db = sqlite3.connect(cfg.directory / "gateway.db")
    try:
        messages = db.execute("SELECT message_id, outcome, received_index FROM messages").fetchall()
        recorded = {m for m, _, _ in messages}
        assert set(tally.acknowledged) <= recorded
        for mid, outcome, received_index in messages:
            kinds = [
                k
                for (k,) in db.execute(
                    "SELECT kind FROM events WHERE message_id = ? ORDER BY idx", (mid,)
                )
            ]
            (first,) = db.execute(
                "SELECT kind FROM events WHERE idx = ?", (received_index,)
            ).fetchone()
            assert first == "received"
            routed = [
                r["participant"]
                for r in orjson.loads(outcome)["recipients"]
                if r["outcome"] == "routed"
            ]
            rows = db.execute(
                "SELECT recipient, state FROM deliveries WHERE message_id = ?", (mid,)
            ).fetchall()
            assert sorted(r for r, _ in rows) == sorted(routed), mid
            assert all(state == "delivered" for _, state in rows), (mid, rows)
            assert kinds.count("received") == 1 and kinds.count("routed") == 1, (mid, kinds)
            assert kinds.count("translated") == len(routed), (mid, kinds)
            assert kinds.count("delivered") == len(routed), (mid, kinds)
        orphans = db.execute(
            "SELECT e.message_id FROM events e LEFT JOIN messages m ON m.message_id = e.message_id "
            "WHERE e.kind = 'received' AND m.message_id IS NULL"
        ).fetchall()
        assert orphans == []
        (missing_bodies,) = db.execute(
            "SELECT count(*) FROM deliveries d LEFT JOIN bodies b ON b.sha256 = d.body_sha256 "
            "WHERE b.sha256 IS NULL"
        ).fetchone()
        assert missing_bodies == 0
    finally:
        db.close()
    unacked_recorded = len(recorded & set(tally.unacknowledged))

    verify = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "verify", "--config", str(cfg.directory)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert "audit log verifies" in verify.stdout

    print(
        f"\ncrash test ({how}): sent {tally.sent}, acknowledged {len(tally.acknowledged)}, "
        f"no 202 {len(tally.unacknowledged)} (of which recorded anyway: {unacked_recorded}), "
        f"copies owed {expected_copies}, delivered {figures['delivered']}, "
        f"duplicates dropped {figures['duplicates']}, lost 0; restart "
        f"{figures['restart_seconds']:.2f} s, drain {figures['drain_seconds']:.2f} s; "
        f"{verify.stdout.strip()}"
    )
