"""`gateway operators add NAME --role ROLE`: print a new token once, store its digest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import CliError
from gateway.commands.serve import ConfigOpt, config_dir

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def add_operator(directory: Path, name: str, role: str) -> str:
    """Append an operator to operators.toml; return the new token (shown once, never stored)."""
    from gateway.operators import Role, new_token, token_digest

    if not _NAME.fullmatch(name):
        raise CliError(f"operator name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    try:
        Role.parse(role)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    path = directory / "operators.toml"
    existing = path.read_text("utf-8") if path.exists() else ""
    if re.search(rf'^\s*name\s*=\s*"{re.escape(name)}"\s*$', existing, re.MULTILINE):
        raise CliError(f"{path}: an operator named {name!r} already exists")
    token = new_token()
    block = (
        f'\n[[operator]]\nname = "{name}"\nrole = "{role.lower()}"\n'
        f'token_sha256 = "{token_digest(token)}"\n'
    )
    path.write_text(
        existing.rstrip("\n") + "\n" + block if existing else block.lstrip("\n"), "utf-8"
    )
    return token


def register(app: typer.Typer) -> None:
    operators = typer.Typer(help="Operator accounts (bearer tokens stored as digests).")
    app.add_typer(operators, name="operators")

    @operators.command("add")
    def add(
        name: Annotated[str, typer.Argument(help="operator name")],
        role: Annotated[str, typer.Option("--role", help="auditor | operator | admin")],
        config: ConfigOpt = None,
    ) -> None:
        """Create an operator; the token is printed once and only its SHA-256 is stored."""
        token = add_operator(config_dir(config), name, role)
        typer.echo(token)
        typer.echo(
            f"operator {name!r} ({role}) added; keep the token above: it is not stored "
            "and cannot be shown again",
            err=True,
        )
