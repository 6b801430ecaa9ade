"""`gateway config check` and `gateway rules explain` (cli.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli import CliError
from gateway.commands.serve import ConfigOpt, config_dir

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.keys import KeyRecord
    from gateway.routing import Rule
    from schemas.canonical import CanonicalMessage

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _load(directory: Path) -> GatewayConfig:
    from gateway.config import ConfigError, load_config

    try:
        return load_config(directory)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise CliError(
            f"configuration in {directory} is invalid ({len(exc.problems)} problems above)"
        ) from exc


def key_state(key: KeyRecord, now: dt.datetime) -> str:
    if key.revoked:
        return "revoked"
    if key.not_before is not None and now < key.not_before:
        return f"not valid before {key.not_before.isoformat()}"
    if key.not_after is not None and now > key.not_after:
        return f"expired {key.not_after.isoformat()}"
    return f"valid until {key.not_after.isoformat()}" if key.not_after else "valid, no expiry"


def describe_rule(rule: Rule) -> str:
    parts = [f"when {rule.when.describe()}"]
    if rule.deliver_to:
        parts.append("deliver_to " + ", ".join(s.text for s in rule.deliver_to))
    if rule.deny_to:
        parts.append("deny_to " + ", ".join(s.text for s in rule.deny_to))
    return "; ".join(parts)


def summary(cfg: GatewayConfig, now: dt.datetime) -> dict[str, Any]:
    by_schema: dict[str, list[dict[str, Any]]] = {}
    for p in cfg.participants.values():
        by_schema.setdefault(p.schema_, []).append(
            {
                "id": p.id,
                "kind": p.kind.value,
                "country": p.country,
                "audience": ["ALL"] if p.audience_all else sorted(p.audience),
                "endpoint": p.endpoint,
                "may_send": list(p.may_send),
            }
        )
    roles: dict[str, list[str]] = {}
    for op in cfg.operators:
        roles.setdefault(op.role.name.lower(), []).append(op.name)
    return {
        "directory": str(cfg.directory),
        "participants": by_schema,
        "keys": [
            {"keyid": k.keyid, "participant": k.participant, "state": key_state(k, now)}
            for k in cfg.keys.values()
        ],
        "rules": [{"id": r.id, "rule": describe_rule(r)} for r in cfg.rules],
        "operators": roles,
        "settings": cfg.settings.model_dump(mode="json"),
        "environment_overrides": dict(cfg.overrides),
        "storage_url": cfg.storage_url,
        "rules_digest": cfg.rules_digest,
        "config_digest": cfg.config_digest,
    }


def summary_lines(s: dict[str, Any]) -> list[str]:
    lines = [f"configuration in {s['directory']} is valid"]
    count = sum(len(v) for v in s["participants"].values())
    lines.append(f"participants: {count}")
    for schema, items in s["participants"].items():
        lines.append(f"  {schema}:")
        for p in items:
            reach = " ".join(p["audience"])
            lines.append(f"    {p['id']:<12} {p['kind']:<11} audience {reach}")
    lines.append(f"keys: {len(s['keys'])}")
    lines.extend(f"  {k['keyid']:<20} {k['participant']:<12} {k['state']}" for k in s["keys"])
    lines.append(f"rules: {len(s['rules'])}")
    lines.extend(f"  {r['id']}: {r['rule']}" for r in s["rules"])
    lines.append(f"operators: {sum(len(v) for v in s['operators'].values())}")
    lines.extend(f"  {role}: {', '.join(names)}" for role, names in s["operators"].items())
    overrides = s["environment_overrides"]
    lines.append("environment overrides: " + (", ".join(sorted(overrides)) or "none"))
    lines.append(f"storage: {s['storage_url']}")
    lines.append(f"rules digest:  {s['rules_digest']}")
    lines.append(f"config digest: {s['config_digest']}")
    return lines


def decode_file(body: bytes) -> CanonicalMessage:
    """Decode with the adapter the content shows: JSON → interpol, XML → gccpol."""
    from adapters import AdapterError, adapter_for_schema

    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        schema = "interpol"
    elif start == b"<":
        schema = "gccpol"
    else:
        raise CliError("the file is neither JSON (an INTERPOL notice) nor XML (a GCCPOL alert)")
    try:
        adapter = adapter_for_schema(schema)
    except ImportError as exc:  # an adapter module missing from this build
        raise CliError(f"the {schema} adapter cannot be loaded: {exc}") from exc
    try:
        return adapter.decode(body)
    except AdapterError as exc:
        raise CliError(f"the {schema} message does not decode: {exc}") from exc


def register(app: typer.Typer) -> None:
    config = typer.Typer(help="The configuration folder.")
    app.add_typer(config, name="config")
    rules = typer.Typer(help="Routing rules.")
    app.add_typer(rules, name="rules")

    @config.command("check")
    def check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
        """Validate the configuration; print a summary, or every error (exit 1)."""
        cfg = _load(config_dir(config))
        s = summary(cfg, dt.datetime.now(dt.UTC))
        typer.echo(json.dumps(s, indent=2) if as_json else "\n".join(summary_lines(s)))

    @rules.command("explain")
    def explain_cmd(
        file: Annotated[Path, typer.Argument(help="a message: INTERPOL JSON or GCCPOL XML")],
        config: ConfigOpt = None,
        previous: Annotated[
            list[str] | None,
            typer.Option("--previous", help="an earlier recipient (update/cancel); repeatable"),
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Which recipients a message would reach or be refused for, and why.

        Exit 0 when it would reach someone, 1 when it is unrouted or refused for all."""
        from gateway.routing import explain, facts_from_message, route

        cfg = _load(config_dir(config))
        try:
            body = file.read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {file}: {exc.strerror}") from exc
        decision = route(
            facts_from_message(decode_file(body)),
            cfg,
            previous_recipients=frozenset(previous or ()),
        )
        out = json.dumps(decision.as_json(), indent=2) if as_json else "\n".join(explain(decision))
        typer.echo(out)
        if decision.routing != "routed":
            raise CliError(f"the message would reach nobody: {decision.routing}")
