"""RFC 9421 interop with an implementation in another language: Node.js and the npm
package `http-message-signatures` (tests/interop/node). Ours-signed verifies there;
theirs-signed verifies here. Skipped when node or the packages are missing, unless
GATEWAY_TEST_REQUIRE_ALL=1, which turns the skip into a failure."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from gateway import crypto
from gateway.errors import Unauthorized
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import DEFAULT_REQUEST_COMPONENTS, sign_request, verify_request

pytestmark = [pytest.mark.integration, pytest.mark.node]

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
AUTHORITY = "127.0.0.1:8080"
URL = f"http://{AUTHORITY}/v1/messages"
KEY = crypto.private_key_from_seed(bytes(range(100, 132)))
KEYID = "ncb-fr-2026"
KEYS = {KeyID(KEYID): KeyRecord(KeyID(KEYID), "ncb-fr", KEY.public)}
BODY = json.dumps(
    {"message_id": "m-1", "sender_id": "ncb-fr", "name": "عبد الله"}, ensure_ascii=False
).encode()


def _unavailable(reason: str) -> None:
    if os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1":
        pytest.fail(f"GATEWAY_TEST_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    executable = shutil.which("node")
    if executable is None or shutil.which("npm") is None:
        _unavailable("node and npm are needed for the RFC 9421 interop test")
    assert executable is not None
    setup = subprocess.run(
        ["sh", str(NODE_DIR / "setup.sh")], capture_output=True, text=True, timeout=300
    )
    if setup.returncode != 0:
        _unavailable(f"tests/interop/node/setup.sh failed: {setup.stderr.strip()[-500:]}")
    return executable


def run_node(node: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(NODE_DIR / "rfc9421.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ours_signed(created: int, **overrides: Any) -> dict[str, str]:
    headers = {"content-type": "application/vnd.interpol.notice+json"}
    headers.update(
        sign_request(
            "POST",
            AUTHORITY,
            "/v1/messages",
            headers,
            BODY,
            key=KEY,
            keyid=KEYID,
            created=created,
            expires=created + 300,
            nonce="ours-1",
            **overrides,
        )
    )
    return headers


def node_verify(node: str, headers: dict[str, str], body: bytes = BODY) -> dict[str, Any]:
    return run_node(
        node,
        {
            "op": "verify",
            "method": "POST",
            "url": URL,
            "headers": headers,
            "body_b64": base64.b64encode(body).decode(),
            "public_key_pem": crypto.public_key_pem(KEY.public).decode(),
            "keyid": KEYID,
            "required_components": list(DEFAULT_REQUEST_COMPONENTS),
            "tolerance": 300,
        },
    )


def test_ours_signed_verifies_in_node(node: str) -> None:
    headers = ours_signed(int(time.time()))
    assert node_verify(node, headers) == {"verified": True, "digest_ok": True, "error": None}


def test_node_refuses_ours_when_tampered(node: str) -> None:
    headers = ours_signed(int(time.time()))
    result = node_verify(node, dict(headers, **{"content-type": "application/json"}))
    assert result["verified"] is False
    assert node_verify(node, headers, BODY + b" ")["digest_ok"] is False


def test_node_signed_verifies_with_ours(node: str) -> None:
    created = 1_763_626_500
    signed = run_node(
        node,
        {
            "op": "sign",
            "method": "POST",
            "url": URL,
            "headers": {"content-type": "application/vnd.interpol.notice+json"},
            "body_b64": base64.b64encode(BODY).decode(),
            "private_key_pem": crypto.private_key_pem(KEY).decode(),
            "keyid": KEYID,
            "created": created,
            "expires": created + 300,
            "nonce": "node-1",
            "label": "node",
            "components": list(DEFAULT_REQUEST_COMPONENTS),
        },
    )
    headers = {name.lower(): value for name, value in signed["headers"].items()}
    # Node computed its own Content-Digest; it must equal ours for the same bytes.
    assert headers["content-digest"] == ours_signed(created)["content-digest"]
    common: dict[str, Any] = {
        "method": "POST",
        "authority": AUTHORITY,
        "path": "/v1/messages",
        "body": BODY,
        "expected_authority": AUTHORITY,
        "now": created + 1,
        "window_seconds": 300,
        "resolve_key": KEYS.get,
    }
    result = verify_request(headers=headers, **common)
    assert (result.label, result.nonce, result.keyid) == ("node", "node-1", KEYID)
    assert result.expires == created + 300

    with pytest.raises(Unauthorized) as info:
        verify_request(headers=dict(headers, **{"content-type": "text/plain"}), **common)
    assert info.value.slug == "signature-invalid"
