"""Replaying captures (docs/replay.md): the golden captures replay with no difference; a
changed rule, other keys, a changed translation, --update, a capture exported from a live
gateway, a running target, and unreadable captures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from gateway import crypto
from gateway.capture import read_capture
from gateway.commands.replay import ReplayReport, replay_capture, update_capture
from gateway.replay import capture_config_dir
from tests.harness import pem_private, running_gateway, sign_and_post, write_config
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "tests" / "captures"
RED_RULE = 'deliver_to = ["gccpol-hub", "national-system-of-nationality"]'


def _replay(path: Path, **kwargs: object) -> ReplayReport:
    return asyncio.run(replay_capture(read_capture(path), **kwargs))  # type: ignore[arg-type]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _config_from(capture: Path, directory: Path) -> Path:
    capture_config_dir(read_capture(capture).header, directory)
    return directory


@pytest.mark.parametrize("name", ["demo", "awkward"])
def test_golden_capture_replays_with_no_difference(name: str) -> None:
    report = _replay(CAPTURES / f"{name}.jsonl")
    assert [d.verdict for d in report.diffs] == ["same"] * len(report.diffs)
    assert report.exit_code == 0
    assert report.notes == ()  # same keys, same rules: nothing left unchecked


def test_golden_demo_covers_the_scenario() -> None:
    capture = read_capture(CAPTURES / "demo.jsonl")
    outcomes = [(r.expected.status, r.expected.check, r.expected.routing) for r in capture.requests]
    assert outcomes == [
        (202, None, "routed"),
        (202, None, "routed"),
        (202, None, "refused"),  # H2
        (401, "signature-invalid", None),
        (401, "signature-replayed", None),
        (202, None, "routed"),  # cancel
    ]
    red = capture.requests[0].expected
    assert {r.participant for r in red.recipients} == {"gccpol-hub", "sa-psd"}
    assert [r.reason for r in capture.requests[2].expected.recipients] == [
        "caveat:handling-code:H2"
    ]
    dead = read_capture(CAPTURES / "awkward.jsonl").requests[7].expected.deliveries
    assert [(d.recipient, d.state) for d in dead] == [
        ("gccpol-hub", "delivered"),
        ("qa-moi", "dead"),
    ]


def test_changed_routing_rule_reports_exactly_that(tmp_path: Path) -> None:
    config = _config_from(CAPTURES / "demo.jsonl", tmp_path / "config")
    routing = config / "routing.toml"
    assert RED_RULE in routing.read_text("utf-8")
    routing.write_text(
        routing.read_text("utf-8").replace(
            RED_RULE, 'deliver_to = ["national-system-of-nationality"]'
        ),
        "utf-8",
    )
    report = _replay(CAPTURES / "demo.jsonl", config_dir=config)
    assert [d.verdict for d in report.diffs] == [
        "changed",
        "same",
        "same",
        "same",
        "same",
        "changed",
    ]
    first, cancel = report.diffs[0], report.diffs[5]
    assert [(c.what, c.subject, c.got) for c in first.changes] == [
        ("recipient", "gccpol-hub", None),
        ("translation", "gccpol-hub", None),
    ]
    assert first.changes[0].expected == "routed (rule:red-notices-to-gcc), 5 losses"
    assert [(c.what, c.subject) for c in cancel.changes] == [
        ("recipient", "gccpol-hub"),
        ("translation", "gccpol-hub"),
    ]
    assert report.exit_code == 1
    assert any("routing rules differ" in n for n in report.notes)


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    same = _cli("replay", str(CAPTURES / "demo.jsonl"), "--json")
    assert same.returncode == 0, same.stderr
    doc = json.loads(same.stdout)
    assert doc["summary"] == {"same": 6, "changed": 0, "skipped": 0}

    config = _config_from(CAPTURES / "demo.jsonl", tmp_path / "config")
    routing = config / "routing.toml"
    routing.write_text(routing.read_text("utf-8").replace('deliver_to = ["ipsg"]', "deny_to = []"))
    changed = _cli("replay", str(CAPTURES / "demo.jsonl"), "--config", str(config))
    assert changed.returncode == 1, changed.stderr
    assert "#2     changed" in changed.stdout
    assert "routing: routed → unrouted" in changed.stdout

    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"".join((CAPTURES / "demo.jsonl").read_bytes().splitlines(True)[:3]))
    unreadable = _cli("replay", str(broken))
    assert unreadable.returncode == 2
    assert "broken.jsonl:4: the header announces 6 requests" in unreadable.stderr


def test_update_rewrites_expected_outcomes(tmp_path: Path) -> None:
    capture = tmp_path / "demo.jsonl"
    shutil.copy(CAPTURES / "demo.jsonl", capture)
    config = _config_from(capture, tmp_path / "config")
    routing = config / "routing.toml"
    routing.write_text(
        routing.read_text("utf-8").replace(
            RED_RULE, 'deliver_to = ["national-system-of-nationality"]'
        )
    )
    report = _replay(capture, config_dir=config)
    assert update_capture(read_capture(capture), report) == 2
    again = _replay(capture, config_dir=config)
    assert [d.verdict for d in again.diffs] == ["same"] * 6
    # the rewritten capture carries the new rules: it replays alone with no difference too
    assert _replay(capture).exit_code == 0
    # what was delivered at capture time stays recorded
    assert read_capture(capture).requests[0].expected.deliveries


def test_other_keys_are_resigned_and_said_so(tmp_path: Path) -> None:
    config = _config_from(CAPTURES / "demo.jsonl", tmp_path / "config")
    participants = config / "participants.toml"
    text = participants.read_text("utf-8")
    for line in [ln for ln in text.splitlines() if ln.startswith("public_key_b64")]:
        fresh = base64.b64encode(crypto.generate().public).decode()
        text = text.replace(line, f'public_key_b64 = "{fresh}"')
    participants.write_text(text, "utf-8")
    report = _replay(CAPTURES / "demo.jsonl", config_dir=config)
    assert [d.verdict for d in report.diffs] == ["same"] * 6
    assert any("ncb-fr-2026" in n and "not checked" in n for n in report.notes)
    resigned = [d.seq for d in report.diffs if "re-signed with a test key" in d.notes]
    assert resigned == [1, 2, 3, 5, 6]  # every request whose signature verified at capture


def test_changed_translation_shows_the_fields(tmp_path: Path) -> None:
    lines = (CAPTURES / "demo.jsonl").read_bytes().splitlines(keepends=True)
    row = orjson.loads(lines[1])
    translation = next(t for t in row["expected"]["translations"] if t["recipient"] == "sa-psd")
    xml = base64.b64decode(translation["body_b64"]).decode("utf-8")
    assert "<gcc:HeightCm>178<" in xml
    changed = xml.replace("<gcc:HeightCm>178<", "<gcc:HeightCm>179<").encode("utf-8")
    translation["body_b64"] = base64.b64encode(changed).decode()
    translation["body_sha256"] = hashlib.sha256(changed).hexdigest()
    lines[1] = orjson.dumps(row) + b"\n"
    capture = tmp_path / "tampered.jsonl"
    capture.write_bytes(b"".join(lines))
    report = _replay(capture)
    [change] = report.diffs[0].changes
    assert (change.what, change.subject) == ("translation", "sa-psd")
    paths = {f.path: (f.expected, f.got) for f in change.fields}
    assert paths == {"notice.subject.height_m": ("1.79", "1.78")}


def test_capture_exported_from_a_live_gateway_replays(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config")
    with running_gateway(cfg, start_delivery=False):
        red = interpol_red(sender="ncb-fr", nationalities=["SA"])
        assert sign_and_post(cfg, "ncb-fr", red, INTERPOL).status_code == 202
        assert sign_and_post(cfg, "ae-moi", gcc_missing(), GCCPOL).status_code == 202
        refused = sign_and_post(cfg, "ae-moi", interpol_red(sender="ae-moi"), INTERPOL)
        assert refused.status_code == 415
    output = tmp_path / "live.jsonl"
    done = _cli(
        "audit", "export", "--capture", "--config", str(cfg.directory), "--output", str(output)
    )
    assert done.returncode == 0, done.stderr
    assert "captured 3 requests" in done.stdout
    capture = read_capture(output)
    assert [r.expected.status for r in capture.requests] == [202, 202, 415]
    assert capture.requests[2].expected.check == "content-type-not-senders-schema"
    report = _replay(output)
    assert [d.verdict for d in report.diffs] == ["same"] * 3


def test_erased_bodies_are_named_and_skipped(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config")
    with running_gateway(cfg, start_delivery=False):
        red = interpol_red(sender="ncb-fr", nationalities=["SA"])
        assert sign_and_post(cfg, "ncb-fr", red, INTERPOL).status_code == 202
    erase = _cli("audit", "erase", "--config", str(cfg.directory), "--before", "2999-01-01")
    assert erase.returncode == 0, erase.stderr
    output = tmp_path / "erased.jsonl"
    done = _cli(
        "audit", "export", "--capture", "--config", str(cfg.directory), "--output", str(output)
    )
    assert done.returncode == 0, done.stderr
    assert "bodies erased" in done.stdout
    capture = read_capture(output)
    assert hashlib.sha256(red).hexdigest() in capture.header.erased_bodies
    report = _replay(output)
    assert [d.verdict for d in report.diffs] == ["skipped"]
    assert "erased" in report.diffs[0].notes[0]


def test_replay_against_a_running_target(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "config")
    keys = tmp_path / "keys"
    keys.mkdir()
    for pid, key in cfg.keys.items():
        (keys / f"{cfg.keyid(pid)}.pem").write_bytes(pem_private(key))
    with running_gateway(cfg, start_delivery=False):
        report = _replay(CAPTURES / "demo.jsonl", target=cfg.url, keys_dir=keys)
    assert [d.verdict for d in report.diffs] == ["same"] * 6, [d.changes for d in report.diffs]
    assert any("translations are not visible" in n for n in report.notes)
