"""SIGHUP reloads the configuration of a real `gateway serve` process; an invalid one is
refused and the old configuration stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import GatewayFixture, poll, write_config

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GatewayFixture, subprocess.Popen[bytes]]]:
    cfg = write_config(tmp_path / "config", extra_gateway="worker = false\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(cfg.directory)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            return httpx.get(f"{cfg.url}/readyz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        poll(up, timeout=30)
        yield cfg, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def config_events(cfg: GatewayFixture, outcome: str) -> list[dict[str, object]]:
    events = httpx.get(
        f"{cfg.url}/v1/audit/events",
        params={"kind": "config_loaded", "outcome": outcome, "limit": 50},
        headers=cfg.auth("auditor"),
    ).json()["events"]
    return [e["event"]["details"] for e in events]


def loaded_rules_digests(cfg: GatewayFixture) -> list[str]:
    return [str(d["rules_digest"]) for d in config_events(cfg, "loaded")]


def test_sighup_reloads_and_an_invalid_configuration_is_refused(
    served: tuple[GatewayFixture, subprocess.Popen[bytes]],
) -> None:
    cfg, proc = served
    assert len(loaded_rules_digests(cfg)) == 1
    routing = cfg.directory / "routing.toml"
    good = routing.read_text()
    routing.write_text(
        good + '\n[[rule]]\nid = "extra"\nwhen = { sender = ["ipsg"] }\ndeliver_to = ["ncb-fr"]\n'
    )
    proc.send_signal(signal.SIGHUP)
    poll(lambda: len(loaded_rules_digests(cfg)) == 2, timeout=10)
    digests = loaded_rules_digests(cfg)
    assert digests[0] != digests[1]
    routing.write_text(good + '\n[[rule]]\nid = "broken"\n')
    proc.send_signal(signal.SIGHUP)
    refused = poll(lambda: config_events(cfg, "refused"), timeout=10)
    assert isinstance(refused, list)
    assert any("routing.toml" in p for p in refused[0]["problems"])  # type: ignore[union-attr]
    assert refused[0]["rules_digest"] == digests[0]  # the rules still in force
    assert len(loaded_rules_digests(cfg)) == 2
    assert proc.poll() is None
