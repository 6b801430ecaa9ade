"""Refusals made before the pipeline (operator logins, bodies too large) are audited and
share the unauthenticated budget; once it is spent the answer is 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.harness import audited_refusals, running_gateway, sign_and_post, write_config
from tests.messages import INTERPOL, interpol_red

pytestmark = pytest.mark.integration

LIMITS = """[limits]
unauthenticated_rate_per_second = 0.01
unauthenticated_burst = 5
"""


def test_unauthenticated_refusals_are_audited_then_limited(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    toml = cfg.directory / "gateway.toml"
    toml.write_text(toml.read_text("utf-8").replace("[limits]\n", LIMITS), "utf-8")
    with running_gateway(cfg, start_delivery=False), httpx.Client() as client:
        bad_token = client.get(cfg.url + "/v1/deliveries", headers={"authorization": "Bearer nope"})
        assert bad_token.status_code == 401
        no_token = client.get(cfg.url + "/v1/audit/checkpoint")
        assert no_token.status_code == 401
        too_big = client.post(
            cfg.url + "/v1/messages",
            content=b"x" * (1024 * 1024 + 1),
            headers={"content-type": INTERPOL},
        )
        assert too_big.status_code == 413
        assert too_big.headers["content-type"] == "application/problem+json"
        unsigned = client.post(
            cfg.url + "/v1/messages", content=interpol_red(), headers={"content-type": INTERPOL}
        )
        assert unsigned.status_code == 401
        forged = client.get(cfg.url + "/v1/deliveries", headers={"authorization": "Bearer x"})
        assert forged.status_code == 401  # the fifth: the burst is now spent
        limited = client.get(cfg.url + "/v1/deliveries", headers={"authorization": "Bearer y"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"].isdigit()
        assert limited.json()["refused_check"] == "operator-token-unknown"
        # A real sender is not affected by the spent unauthenticated budget.
        ok = sign_and_post(cfg, "ipsg", interpol_red(), INTERPOL, client=client)
        assert ok.status_code == 202, ok.text
        # The operator with a good token is not either.
        assert client.get(cfg.url + "/v1/deliveries", headers=cfg.auth("auditor")).is_success
    outcomes = audited_refusals(cfg)
    assert [o for o, _ in outcomes] == [
        "operator-token-unknown",
        "operator-token-missing",
        "body-too-large",
        outcomes[3][0],
        "operator-token-unknown",
        "rate-limited",
    ], outcomes
    assert outcomes[3][0].startswith("signature-")
    assert [p for _, p in outcomes][:3] == [
        "/v1/deliveries",
        "/v1/audit/checkpoint",
        "/v1/messages",
    ]


def test_both_transfer_encoding_and_content_length_is_refused_and_audited(tmp_path: Path) -> None:
    """RFC 9112 §6.3: a request with both framings "ought to be handled as an error" (the
    HTTP parser alone would follow Transfer-Encoding; a proxy in front might not)."""
    import socket

    cfg = write_config(tmp_path)
    with running_gateway(cfg, start_delivery=False):
        s = socket.create_connection(("127.0.0.1", cfg.port), timeout=10)
        s.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
            + INTERPOL.encode()
            + b"\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        s.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"connection: close" in head.lower()
    assert b'"type":"urn:gateway:problem:framing-ambiguous"' in body
    assert audited_refusals(cfg) == [("framing-ambiguous", "/v1/messages")]
