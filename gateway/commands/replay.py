"""`gateway replay CAPTURE [--config DIR] [--target URL] [--json] [--update]` (docs/replay.md).

Exit codes: 0 no difference, 1 differences, 2 the capture could not be read, 3 the replay
could not run (configuration unusable, target unreachable).
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.capture import Capture, CaptureError, read_capture, write_capture
from gateway.cli import CliError
from gateway.replay import (
    Replayed,
    ReplayError,
    ReplaySession,
    diff_of,
    in_process_session,
    target_session,
)
from gateway.replay_diff import Change, MessageDiff

EXIT_SAME, EXIT_DIFFERENT, EXIT_UNREADABLE, EXIT_NOT_RUN = 0, 1, 2, 3
_PROGRESS_FROM = 200  # requests: shorter captures replay in a blink


@dataclass(frozen=True, slots=True)
class ReplayReport:
    capture: Path
    notes: tuple[str, ...]
    diffs: tuple[MessageDiff, ...]
    replayed: tuple[Replayed, ...]
    rules_digest: str | None
    routing_toml: str | None

    def count(self, verdict: str) -> int:
        return sum(1 for d in self.diffs if d.verdict == verdict)

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENT if self.count("changed") else EXIT_SAME

    def as_json(self) -> dict[str, Any]:
        return {
            "capture": str(self.capture),
            "notes": list(self.notes),
            "summary": {v: self.count(v) for v in ("same", "changed", "skipped")},
            "messages": [d.as_json() for d in self.diffs],
        }


async def replay_capture(
    capture: Capture,
    *,
    config_dir: Path | None = None,
    target: str | None = None,
    keys_dir: Path | None = None,
    show_progress: bool = False,
) -> ReplayReport:
    from gateway.commands.audit_cmd import progress_bar

    session_cm: AbstractAsyncContextManager[ReplaySession]
    if target is not None:
        session_cm = target_session(capture.header, target, keys_dir)
    else:
        session_cm = in_process_session(capture.header, config_dir)
    replayed: list[Replayed] = []
    total = len(capture.requests)
    async with session_cm as session:
        if show_progress and total >= _PROGRESS_FROM:
            with progress_bar(total, "replaying") as progress:
                async for item in session.run(capture.requests):
                    replayed.append(item)
                    progress(len(replayed))
        else:
            async for item in session.run(capture.requests):
                replayed.append(item)
    return ReplayReport(
        capture=capture.path,
        notes=tuple(session.notes),
        diffs=tuple(diff_of(r) for r in replayed),
        replayed=tuple(replayed),
        rules_digest=session.rules_digest,
        routing_toml=session.routing_toml,
    )


def update_capture(capture: Capture, report: ReplayReport) -> int:
    """Rewrite the expected outcomes with the replayed ones (on purpose: --update); the
    recorded delivery outcomes stay. Returns how many lines changed."""
    header = capture.header
    if report.routing_toml is not None and report.rules_digest is not None:
        header = header.model_copy(
            update={"routing_toml": report.routing_toml, "rules_digest": report.rules_digest}
        )
    changed = 0
    lines = []
    for item, diff in zip(report.replayed, report.diffs, strict=True):
        req = item.request
        if item.outcome is not None and diff.verdict == "changed":
            changed += 1
            outcome = item.outcome.model_copy(update={"deliveries": req.expected.deliveries})
            req = req.model_copy(update={"expected": outcome})
        lines.append(req)
    write_capture(capture.path, header, lines)
    return changed


# ---- rendering ------------------------------------------------------------------------------


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


def change_lines(change: Change) -> list[str]:
    subject = f" {change.subject}" if change.subject else ""
    head = f"{change.what}{subject}: {_short(change.expected)} → {_short(change.got)}"
    lines = [head]
    lines += [f"    {f.path}: {_short(f.expected)} → {_short(f.got)}" for f in change.fields]
    return lines


def plain_report(report: ReplayReport) -> str:
    out: list[str] = []
    for d in report.diffs:
        out.append(f"#{d.seq:<5} {d.verdict:<8} {d.label}")
        for change in d.changes:
            out += [f"        {line}" for line in change_lines(change)]
        if d.verdict != "same":
            out += [f"        note: {n}" for n in d.notes if n]
    out += [f"note: {n}" for n in report.notes]
    out.append(_summary(report))
    return "\n".join(out)


def _summary(report: ReplayReport) -> str:
    return (
        f"{report.count('same')} same, {report.count('changed')} changed, "
        f"{report.count('skipped')} skipped ({report.capture})"
    )


def print_rich(report: ReplayReport) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    style = {"same": "green", "changed": "bold red", "skipped": "yellow"}
    for d in report.diffs:
        console.print(
            f"[dim]#{d.seq:<5}[/dim] [{style[d.verdict]}]{d.verdict:<8}[/] {escape(d.label)}"
        )
        for change in d.changes:
            first, *rest = change_lines(change)
            console.print(f"        [cyan]{escape(first)}[/cyan]")
            for line in rest:
                console.print(f"        [dim]{escape(line)}[/dim]")
        if d.verdict != "same":
            for n in d.notes:
                console.print(f"        [dim]note: {escape(n)}[/dim]")
    for n in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(n)}")
    colour = "red" if report.count("changed") else "green"
    console.print(f"[{colour}]{escape(_summary(report))}[/]")


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(  # noqa: PLR0917 (typer options)
        capture: Annotated[Path, typer.Argument(help="a capture file (JSON Lines)")],
        config: Annotated[
            Path | None,
            typer.Option("--config", help="replay against this configuration (else the capture's)"),
        ] = None,
        target: Annotated[
            str | None, typer.Option("--target", help="a running gateway's base URL")
        ] = None,
        keys: Annotated[
            Path | None,
            typer.Option("--keys", help="with --target: folder of <keyid>.pem keys to re-sign"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        update: Annotated[
            bool, typer.Option("--update", help="rewrite the capture's expected outcomes")
        ] = False,
    ) -> None:
        """Replay a capture; print per message `same` or what changed."""
        try:
            loaded = read_capture(capture)
        except CaptureError as exc:
            raise CliError(f"cannot read the capture: {exc}", code=EXIT_UNREADABLE) from exc
        try:
            report = asyncio.run(
                replay_capture(
                    loaded,
                    config_dir=config,
                    target=target,
                    keys_dir=keys,
                    show_progress=not as_json,
                )
            )
        except ReplayError as exc:
            raise CliError(str(exc), code=EXIT_NOT_RUN) from exc
        if as_json:
            typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        elif sys.stdout.isatty():
            print_rich(report)
        else:
            typer.echo(plain_report(report))
        if update:
            changed = update_capture(loaded, report)
            print(f"updated {changed} expected outcomes in {capture}", file=sys.stderr)
            raise typer.Exit(EXIT_SAME)
        raise typer.Exit(report.exit_code)
