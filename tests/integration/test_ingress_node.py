"""A request signed by an RFC 9421 implementation this project did not write (Node.js,
npm `http-message-signatures`) is accepted by the real server over HTTP, and the receipt
the server signs verifies there."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway import crypto
from tests.harness import GatewayFixture, running_gateway, write_config
from tests.integration.test_signatures_node import node, run_node  # noqa: F401
from tests.messages import INTERPOL, interpol_red

pytestmark = [pytest.mark.integration, pytest.mark.node]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFixture]:
    cfg = write_config(tmp_path_factory.mktemp("ingress-node") / "config")
    with running_gateway(cfg, start_delivery=False):
        yield cfg


def node_signed(gw: GatewayFixture, node: str, body: bytes) -> dict[str, str]:  # noqa: F811
    """Headers the npm RFC 9421 implementation signs for ``body`` as ipsg."""
    pem = crypto.private_key_pem(crypto.as_private_key(gw.keys["ipsg"])).decode()
    headers: dict[str, str] = run_node(
        node,
        {
            "op": "sign",
            "method": "POST",
            "url": f"{gw.url}/v1/messages",
            "headers": {"content-type": INTERPOL},
            "body_b64": base64.b64encode(body).decode(),
            "private_key_pem": pem,
            "keyid": gw.keyid("ipsg"),
            "created": int(time.time()),
            "nonce": secrets.token_urlsafe(12),
            "label": "node",
            "components": ["@method", "@authority", "@path", "content-type", "content-digest"],
        },
    )["headers"]
    return headers


def test_node_signed_request_is_accepted_and_its_receipt_verifies_in_node(
    gw: GatewayFixture,
    node: str,  # noqa: F811
) -> None:
    body = interpol_red()
    signed = node_signed(gw, node, body)
    r = httpx.post(f"{gw.url}/v1/messages", content=body, headers=signed)
    assert r.status_code == 202, r.text
    gateway_pub = crypto.public_key_pem(crypto.as_private_key(gw.gateway_key).public).decode()
    # Node verifies the gateway's signed receipt (a response: @status is covered).
    verdict = run_node(
        node,
        {
            "op": "verify",
            "method": "POST",
            "url": f"{gw.url}/v1/messages",
            "status": r.status_code,
            "headers": dict(r.headers),
            "body_b64": base64.b64encode(r.content).decode(),
            "public_key_pem": gateway_pub,
            "keyid": "gateway-2026",
            "required_components": ["@status", "content-type", "content-digest"],
            "tolerance": 300,
        },
    )
    assert verdict["digest_ok"], verdict
    assert verdict["verified"], verdict


def test_node_signed_request_with_a_tampered_body_is_refused(
    gw: GatewayFixture,
    node: str,  # noqa: F811
) -> None:
    body = interpol_red()
    signed = node_signed(gw, node, body)
    r = httpx.post(
        f"{gw.url}/v1/messages", content=body.replace(b"RIYADH", b"JEDDAH"), headers=signed
    )
    assert r.status_code == 401
    assert r.json()["type"] == "urn:gateway:problem:digest-mismatch"
