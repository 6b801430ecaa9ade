"""POST /v1/messages against the real server on loopback, with real signed requests:
every check of signatures.md failed on purpose, each refusal a problem body and an audit
event, none reaching routing."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import sign_request, verify_response
from tests.harness import GatewayFixture, running_gateway, sign_and_post, write_config
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFixture]:
    cfg = write_config(
        tmp_path_factory.mktemp("ingress") / "config",
        revoked=frozenset({"kw-moi"}),
        key_extra={
            "om-rop": 'not_after = "2020-01-01T00:00:00Z"',
            "qa-moi": 'not_before = "2099-01-01T00:00:00Z"',
        },
        may_send={"ncb-de": ["notice.update"]},
        extra_gateway="",
    )
    with running_gateway(cfg, start_delivery=False):
        yield cfg


@pytest.fixture
def client(gw: GatewayFixture) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gw.url, timeout=10) as c:
        yield c


def refused_count(client: httpx.Client, gw: GatewayFixture) -> int:
    r = client.get("/v1/audit/events", params={"kind": "refused", "limit": 500}, headers=gw.auth())
    assert r.status_code == 200
    return len(r.json()["events"])


def delivery_count(client: httpx.Client, gw: GatewayFixture) -> int:
    r = client.get(
        "/v1/audit/events", params={"kind": "translated", "limit": 500}, headers=gw.auth()
    )
    return len(r.json()["events"])


def signed_headers(
    gw: GatewayFixture, participant: str, body: bytes, media_type: str = INTERPOL, **kw: Any
) -> dict[str, str]:
    headers = {"content-type": media_type}
    params: dict[str, Any] = {
        "key": gw.keys[participant],
        "keyid": gw.keyid(participant),
        "created": int(time.time()),
        "nonce": secrets.token_urlsafe(16),
    }
    params.update(kw)
    headers.update(sign_request("POST", gw.authority, "/v1/messages", headers, body, **params))
    return headers


def assert_refused(
    client: httpx.Client, gw: GatewayFixture, response: httpx.Response, status: int, slug: str
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"urn:gateway:problem:{slug}", problem
    assert problem["status"] == status
    assert problem["detail"]
    return problem


# ---- the happy path ------------------------------------------------------------------------


def test_red_notice_is_accepted_with_a_signed_receipt(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    body = interpol_red()
    r = sign_and_post(gw, "ipsg", body, INTERPOL, client=client)
    assert r.status_code == 202, r.text
    receipt = r.json()
    assert receipt["body_sha256"] == __import__("hashlib").sha256(body).hexdigest()
    assert receipt["routing"] == "routed"
    routed = {x["participant"] for x in receipt["recipients"] if x["outcome"] == "routed"}
    assert routed == {"gccpol-hub", "sa-psd"}
    # The receipt is signed by the gateway over @status, content-type and content-digest.
    keys = client.get("/v1/keys").json()["keys"]
    jwk = keys[0]
    public = base64.urlsafe_b64decode(jwk["x"] + "=")
    record = KeyRecord(keyid=KeyID(jwk["kid"]), participant="gateway", public_key=public)
    verified = verify_response(
        status=r.status_code,
        headers={k.lower(): v for k, v in r.headers.items()},
        body=r.content,
        now=int(time.time()),
        window_seconds=300,
        resolve_key=lambda kid: record if kid == record.keyid else None,
    )
    assert verified.keyid == "gateway-2026"
    assert "@status" in verified.components


def test_receipt_audit_index_points_at_the_received_event(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    r = sign_and_post(gw, "ae-moi", gcc_missing(), GCCPOL, client=client)
    assert r.status_code == 202, r.text
    receipt = r.json()
    entry = client.get(f"/v1/audit/entries/{receipt['audit_index']}", headers=gw.auth())
    assert entry.status_code == 200
    ev = entry.json()["event"]
    assert ev["kind"] == "received"
    assert ev["message_id"] == receipt["message_id"]
    assert ev["body_sha256"]["received"] == receipt["body_sha256"]


def test_h2_alert_is_refused_for_interpol_in_the_receipt(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    r = sign_and_post(gw, "ae-moi", gcc_missing(handling_code="H2"), GCCPOL, client=client)
    assert r.status_code == 202
    outcome = {x["participant"]: x for x in r.json()["recipients"]}
    assert outcome["ipsg"]["outcome"] == "refused"
    assert outcome["ipsg"]["reason"] == "caveat:handling-code:H2"


def test_unrouted_message_is_recorded_and_said(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red(nationalities=["FR"])  # no rule routes a red notice about a French national
    r = sign_and_post(gw, "ipsg", body, INTERPOL, client=client)
    assert r.status_code == 202
    assert r.json()["routing"] == "unrouted"
    assert r.json()["recipients"] == []


def test_same_message_twice_is_idempotent_and_other_bytes_conflict(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    body = interpol_red()
    first = sign_and_post(gw, "ipsg", body, INTERPOL, client=client)
    before = delivery_count(client, gw)
    again = sign_and_post(gw, "ipsg", body, INTERPOL, client=client)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert delivery_count(client, gw) == before  # nothing routed twice
    mid = first.json()["message_id"]
    other = interpol_red(message_id=mid, place_of_birth="JEDDAH")
    r = sign_and_post(gw, "ipsg", other, INTERPOL, client=client)
    assert_refused(client, gw, r, 409, "message-id-reused")


# ---- every check failed on purpose ---------------------------------------------------------


def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v1/messages", content=body, headers=headers)


def test_no_signature(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = {"content-type": INTERPOL, "content-digest": crypto_digest(body)}
    assert_refused(client, gw, post(client, body, headers), 401, "signature-missing")


def crypto_digest(body: bytes) -> str:
    from gateway.signatures import content_digest

    return content_digest(body)


def test_signature_over_other_components(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body, components=("@method", "@authority", "@path"))
    p = assert_refused(client, gw, post(client, body, headers), 401, "signature-components-missing")
    assert "content-digest" in p["detail"]


def test_wrong_digest(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body)
    headers["content-digest"] = crypto_digest(b"something else")
    # The digest header is covered, so the signature breaks too; the digest check names it.
    r = post(client, body, headers)
    assert r.status_code == 401
    assert r.json()["type"] in (
        "urn:gateway:problem:digest-mismatch",
        "urn:gateway:problem:signature-invalid",
    )


def test_body_changed_after_signing(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body)
    assert_refused(client, gw, post(client, body + b" ", headers), 401, "digest-mismatch")


def test_header_changed_after_signing(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body)
    headers["content-type"] = INTERPOL + "; charset=utf-8"
    assert_refused(client, gw, post(client, body, headers), 401, "signature-invalid")


def test_unknown_keyid(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body, keyid="nobody-2026")
    assert_refused(client, gw, post(client, body, headers), 401, "key-unknown")


def test_revoked_key(gw: GatewayFixture, client: httpx.Client) -> None:
    body = gcc_missing(sender="kw-moi")
    headers = signed_headers(gw, "kw-moi", body, GCCPOL)
    assert_refused(client, gw, post(client, body, headers), 401, "key-revoked")


def test_expired_key(gw: GatewayFixture, client: httpx.Client) -> None:
    body = gcc_missing(sender="om-rop")
    headers = signed_headers(gw, "om-rop", body, GCCPOL)
    assert_refused(client, gw, post(client, body, headers), 401, "key-expired")


def test_key_not_yet_valid(gw: GatewayFixture, client: httpx.Client) -> None:
    body = gcc_missing(sender="qa-moi")
    headers = signed_headers(gw, "qa-moi", body, GCCPOL)
    assert_refused(client, gw, post(client, body, headers), 401, "key-not-yet-valid")


def test_created_too_old(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body, created=int(time.time()) - 412)
    p = assert_refused(client, gw, post(client, body, headers), 401, "signature-created-too-old")
    assert "300" in p["detail"]


def test_created_in_the_future(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body, created=int(time.time()) + 3600)
    assert_refused(client, gw, post(client, body, headers), 401, "signature-created-in-future")


def test_expired_expires(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    now = int(time.time())
    headers = signed_headers(gw, "ipsg", body, created=now - 20, expires=now - 10)
    assert_refused(client, gw, post(client, body, headers), 401, "signature-expired")


def test_replayed_nonce(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body)
    assert post(client, body, headers).status_code == 202
    assert_refused(client, gw, post(client, body, headers), 401, "signature-replayed")


def test_sender_is_not_the_signer(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red(sender="ncb-fr")
    headers = signed_headers(gw, "ipsg", body)
    assert_refused(client, gw, post(client, body, headers), 401, "sender-not-signer")


def test_kind_the_sender_may_not_send(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red(sender="ncb-de")
    headers = signed_headers(gw, "ncb-de", body)
    assert_refused(client, gw, post(client, body, headers), 403, "kind-not-allowed")


def test_oversized_body(gw: GatewayFixture, client: httpx.Client) -> None:
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    headers = signed_headers(gw, "ipsg", body)
    assert_refused(client, gw, post(client, body, headers), 413, "body-too-large")


def test_wrong_content_type(gw: GatewayFixture, client: httpx.Client) -> None:
    body = interpol_red()
    headers = signed_headers(gw, "ipsg", body, media_type="application/json")
    assert_refused(client, gw, post(client, body, headers), 415, "content-type-unknown")


def test_malformed_json(gw: GatewayFixture, client: httpx.Client) -> None:
    body = b'{"message_id": '
    headers = signed_headers(gw, "ipsg", body)
    assert_refused(client, gw, post(client, body, headers), 400, "body-malformed")


def test_schema_violation_lists_every_path(gw: GatewayFixture, client: httpx.Client) -> None:
    doc = json.loads(interpol_red())
    doc["notice"]["date_of_birth"] = "1980/04/31"
    doc["notice"]["sex_id"] = "X"
    body = json.dumps(doc).encode()
    headers = signed_headers(gw, "ipsg", body)
    p = assert_refused(client, gw, post(client, body, headers), 422, "schema-violation")
    paths = {v["path"] for v in p["violations"]}
    assert {"notice.date_of_birth", "notice.sex_id"} <= paths


def test_doctype_is_refused(gw: GatewayFixture, client: httpx.Client) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + gcc_missing().split(b"?>", 1)[1]
    headers = signed_headers(gw, "ae-moi", body, GCCPOL)
    assert_refused(client, gw, post(client, body, headers), 400, "body-malformed")


def test_every_refusal_is_audited_and_none_is_routed(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    refused_before = refused_count(client, gw)
    routed_before = delivery_count(client, gw)
    body = interpol_red()
    bad = [
        (body + b" ", signed_headers(gw, "ipsg", body)),
        (body, signed_headers(gw, "ipsg", body, keyid="nobody")),
        (body, signed_headers(gw, "ipsg", body, created=int(time.time()) - 1000)),
        (body, {"content-type": INTERPOL}),
    ]
    for b, h in bad:
        assert post(client, b, h).status_code == 401
    assert refused_count(client, gw) == refused_before + len(bad)
    assert delivery_count(client, gw) == routed_before
    events = client.get(
        "/v1/audit/events", params={"kind": "refused", "limit": 1}, headers=gw.auth()
    ).json()["events"]
    assert events[0]["event"]["details"]["check"] == "signature-missing"


def test_replay_is_refused_after_a_restart(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config")
    body = interpol_red()
    headers = signed_headers(cfg, "ipsg", body)
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        assert post(c, body, headers).status_code == 202
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        r = post(c, body, headers)
        assert r.status_code == 401
        assert r.json()["type"] == "urn:gateway:problem:signature-replayed"


# ---- explain and keys ----------------------------------------------------------------------


def test_routing_explain_is_a_dry_run(gw: GatewayFixture, client: httpx.Client) -> None:
    before = delivery_count(client, gw)
    r = client.post(
        "/v1/routing/explain",
        content=interpol_red(),
        headers={"content-type": INTERPOL, **gw.auth("auditor")},
    )
    assert r.status_code == 200, r.text
    decision = r.json()
    routed = {o["participant"] for o in decision["recipients"] if o["outcome"] == "routed"}
    assert routed == {"gccpol-hub", "sa-psd"}
    assert any("red-notices-to-gcc" in line for line in decision["explanation"])
    assert delivery_count(client, gw) == before


def test_operator_endpoints_need_a_token_and_a_role(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    assert client.get("/v1/audit/checkpoint").status_code == 401
    bad = client.get("/v1/audit/checkpoint", headers={"authorization": "Bearer nope"})
    assert bad.status_code == 401
    r = client.post("/v1/admin/reload", headers=gw.auth("auditor"))
    assert r.status_code == 403
    assert r.json()["type"] == "urn:gateway:problem:operator-role-insufficient"


def test_reload_keeps_the_old_configuration_when_the_new_one_is_invalid(
    tmp_path: Path,
) -> None:
    cfg = write_config(tmp_path / "config")
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        good = (cfg.directory / "routing.toml").read_text()
        (cfg.directory / "routing.toml").write_text(
            good + '\n[[rule]]\nid = "x"\nwhen = { nonsense = 1 }\ndeliver_to = ["nobody"]\n'
        )
        r = c.post("/v1/admin/reload", headers=cfg.auth("admin"))
        assert r.status_code == 422
        assert any("routing.toml" in e for e in r.json()["errors"])
        assert sign_and_post(cfg, "ipsg", interpol_red(), INTERPOL, client=c).status_code == 202
        (cfg.directory / "routing.toml").write_text(good)
        assert c.post("/v1/admin/reload", headers=cfg.auth("admin")).status_code == 200


def test_keys_endpoint_publishes_public_keys_only(gw: GatewayFixture, client: httpx.Client) -> None:
    jwks = client.get("/v1/keys").json()
    assert jwks["keys"][0]["kty"] == "OKP"
    assert "d" not in jwks["keys"][0]
    assert base64.urlsafe_b64decode(jwks["keys"][0]["x"] + "=") == crypto.public_key_bytes(
        crypto.as_private_key(gw.gateway_key)
    )
