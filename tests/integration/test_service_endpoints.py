"""/metrics, /readyz and the structured logs of a real `gateway serve` process, over HTTP,
with real simulated recipients (api.md, Service endpoints; gateway/observe.py)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.simulators import GatewayKeys, Simulator, SimulatorIdentity, post_notice
from tests.harness import GatewayFixture, free_port, pem_private, raw_public, write_config
from tests.messages import INTERPOL, interpol_red
from tests.process import GatewayProcess

pytestmark = pytest.mark.integration

RECIPIENTS = ("gccpol-hub", "sa-psd")


@dataclass
class Running:
    cfg: GatewayFixture
    gateway: GatewayProcess
    sims: dict[str, Simulator]
    client: httpx.AsyncClient

    async def post(self, body: bytes, *, key: crypto.PrivateKey | None = None) -> int:
        status, _, _ = await post_notice(
            self.cfg.url,
            body,
            INTERPOL,
            participant="ipsg",
            key=key or crypto.as_private_key(self.cfg.keys["ipsg"]),
            keyid="ipsg-2026",
            client=self.client,
        )
        return status

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = await self.client.get(self.cfg.url + "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(response.text):
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    ports = {r: free_port() for r in RECIPIENTS}
    cfg = write_config(
        tmp_path / "cfg",
        endpoints={r: f"http://127.0.0.1:{p}/inbox" for r, p in ports.items()},
        extra_gateway="backoff_initial_seconds = 0.1\nbackoff_max_seconds = 0.5\n",
    )
    trusted = GatewayKeys(
        [KeyRecord(KeyID("gateway-2026"), "gateway", raw_public(cfg.gateway_key))]
    )
    sims = {
        r: Simulator(
            SimulatorIdentity(
                r, r, "gccpol", f"{r}-2026", crypto.as_private_key(cfg.keys[r]), port=ports[r]
            ),
            trusted,
        )
        for r in RECIPIENTS
    }
    gateway = GatewayProcess(cfg, tmp_path / "gateway.log")
    for sim in sims.values():
        await sim.start()
    try:
        await asyncio.to_thread(gateway.start)
        async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
            yield Running(cfg, gateway, sims, client)
    finally:
        gateway.stop()
        for sim in sims.values():
            await sim.stop()


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


PUBLISH = ("gateway_messages_received_total", (("kind", "publish"), ("schema", "interpol")))
FORGED = ("gateway_messages_refused_total", (("reason", "signature-invalid"),))
UNKNOWN_TYPE = ("gateway_messages_refused_total", (("reason", "content-type-unknown"),))
LATENCY = ("gateway_request_seconds_count", (("route", "/v1/messages"),))
DELIVERED = ("gateway_deliveries_total", (("outcome", "delivered"),))
TREE = ("gateway_audit_tree_size", ())
AGE = ("gateway_audit_checkpoint_age_seconds", ())
QUEUE = ("gateway_delivery_queue_depth", ())


def test_metrics_move_when_messages_are_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as gw:
            before = await gw.metrics()
            assert before.get(PUBLISH, 0.0) == 0.0
            for _ in range(3):
                assert await gw.post(interpol_red(nationalities=["SA"])) == 202
            assert await gw.post(interpol_red(), key=crypto.generate()) == 401
            wrong = await gw.client.post(
                gw.cfg.url + "/v1/messages", content=b"{}", headers={"content-type": "text/csv"}
            )
            assert wrong.status_code == 415

            async def delivered() -> dict[Any, float] | None:
                now = await gw.metrics()
                # the checkpoint follows within a second (audit.md)
                done = now.get(DELIVERED, 0.0) >= 6 and now.get(TREE, 0.0) >= 3 * 5
                return now if done else None

            after = await until(delivered)
            assert after[PUBLISH] == 3
            assert after[FORGED] == 1
            assert after[UNKNOWN_TYPE] == 1
            # POST /v1/messages five times, each timed under the route's template
            assert after[LATENCY] - before.get(LATENCY, 0.0) == 5
            # per message: received, 2 translated, routed, 2 x (attempted, delivered)
            assert after[TREE] >= 3 * 5
            assert 0 <= after[AGE] < 60
            assert after[QUEUE] == 0  # everything was delivered
            assert sum(len(s.received) for s in gw.sims.values()) == 6
            # the ids of a status route are not labels: its template is
            status = await gw.client.get(gw.cfg.url + "/v1/messages/abc/status")
            assert status.status_code == 401
            labels = {dict(k[1]).get("route") for k in (await gw.metrics())}
            assert "/v1/messages/{message_id}/status" in labels
            assert not any(label and "abc" in label for label in labels)

    asyncio.run(scenario())


def test_readyz_answers_503_with_a_problem_when_storage_is_gone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as gw:
            ready = await gw.client.get(gw.cfg.url + "/readyz")
            assert ready.status_code == 200 and ready.json() == {"status": "ready"}
            assert (await gw.client.get(gw.cfg.url + "/healthz")).json() == {"status": "up"}
            db = gw.cfg.directory / "gateway.db"
            moved = db.with_name("gateway.db.moved")
            db.rename(moved)
            try:
                gone = await gw.client.get(gw.cfg.url + "/readyz")
                assert gone.status_code == 503
                assert gone.headers["content-type"] == "application/problem+json"
                problem = gone.json()
                assert problem["type"] == "urn:gateway:problem:not-ready"
                assert problem["status"] == 503
                assert "gateway.db" in problem["detail"]
                # still alive, only not ready
                assert (await gw.client.get(gw.cfg.url + "/healthz")).status_code == 200
            finally:
                moved.rename(db)
            assert (await gw.client.get(gw.cfg.url + "/readyz")).status_code == 200

    asyncio.run(scenario())


def test_logs_name_every_message_and_hold_no_secrets_or_bodies(tmp_path: Path) -> None:
    bodies = [interpol_red(nationalities=["SA"]) for _ in range(2)]
    ids = [orjson.loads(b)["message_id"] for b in bodies]
    forged = interpol_red()
    forged_id = orjson.loads(forged)["message_id"]

    async def scenario() -> GatewayFixture:
        async with running(tmp_path) as gw:
            for body in bodies:
                assert await gw.post(body) == 202
            assert await gw.post(forged, key=crypto.generate()) == 401
            bad_token = {"authorization": "Bearer not-a-token-anyone-has"}
            assert (
                await gw.client.get(gw.cfg.url + "/v1/audit/checkpoint", headers=bad_token)
            ).status_code == 401
            await until(lambda: _true(sum(len(s.received) for s in gw.sims.values()) == 4))
            auditor = gw.cfg.auth("auditor")
            await until(lambda: _status_ok(gw.client, gw.cfg.url + "/v1/audit/checkpoint", auditor))
            return gw.cfg

    cfg = asyncio.run(scenario())
    text = (tmp_path / "gateway.log").read_text("utf-8")
    lines = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines, text[:2000]

    accepted = {ln["message_id"]: ln for ln in lines if ln["event"] == "message-accepted"}
    assert set(accepted) == set(ids)
    for ln in accepted.values():
        assert ln["sender"] == "ipsg" and ln["keyid"] == "ipsg-2026" and ln["status"] == 202
        assert len(ln["body_sha256"]) == 64
        assert sorted(ln["routed_to"]) == ["gccpol-hub", "sa-psd"]
    refusals = [ln for ln in lines if ln["event"] == "request-refused"]
    (refused,) = [ln for ln in refusals if ln["path"] == "/v1/messages"]
    assert refused["check"] == "signature-invalid" and refused["status"] == 401
    assert len(refused["body_sha256"]) == 64
    (token,) = [ln for ln in refusals if ln["path"] == "/v1/audit/checkpoint"]
    assert token["check"] == "operator-token-unknown" and token["status"] == 401
    assert refused["message_id"] is None  # never decoded: the signature failed first
    attempts = [ln for ln in lines if ln["event"] == "delivery-attempt"]
    assert {(ln["message_id"], ln["recipient"]) for ln in attempts} == {
        (m, r) for m in ids for r in RECIPIENTS
    }
    assert all(ln["status"] == 202 and ln["outcome"] == "delivered" for ln in attempts)
    assert all(ln["delivered_message_id"] and ln["delivery_id"] for ln in attempts)

    # nothing secret, nothing of a body
    secrets = [
        *cfg.tokens.values(),
        "not-a-token-anyone-has",
        "PRIVATE KEY",
        *(base64.b64encode(k.private_bytes_raw()).decode() for k in cfg.keys.values()),
        base64.b64encode(cfg.gateway_key.private_bytes_raw()).decode(),
        pem_private(cfg.gateway_key).decode().splitlines()[1],
    ]
    body_text = ["AL QAHTANI", "القحطاني", "A1234567", "Scar on left cheek", "PAR/2026/7781"]
    for needle in [*secrets, *body_text]:
        assert needle not in text, f"the log holds {needle[:12]}…"
    assert forged_id not in text  # its body was never decoded, so its id is not known either


async def _true(value: bool) -> bool:
    return value


async def _status_ok(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> bool:
    return (await client.get(url, headers=headers)).status_code == 200
