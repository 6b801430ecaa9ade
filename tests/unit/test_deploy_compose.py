"""docker-compose.yml and the Dockerfile, checked without Docker: the file is valid under the
Compose Specification schema (vendored: tests/data/compose/SOURCE.md), every gateway
service's command parses with the real CLI (the command and each option exist), and every
GATEWAY_<SECTION>__<KEY> it sets is a real setting that validates (gateway/config.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml

from gateway import cli
from gateway.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/data/compose/compose-spec.json").read_text("utf-8"))
GATEWAY_IMAGE = "police-gateway:latest"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft201909Validator(SCHEMA)


def _gateway_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in doc["services"].items()
        if svc.get("image") == GATEWAY_IMAGE or "build" in svc
    }


def _cli() -> Any:
    """The click group behind `gateway` (Typer ships its own copy of click)."""
    if not cli.app.registered_commands:
        cli._register()
    return typer.main.get_command(cli.app)


def _rest(ctx: Any) -> list[str]:
    protected = getattr(ctx, "_protected_args", None)  # click >= 8.2 keeps them here
    if protected is None:
        protected = getattr(ctx, "protected_args", [])
    return [*protected, *ctx.args]


def _parse(group: Any, argv: list[str]) -> Any:
    """Parse like `gateway ARGV` would, without running anything."""
    root = group.make_context("gateway", list(argv), resilient_parsing=False)
    name, command, rest = group.resolve_command(root, _rest(root))
    assert command is not None, f"no command {name!r}"
    ctx = command.make_context(name or "", rest, parent=root)
    if hasattr(command, "resolve_command"):  # a group, e.g. `audit verify`
        sub, subcommand, more = command.resolve_command(ctx, _rest(ctx))
        assert subcommand is not None, f"no command {sub!r}"
        return subcommand.make_context(sub or "", more, parent=ctx)
    return ctx


def _env(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_compose_file_is_valid_under_the_compose_specification() -> None:
    doc = _compose()
    errors = sorted(_validator().iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors]


def test_the_schema_check_can_fail() -> None:
    doc = copy.deepcopy(_compose())
    doc["services"]["gateway-1"]["command"] = 8080  # neither a string nor a list
    doc["services"]["edge"]["restart_policy"] = "always"  # not a service property
    messages = [e.message for e in _validator().iter_errors(doc)]
    assert len(messages) >= 2, messages


def test_the_deployment_has_the_promised_shape() -> None:
    doc = _compose()
    services = doc["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    replicas = [n for n, s in services.items() if (s.get("command") or [""])[0] == "serve"]
    assert len(replicas) == 2, replicas
    urls = {_env(services[n])["GATEWAY_STORAGE__URL"] for n in replicas}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql://")  # one database
    listens = {_env(services[n])["GATEWAY_GATEWAY__LISTEN"] for n in replicas}
    assert len(listens) == 2
    nginx = (ROOT / "deploy/nginx.conf").read_text("utf-8")
    for listen in listens:  # the proxy sends to both replicas
        assert f"server {listen}" in nginx
    assert "proxy_set_header Host $http_host;" in nginx  # @authority is signed
    sims = [n for n, s in services.items() if (s.get("command") or [""])[0] == "sim"]
    assert len(sims) == 10
    mounted = {v for n in replicas for v in services[n]["volumes"]}
    assert mounted == {"./config:/config:ro"}


def test_every_gateway_command_and_option_exists() -> None:
    group = _cli()
    checked = 0
    for name, svc in _gateway_services(_compose()).items():
        command = svc.get("command")
        assert isinstance(command, list), f"{name}: command should be a list"
        ctx = _parse(group, command)
        assert ctx.command.name == command[0] or command[0] in ("audit",), name
        config = ctx.params.get("config")
        assert config is not None and str(config) == "/config", name
        checked += 1
    assert checked == 12


def test_a_wrong_option_is_caught() -> None:
    group = _cli()
    with pytest.raises(Exception, match="No such option: --replicas"):
        _parse(group, ["serve", "--config", "/config", "--replicas", "2"])
    with pytest.raises(Exception, match="No such command 'sever'"):
        _parse(group, ["sever", "--config", "/config"])


def test_every_environment_setting_exists_and_validates() -> None:
    doc = _compose()
    anchors = {k: v for k, v in doc.items() if k.startswith("x-")}
    assert anchors  # the shared blocks are merged into the services by YAML
    for name, svc in _gateway_services(doc).items():
        raw: dict[str, dict[str, str]] = {}
        for var, value in _env(svc).items():
            assert var.startswith(ENV_PREFIX) and "__" in var, f"{name}: {var}"
            section, _, key = var[len(ENV_PREFIX) :].lower().partition("__")
            assert section in Settings.model_fields, f"{name}: {var}: no [{section}]"
            model = Settings.model_fields[section].annotation
            assert model is not None and key in model.model_fields, f"{name}: {var}: no {key}"
            raw.setdefault(section, {})[key] = value
        gateway = {"signing_key": "keys/gateway.pem", "signing_keyid": "k", "audit_origin": "o"}
        Settings.model_validate({**raw, "gateway": {**gateway, **raw.get("gateway", {})}})


def test_dockerfile_runs_the_cli() -> None:
    text = (ROOT / "Dockerfile").read_text("utf-8")
    assert 'ENTRYPOINT ["gateway"]' in text
    assert 'CMD ["serve", "--config", "/config"]' in text
    for folder in ("gateway", "adapters", "schemas"):
        assert f"COPY {folder} ./{folder}" in text
