"""The `gateway` command. One Typer app; each area adds its commands from its own module.

Errors: every command turns a `CliError` (or a gateway/adapter error) into one line on
standard error and a non-zero exit; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="gateway",
    help="Interoperability gateway for police information exchange.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class CliError(Exception):
    """A failure to report as one line on stderr with exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        self.code = code
        super().__init__(message)


def _register() -> None:
    # Each module defines `register(app)`; import lazily so `gateway --help` stays fast.
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(f"gateway.commands.{name}").register(app)


# One line per module in gateway/commands/. Add yours here.
_COMMAND_MODULES: list[str] = [
    "serve",
    "operators_cmd",
    "audit_cmd",
    "keys",
    "config_cmd",
    "sim",
    "replay",
    "demo",
    "translate",
]


def main() -> None:
    _register()
    try:
        app()
    except CliError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        sys.exit(exc.code)
