"""`gateway translate --from SCHEMA --to SCHEMA FILE` (cli.md): one message, translated.

Prints the translation, then its loss report: a rich table on a terminal, plain lines
elsewhere; ``--json`` prints ``{"body": …, "losses": […]}`` instead. The translation is the
gateway's own (`adapters.translate.translate`): the references of the target side are minted
as a gateway with participants on every side mints them; the message id and sender stay the
input's (the gateway writes its own per recipient).

Exit codes: 0 translated; 1 refused (one line on stderr: the code and the field); 2 the input
does not decode (every violation with its path), or a schema name is unknown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli import CliError

if TYPE_CHECKING:
    from adapters import Encoded
    from schemas.canonical import Loss

EXIT_REFUSED = 1
EXIT_UNDECODABLE = 2


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CliError(
            f"translate: cannot read {source}: {exc.strerror}", EXIT_UNDECODABLE
        ) from None


def translate_bytes(body: bytes, source_schema: str, target_schema: str) -> Encoded:
    """Decode ``body`` as ``source_schema`` and translate it to ``target_schema``.

    Raises CliError with the exit code cli.md gives each failure."""
    from adapters import (
        MalformedMessage,
        SchemaViolations,
        TranslationRefused,
        UnknownSchema,
        adapter_for_schema,
    )
    from adapters.translate import translate

    try:
        source = adapter_for_schema(source_schema)
        adapter_for_schema(target_schema)
    except UnknownSchema as exc:
        raise CliError(f"translate: {exc}", EXIT_UNDECODABLE) from None
    try:
        message = source.decode(body)
    except MalformedMessage as exc:
        where = f" at {exc.path}" if exc.path else ""
        raise CliError(
            f"translate: the input is not a {source_schema} message{where}: {exc.reason}",
            EXIT_UNDECODABLE,
        ) from None
    except SchemaViolations as exc:
        for violation in exc.violations[1:]:
            print(f"gateway: translate: {violation.path}: {violation.reason}", file=sys.stderr)
        first = exc.violations[0]
        more = f" (and {len(exc.violations) - 1} more above)" if len(exc.violations) > 1 else ""
        raise CliError(
            f"translate: the {source_schema} message violates its schema: "
            f"{first.path}: {first.reason}{more}",
            EXIT_UNDECODABLE,
        ) from None
    try:
        return translate(message, target_schema)
    except TranslationRefused as exc:
        raise CliError(
            f"translate: refused [{exc.code}] {exc.field}: {exc.reason}", EXIT_REFUSED
        ) from None


def _loss_dicts(losses: tuple[Loss, ...]) -> list[dict[str, str]]:
    return [{"field": x.field, "source_value": x.source_value, "reason": x.reason} for x in losses]


def _print_plain(encoded: Encoded) -> None:
    text = encoded.body.decode("utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if not encoded.losses:
        print("losses: none")
        return
    print(f"losses: {len(encoded.losses)}")
    for loss in encoded.losses:
        value = f" (was {loss.source_value!r})" if loss.source_value else ""
        print(f"loss: {loss.field}: {loss.reason}{value}")


def _print_rich(encoded: Encoded) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    console.print(escape(encoded.body.decode("utf-8")), highlight=False, soft_wrap=True)
    if not encoded.losses:
        console.print("[green]no losses[/green]")
        return
    table = Table(title=f"loss report ({len(encoded.losses)})", title_justify="left")
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("source value")
    table.add_column("reason")
    for loss in encoded.losses:
        table.add_row(escape(loss.field), escape(loss.source_value), escape(loss.reason))
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("translate")
    def translate_cmd(
        file: Annotated[str, typer.Argument(help="the message to translate; - reads stdin")],
        from_schema: Annotated[
            str, typer.Option("--from", help="the schema of FILE: interpol or gccpol")
        ],
        to_schema: Annotated[str, typer.Option("--to", help="the schema to translate into")],
        as_json: Annotated[
            bool, typer.Option("--json", help='print {"body": ..., "losses": [...]}')
        ] = False,
    ) -> None:
        """Print the translation of one message, then its loss report; non-zero if refused."""
        encoded = translate_bytes(_read(file), from_schema, to_schema)
        if as_json:
            out = {"body": encoded.body.decode("utf-8"), "losses": _loss_dicts(encoded.losses)}
            print(json.dumps(out, ensure_ascii=False, indent=2))
        elif sys.stdout.isatty():
            _print_rich(encoded)
        else:
            _print_plain(encoded)
