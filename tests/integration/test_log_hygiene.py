"""No token, no private key material and no notice text in any log line (api.md; logs.py).

A real exchange: `gateway serve` at debug level and simulated recipients, each its own
process with its stderr and stdout captured; notices posted both ways, delivered, read back
by an operator (which shows the bodies), operator calls with good and bad tokens, and
refusals. Then every captured line is searched for every secret and every notice string.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.harness import GatewayFixture, pem_private, poll, sign_and_post, write_config
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = ("gccpol-hub", "sa-psd", "ipsg", "ncb-fr")
NOTICE_TEXT = [
    "AL QAHTANI",
    "MOHAMMED ABDULLAH SAAD",
    "القحطاني",
    "محمد عبدالله سعد",
    "Scar on left cheek",
    "A1234567",
    "Vol à main armée",
    "PAR/2026/7781",
    "مريم",
    "المزروعي",
    "AL MAZROUEI",
    "MARYAM",
    "فاطمة الكعبي",
    "Dubai International Airport",
]


def secrets_of(cfg: GatewayFixture, bogus_token: str) -> dict[str, str]:
    found: dict[str, str] = {f"token:{role}": tok for role, tok in cfg.tokens.items()}
    found["token:bogus"] = bogus_token
    keys = {**cfg.keys, "gateway": cfg.gateway_key}
    for name, key in keys.items():
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        found[f"seed-b64:{name}"] = base64.b64encode(seed).decode().rstrip("=")
        found[f"seed-b64url:{name}"] = base64.urlsafe_b64encode(seed).decode().rstrip("=")
        found[f"seed-hex:{name}"] = seed.hex()
        pem_lines = pem_private(key).decode().splitlines()
        found[f"pem:{name}"] = "".join(pem_lines[1:-1])[:40]
    found["pem-header"] = "PRIVATE KEY-----"
    return found


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[GatewayFixture, Path]]:
    cfg = write_config(tmp_path / "gw")
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    files = []

    def start(name: str, args: list[str]) -> None:
        out = (logs / f"{name}.log").open("wb")
        files.append(out)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gateway", *args], env=env, stdout=out, stderr=out
            )
        )

    try:
        start(
            "gateway",
            ["serve", "--config", str(cfg.directory), "--log-level", "debug"],
        )
        gateway_pub = tmp_path / "gateway.pub.pem"
        gateway_pub.write_bytes(
            cfg.gateway_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        for pid in RECIPIENTS:
            key = tmp_path / f"{pid}.pem"
            key.write_bytes(pem_private(cfg.keys[pid]))
            port = int(cfg.endpoints[pid].rsplit(":", 1)[1].split("/", 1)[0])
            start(
                f"sim-{pid}",
                [
                    "sim",
                    pid,
                    "--config",
                    str(cfg.directory),
                    "--key",
                    str(key),
                    "--port",
                    str(port),
                    "--record",
                    str(logs / f"{pid}.received"),
                    "--gateway-key",
                    str(gateway_pub),
                ],
            )
        poll(lambda: _up(cfg.url + "/readyz"), timeout=30)
        yield cfg, logs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        for f in files:
            f.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_logs_hold_no_token_no_key_and_no_notice_text(
    exchange: tuple[GatewayFixture, Path],
) -> None:
    cfg, logs = exchange
    bogus = "not-a-real-token-" + "Zq9" * 10
    with httpx.Client(timeout=30) as client:
        red = sign_and_post(
            cfg, "ipsg", interpol_red(nationalities=["SA"]), INTERPOL, client=client
        )
        alert = sign_and_post(cfg, "ae-moi", gcc_missing(), GCCPOL, client=client)
        assert red.status_code == 202, red.text
        assert alert.status_code == 202, alert.text
        # Refusals that carry notice text: schema violations and a wrong signer.
        bad = sign_and_post(cfg, "ncb-fr", interpol_red(), INTERPOL, client=client)
        assert bad.status_code == 401
        bad = sign_and_post(cfg, "ipsg", interpol_red(sex_id="Q"), INTERPOL, client=client)
        assert bad.status_code == 422
        # Operators: good tokens read bodies back; a bogus one is refused.
        mid = red.json()["message_id"]
        life = client.get(f"{cfg.url}/v1/messages/{mid}", headers=cfg.auth("auditor"))
        assert life.status_code == 200 and "AL QAHTANI" in life.text
        assert (
            client.get(
                f"{cfg.url}/v1/deliveries", headers={"authorization": f"Bearer {bogus}"}
            ).status_code
            == 401
        )
        assert client.post(f"{cfg.url}/v1/admin/reload", headers=cfg.auth("admin")).is_success
        assert (
            client.get(
                f"{cfg.url}/v1/deliveries?state=bogus", headers=cfg.auth("operator")
            ).status_code
            == 400
        )
        poll(
            lambda: (
                any((logs / f"{pid}.received").exists() for pid in RECIPIENTS[:2])
                and any((logs / f"{pid}.received").exists() for pid in RECIPIENTS[2:])
            ),
            timeout=30,
        )
    lines = [
        (path.name, line)
        for path in sorted(logs.glob("*.log"))
        for line in path.read_text("utf-8", "replace").splitlines()
    ]
    assert any(name == "gateway.log" for name, _ in lines), "the gateway logged nothing"
    needles = {**secrets_of(cfg, bogus), **{f"notice:{t}": t for t in NOTICE_TEXT}}
    leaks = [
        (what, name, line[:200])
        for name, line in lines
        for what, needle in needles.items()
        if needle in line
    ]
    assert leaks == [], leaks
    print(f"log hygiene: {len(lines)} log lines, {len(needles)} needles, no leak")
