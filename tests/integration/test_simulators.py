"""The simulated participant systems as real HTTP servers, alone and behind the real gateway."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import orjson
import pytest

from adapters.provenance import attach_provenance
from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import sign_request, verify_response
from gateway.simulators import GatewayKeys, Simulator, SimulatorIdentity, post_notice
from schemas.canonical import Provenance
from tests.harness import free_port, raw_public, running_gateway, write_config

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
GCC_BODY = (DATA / "gccpol-missing-new.xml").read_bytes()
GCC_MT = "application/vnd.gccpol.alert+xml"
INTERPOL_BODY = (DATA / "interpol-red-publish.json").read_bytes()
INTERPOL_MT = "application/vnd.interpol.notice+json"
PROVENANCE = Provenance(
    origin="ncb-fr",
    origin_message_id="m-1",
    body_sha256="cd" * 32,
    keyid="ncb-fr-2026",
    signature="sig1=:AAAA:",
    audit_index=3,
)
T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


class Rig:
    """One simulator (ae-moi) trusting one gateway key, and a client that signs like it."""

    def __init__(self, tmp_path: Path) -> None:
        self.gateway = crypto.generate()
        self.sim_key = crypto.generate()
        identity = SimulatorIdentity(
            "ae-moi", "UAE MOI", "gccpol", "ae-moi-2026", self.sim_key, port=free_port()
        )
        trusted = GatewayKeys(
            [KeyRecord(KeyID("gateway-2026"), "gateway", crypto.public_key_bytes(self.gateway))]
        )
        self.record = tmp_path / "received.jsonl"
        self.sim = Simulator(identity, trusted, control_port=free_port(), record_path=self.record)

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.sim.control_port}"

    def signed(
        self, body: bytes, *, key: crypto.PrivateKey | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        headers = {"content-type": GCC_MT}
        headers.update(
            sign_request(
                "POST",
                self.sim.authority,
                "/inbox",
                headers,
                body,
                key=key or self.gateway,
                keyid="gateway-2026",
                created=int(time.time()),
                nonce=nonce or secrets.token_urlsafe(12),
            )
        )
        return headers

    def check_answer(self, response: httpx.Response) -> dict[str, object]:
        record = KeyRecord(KeyID("ae-moi-2026"), "ae-moi", crypto.public_key_bytes(self.sim_key))
        verify_response(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
            now=int(time.time()),
            window_seconds=60,
            resolve_key=lambda k: record if k == record.keyid else None,
        )
        answer: dict[str, object] = orjson.loads(response.content)
        return answer


def body_with(message_id: str) -> bytes:
    raw = GCC_BODY.replace(b"0b6c1f0e-3f5e-4c7e-9a57-4bb0f5f6a2d1", message_id.encode())
    return attach_provenance(GCC_MT, raw, PROVENANCE)


def test_inbox_checks_signature_digest_replay_provenance_and_duplicates(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = Rig(tmp_path)
        await rig.sim.start()
        try:
            async with httpx.AsyncClient(trust_env=False) as http:
                body = body_with("11111111-1111-4111-8111-111111111111")
                headers = rig.signed(body)
                first = await http.post(rig.sim.url, content=body, headers=headers)
                assert first.status_code == 202
                assert rig.check_answer(first)["status"] == "accepted"

                replay = await http.post(rig.sim.url, content=body, headers=headers)
                assert replay.status_code == 401
                assert rig.check_answer(replay)["error"] == "signature-replayed"

                again = await http.post(rig.sim.url, content=body, headers=rig.signed(body))
                assert again.status_code == 200
                assert rig.check_answer(again)["status"] == "duplicate"

                unsigned = await http.post(
                    rig.sim.url, content=body, headers={"content-type": GCC_MT}
                )
                assert unsigned.status_code == 401
                assert rig.check_answer(unsigned)["error"] == "signature-missing"

                forged = await http.post(
                    rig.sim.url, content=body, headers=rig.signed(body, key=crypto.generate())
                )
                assert rig.check_answer(forged)["error"] == "signature-invalid"

                tampered = await http.post(
                    rig.sim.url, content=body + b" ", headers=rig.signed(body)
                )
                assert rig.check_answer(tampered)["error"] == "digest-mismatch"

                bare = GCC_BODY.replace(b"0b6c1f0e", b"22222222")
                missing = await http.post(rig.sim.url, content=bare, headers=rig.signed(bare))
                assert missing.status_code == 422
                assert rig.check_answer(missing)["error"] == "provenance-missing"

                listing = orjson.loads((await http.get(f"{rig.control}/received")).content)
                assert listing["count"] == 1 and listing["duplicates"] == 1
                assert listing["requests"] == 7
                (kept,) = listing["messages"]
                assert kept["message_id"] == "11111111-1111-4111-8111-111111111111"
                assert kept["provenance"]["audit_index"] == 3
                assert kept["body_sha256"] == hashlib.sha256(body).hexdigest()
            lines = rig.record.read_bytes().splitlines()
            assert [orjson.loads(x)["message_id"] for x in lines] == [kept["message_id"]]
        finally:
            await rig.sim.stop()

    asyncio.run(scenario())


def test_control_modes_over_http(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = Rig(tmp_path)
        await rig.sim.start()
        try:
            async with httpx.AsyncClient(trust_env=False) as http:
                body = body_with("33333333-3333-4333-8333-333333333333")

                async def post() -> httpx.Response:
                    return await http.post(rig.sim.url, content=body, headers=rig.signed(body))

                ok = await http.post(f"{rig.control}/control", json={"mode": "429", "times": 1})
                assert ok.status_code == 200
                limited = await post()
                assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
                assert (await post()).status_code == 202  # "times" ran out: back to ok

                await http.post(f"{rig.control}/control", json={"mode": "5xx", "status": 502})
                assert (await post()).status_code == 502
                assert (await post()).status_code == 502
                await http.post(f"{rig.control}/control", json={"mode": "4xx"})
                assert (await post()).status_code == 400

                bad = await http.post(f"{rig.control}/control", json={"mode": "4xx", "status": 503})
                assert bad.status_code == 400

                # "down" told through the inbox port itself: it answers, then stops listening
                told = await http.post(f"{rig.sim.base_url}/control", json={"mode": "down"})
                assert told.status_code == 200

                async def refused() -> bool:
                    try:
                        await http.get(f"{rig.sim.base_url}/healthz")
                    except httpx.ConnectError:
                        return True
                    except (httpx.ReadError, httpx.RemoteProtocolError):
                        # a kept-alive connection closed as the inbox went down: ask again
                        # on a new one, which decides
                        return False
                    return False

                await until(refused)
                await http.post(f"{rig.control}/control", json={"mode": "slow", "delay": 0.3})
                started = time.monotonic()
                assert (await post()).status_code == 200  # a duplicate by now, answered slowly
                assert time.monotonic() - started >= 0.3
        finally:
            await rig.sim.stop()

    asyncio.run(scenario())


def test_unknown_gateway_key_is_fetched_from_v1_keys(tmp_path: Path) -> None:
    """A delivery signed with a key the simulator has not seen makes it read GET /v1/keys."""

    async def scenario() -> None:
        rig = Rig(tmp_path)
        rotated = crypto.generate()
        jwks_port = free_port()
        x = crypto.public_key_bytes(rotated)
        import base64

        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from gateway.simulators.server import _serve, _shutdown

        async def keys(request: object) -> JSONResponse:
            jwk = {"kty": "OKP", "crv": "Ed25519", "kid": "gateway-2027"}
            jwk["x"] = base64.urlsafe_b64encode(x).rstrip(b"=").decode()
            return JSONResponse({"keys": [jwk]})

        server = await _serve(Starlette(routes=[Route("/v1/keys", keys)]), "127.0.0.1", jwks_port)
        rig.sim.gateway_keys.url = f"http://127.0.0.1:{jwks_port}/v1/keys"
        await rig.sim.start()
        try:
            body = body_with("44444444-4444-4444-8444-444444444444")
            headers = {"content-type": GCC_MT}
            headers.update(
                sign_request(
                    "POST",
                    rig.sim.authority,
                    "/inbox",
                    headers,
                    body,
                    key=rotated,
                    keyid="gateway-2027",
                    created=int(time.time()),
                    nonce="n-1",
                )
            )
            async with httpx.AsyncClient(trust_env=False) as http:
                answer = await http.post(rig.sim.url, content=body, headers=headers)
            assert answer.status_code == 202
            assert rig.sim.received[0].keyid == "gateway-2027"
        finally:
            await rig.sim.stop()
            await _shutdown(server)

    asyncio.run(scenario())


def test_end_to_end_through_the_real_gateway(tmp_path: Path) -> None:
    """ipsg posts a red notice about a Saudi national; the gateway translates it and
    delivers to the GCCPOL hub and the Saudi system, each a simulator."""
    ports = {"gccpol-hub": free_port(), "sa-psd": free_port()}
    cfg = write_config(
        tmp_path / "cfg",
        endpoints={p: f"http://127.0.0.1:{port}/inbox" for p, port in ports.items()},
    )

    async def scenario() -> None:
        sims = {
            p: Simulator(
                SimulatorIdentity(
                    p, p, "gccpol", f"{p}-2026", crypto.as_private_key(cfg.keys[p]), port=port
                ),
                GatewayKeys(url=f"{cfg.url}/v1/keys"),
            )
            for p, port in ports.items()
        }
        for sim in sims.values():
            await sim.start()
        try:
            status, headers, receipt = await post_notice(
                cfg.url,
                INTERPOL_BODY,
                INTERPOL_MT,
                participant="ipsg",
                key=crypto.as_private_key(cfg.keys["ipsg"]),
                keyid="ipsg-2026",
            )
            assert status == 202, receipt
            gw_key = KeyRecord(KeyID("gateway-2026"), "gateway", raw_public(cfg.gateway_key))
            verify_response(
                status=status,
                headers=headers,
                body=receipt,
                now=int(time.time()),
                window_seconds=60,
                resolve_key=lambda k: gw_key if k == gw_key.keyid else None,
            )

            async def both_received() -> bool:
                return all(sim.received for sim in sims.values())

            await until(both_received, timeout=15)
            sha = hashlib.sha256(INTERPOL_BODY).hexdigest()
            for sim in sims.values():
                (got,) = sim.received
                assert got.keyid == "gateway-2026"
                assert got.provenance["origin"] == "ipsg"
                assert got.provenance["origin_message_id"] == "6f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11"
                assert got.provenance["body_sha256"] == sha
                assert got.provenance["keyid"] == "ipsg-2026"
        finally:
            for sim in sims.values():
                await sim.stop()

    with running_gateway(cfg):
        asyncio.run(scenario())
