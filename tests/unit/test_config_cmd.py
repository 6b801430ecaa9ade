"""`gateway config check` and `gateway rules explain` through the Typer app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli import CliError
from gateway.commands import config_cmd

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config"
SAMPLES = ROOT / "tests" / "data"


def app() -> typer.Typer:
    a = typer.Typer()
    config_cmd.register(a)
    return a


def test_config_check_prints_a_summary() -> None:
    result = CliRunner().invoke(app(), ["config", "check", "--config", str(EXAMPLE)], env={})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "participants: 10" in out and "keys: 10" in out and "rules: 3" in out
    assert "gccpol-hub   hub         audience AE BH KW OM QA SA" in out
    assert "ncb-fr-2026" in out and "valid until 2027-12-31" in out
    assert "operator: duty-officer" in out and "auditor: oversight-auditor" in out
    assert "no-secret-outside-gcc: when classification in [SECRET]; deny_to schema:interpol" in out
    assert "rules digest:" in out and "config digest:" in out


def test_config_check_json_and_gateway_config_default(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, folder)
    result = CliRunner().invoke(
        app(),
        ["config", "check", "--json"],
        env={"GATEWAY_CONFIG": str(folder), "GATEWAY_LIMITS__MAX_BODY_BYTES": "4096"},
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["directory"] == str(folder)
    assert body["environment_overrides"] == {"GATEWAY_LIMITS__MAX_BODY_BYTES": "4096"}
    assert [p["id"] for p in body["participants"]["interpol"]] == ["ipsg", "ncb-fr", "ncb-de"]
    assert body["operators"] == {"operator": ["duty-officer"], "auditor": ["oversight-auditor"]}


def test_config_check_lists_every_error(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, folder)
    text = (folder / "participants.toml").read_text()
    (folder / "participants.toml").write_text(text.replace('country = "DE"', 'country = "XX"'))
    text = (folder / "routing.toml").read_text()
    (folder / "routing.toml").write_text(text.replace('["ipsg"]', '["ghost"]'))
    result = CliRunner().invoke(app(), ["config", "check", "--config", str(folder)], env={})
    assert isinstance(result.exception, CliError)
    assert "2 problems" in str(result.exception)
    assert "participants.toml:" in result.stderr and "participant[2].country" in result.stderr
    assert "routing.toml:" in result.stderr and "rule[1].deliver_to[0]" in result.stderr


def test_explain_refuses_what_is_neither_json_nor_xml(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_text("hello")
    result = CliRunner().invoke(
        app(), ["rules", "explain", "--config", str(EXAMPLE), str(path)], env={}
    )
    assert isinstance(result.exception, CliError)
    assert "neither JSON" in str(result.exception)


def _adapters_or_skip() -> None:
    from adapters import adapter_for_schema

    try:
        adapter_for_schema("interpol")
        adapter_for_schema("gccpol")
    except ImportError as exc:
        pytest.skip(f"the adapters are being written in parallel and do not import yet: {exc}")


def test_explain_the_samples() -> None:
    _adapters_or_skip()
    runner = CliRunner()
    red = runner.invoke(
        app(),
        ["rules", "explain", "--config", str(EXAMPLE), str(SAMPLES / "interpol-red-publish.json")],
        env={},
    )
    assert red.exit_code == 0, red.output
    assert "deliver to gccpol-hub: rule:red-notices-to-gcc" in red.stdout
    assert "deliver to sa-psd: rule:red-notices-to-gcc" in red.stdout
    missing = runner.invoke(
        app(),
        ["rules", "explain", "--json", "--config", str(EXAMPLE),
         str(SAMPLES / "gccpol-missing-new.xml")],
    )  # fmt: skip
    assert missing.exit_code == 0, missing.output
    body = json.loads(missing.stdout)
    assert body["routing"] == "routed"
    assert [r["participant"] for r in body["recipients"]] == ["ipsg"]


def test_explain_h2_alert_exits_non_zero(tmp_path: Path) -> None:
    _adapters_or_skip()
    text = (SAMPLES / "gccpol-missing-new.xml").read_text("utf-8")
    path = tmp_path / "h2.xml"
    path.write_text(text.replace("<gcc:HandlingCode>H0<", "<gcc:HandlingCode>H2<"), "utf-8")
    result = CliRunner().invoke(
        app(), ["rules", "explain", "--config", str(EXAMPLE), str(path)], env={}
    )
    assert isinstance(result.exception, CliError)
    assert "refuse for ipsg: caveat:handling-code:H2" in result.stdout
