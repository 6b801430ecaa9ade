"""A gateway with a realistic day in its log, for the console's tests and screenshots:
simulated recipients that answer with signed receipts, a recipient that is down (so
deliveries dead-letter), accepted messages from both sides and refused requests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import sign_request
from gateway.simulators import GatewayKeys, Simulator, SimulatorIdentity
from tests.harness import (
    GatewayFixture,
    ServerThread,
    free_port,
    poll,
    raw_public,
    sign_and_post,
    write_config,
)
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

FAST_DELIVERY = """backoff_initial_seconds = 0.05
backoff_max_seconds = 0.2
timeout_seconds = 2.0
"""
# Recipients that answer (signed receipts) and one whose endpoint refuses connections.
ANSWERING = {"ipsg": "interpol", "gccpol-hub": "gccpol"}
DOWN = "sa-psd"


class LoopThread:
    """An asyncio loop in a daemon thread, for the simulated recipients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: object, timeout: float = 20.0) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Scenario:
    cfg: GatewayFixture
    server: ServerThread
    gcc_message: str  # ae-moi's missing-person alert, delivered to ipsg with a signed answer
    red_message: str  # ipsg's red notice: delivered to gccpol-hub, dead-lettered for sa-psd
    secret_message: str  # a SECRET alert: routing refuses ipsg (no-secret-outside-gcc)
    dead: list[str] = field(default_factory=list)  # dead-lettered delivery ids

    def api(self, path: str, role: str = "admin") -> httpx.Response:
        return httpx.get(self.cfg.url + path, headers=self.cfg.auth(role), timeout=10)


def _post_unsigned_garbage(cfg: GatewayFixture) -> None:
    """Refusals of several kinds, for the timeline and the refusals chart."""
    body = interpol_red()
    # 1. a schema violation (signed correctly)
    sign_and_post(cfg, "ncb-fr", b'{"message_id": 1}', INTERPOL)
    # 2. a signature by a key the gateway does not know for that participant
    impostor = Ed25519PrivateKey.generate()
    headers = {"content-type": INTERPOL}
    headers.update(
        sign_request(
            "POST",
            cfg.authority,
            "/v1/messages",
            headers,
            body,
            key=impostor,
            keyid=cfg.keyid("ncb-fr"),
            created=int(time.time()),
            nonce=secrets.token_urlsafe(16),
        )
    )
    httpx.post(cfg.url + "/v1/messages", content=body, headers=headers, timeout=10)
    # 3. no signature at all, twice
    for _ in range(2):
        httpx.post(cfg.url + "/v1/messages", content=body, headers={"content-type": INTERPOL})
    # 4. an unknown media type
    sign_and_post(cfg, "ncb-fr", b"hello", "text/plain")


@contextlib.contextmanager
def console_scenario(directory: Path) -> Iterator[Scenario]:
    ports = {p: free_port() for p in ANSWERING}
    endpoints = {p: f"http://127.0.0.1:{port}/inbox" for p, port in ports.items()}
    endpoints[DOWN] = f"http://127.0.0.1:{free_port()}/inbox"  # nothing listens there
    cfg = write_config(directory, endpoints=endpoints, extra_gateway=FAST_DELIVERY)
    loop = LoopThread()
    trusted = GatewayKeys(
        [KeyRecord(KeyID("gateway-2026"), "gateway", raw_public(cfg.gateway_key))]
    )
    sims = []
    server = ServerThread(cfg)
    try:
        for participant, schema in ANSWERING.items():
            identity = SimulatorIdentity(
                participant,
                participant,
                schema,
                cfg.keyid(participant),
                crypto.as_private_key(cfg.keys[participant]),
                port=ports[participant],
            )
            sim = Simulator(identity, trusted)
            loop.run(sim.start())
            sims.append(sim)
        server.start()
        gcc = sign_and_post(cfg, "ae-moi", gcc_missing(), GCCPOL)
        red = sign_and_post(cfg, "ipsg", interpol_red(nationalities=["SA"]), INTERPOL)
        secret = sign_and_post(
            cfg,
            "ae-moi",
            gcc_missing(classification="SECRET", alert_id="GCC-ARE-1448-000777"),
            GCCPOL,
        )
        for r in (gcc, red, secret):
            assert r.status_code == 202, r.text
        _post_unsigned_garbage(cfg)
        scenario = Scenario(
            cfg,
            server,
            gcc.json()["message_id"],
            red.json()["message_id"],
            secret.json()["message_id"],
        )

        def settled() -> bool:
            pending = scenario.api("/v1/deliveries?state=pending").json()["deliveries"]
            dead = scenario.api("/v1/deliveries?state=dead").json()["deliveries"]
            scenario.dead = [d["delivery_id"] for d in dead]
            return not pending and bool(dead)

        poll(settled, timeout=30)
        yield scenario
    finally:
        if server.thread.is_alive():
            server.stop()
        for sim in sims:
            loop.run(sim.stop())
        loop.close()
