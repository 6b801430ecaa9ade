"""`gateway audit verify|export|erase`."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from gateway.cli import CliError
from gateway.commands.serve import ConfigOpt, config_dir

if TYPE_CHECKING:
    from gateway.storage.base import Storage

CHUNK = 20_000  # entries read (and held) at a time by verify and export


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on a terminal; a plain line every 10 % elsewhere."""
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    step = max(total // 10, 1)
    shown = [0]  # the last step reached: progress comes a batch at a time

    def plain(done: int) -> None:
        if done // step > shown[0] or done == total:
            shown[0] = done // step
            print(f"{label}: {done}/{total}", file=sys.stderr)

    yield plain


async def _verify_database(directory: Path, nodes: bool = False) -> str:
    from gateway.audit_verify import VerificationFailed, verify_storage
    from gateway.config import load_config
    from gateway.storage import open_storage

    cfg = load_config(directory, require_signing_key=False)
    storage = open_storage(cfg.storage_url)
    await storage.open()
    try:
        latest = await storage.latest_checkpoint()
        if latest is None:
            raise CliError("the log has no signed checkpoint yet")
        key = verifier_key_from_config(cfg)
        with progress_bar(latest.tree_size, "verifying") as progress:
            try:
                report = await verify_storage(
                    storage, key, chunk=CHUNK, progress=progress, offline=True
                )
            except VerificationFailed as exc:
                raise CliError(f"audit log does NOT verify: {exc}", code=2) from exc
        summary = (
            f"audit log verifies: {report.entries} entries, {report.checkpoints_checked} "
            f"checkpoints, root {report.root_b64}"
        )
        if nodes:
            summary += "; " + await _verify_nodes(storage, report.tree_size)
        return summary
    finally:
        await storage.close()


async def _verify_nodes(storage: Storage, size: int) -> str:
    from gateway.audit_nodes import verify_nodes
    from gateway.audit_verify import VerificationFailed

    with progress_bar(size, "tree nodes") as progress:
        try:
            checked = await verify_nodes(storage, size, progress=progress)
        except VerificationFailed as exc:
            raise CliError(
                f"the entries verify, but the stored tree does NOT: {exc}", code=2
            ) from exc
    out = f"tree verifies: {checked.nodes} stored nodes"
    if checked.tiles or checked.tiles_missing:
        out += f" and {checked.tiles} tiles match"
    if checked.tiles_missing:
        out += f" ({checked.tiles_missing} tiles missing: proofs there read the nodes)"
    return out


def verifier_key_from_config(cfg: object) -> str:
    from gateway.audit.checkpoint import verifier_key
    from gateway.crypto import load_private_key, public_key_bytes

    settings = cfg.settings  # type: ignore[attr-defined]
    key = load_private_key(cfg.signing_key_path.read_bytes())  # type: ignore[attr-defined]
    return verifier_key(settings.gateway.audit_origin, public_key_bytes(key))


async def _verify_export(path: Path, key: str | None) -> str:
    from gateway.audit_verify import (
        EXPORT_FORMAT,
        EXPORT_VERSION,
        Entry,
        VerificationFailed,
        verify_entries,
    )

    with path.open("rb") as fh:
        try:
            header = orjson.loads(fh.readline())
        except orjson.JSONDecodeError as exc:
            raise CliError(f"{path}:1: not an audit export ({exc})") from exc
        if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
            raise CliError(f"{path}:1: not an audit export (format must be {EXPORT_FORMAT!r})")
        if header.get("version") != EXPORT_VERSION:
            raise CliError(
                f"{path}:1: export version {header.get('version')!r}; this build reads "
                f"version {EXPORT_VERSION}"
            )
        trusted = key or str(header["verifier_key"])
        total = int(header["tree_size"])

        async def entries() -> AsyncIterator[Entry]:
            for lineno, line in enumerate(fh, start=2):
                try:
                    row = orjson.loads(line)
                    yield Entry(index=int(row["index"]), leaf=base64.b64decode(row["leaf_b64"]))
                except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
                    raise CliError(f"{path}:{lineno}: malformed entry line ({exc})") from exc

        with progress_bar(total, "verifying") as progress:
            try:
                report = await verify_entries(
                    entries(),
                    [(total, str(header["checkpoint"]).encode("utf-8"))],
                    trusted,
                    progress=progress,
                )
            except VerificationFailed as exc:
                raise CliError(f"audit export does NOT verify: {exc}", code=2) from exc
    source = "the key given with --key" if key else "the verifier key the export carries"
    return f"audit export verifies with {source}: {report.entries} entries, root {report.root_b64}"


async def _export(directory: Path, output: Path) -> str:
    from gateway.audit_verify import export_header, export_line
    from gateway.config import load_config
    from gateway.storage import open_storage

    cfg = load_config(directory, require_signing_key=False)
    storage = open_storage(cfg.storage_url)
    await storage.open()
    try:
        cp = await storage.latest_checkpoint()
        if cp is None:
            raise CliError("the log has no signed checkpoint yet; nothing to export")
        key = verifier_key_from_config(cfg)
        tmp = output.with_suffix(output.suffix + ".part")
        with tmp.open("wb") as fh, progress_bar(cp.tree_size, "exporting") as progress:
            fh.write(export_header(cfg.settings.gateway.audit_origin, key, cp.note, cp.tree_size))
            fh.write(b"\n")
            for start in range(0, cp.tree_size, CHUNK):
                for r in await storage.get_events(start, min(start + CHUNK, cp.tree_size)):
                    fh.write(export_line(r.index, r.leaf))
                    fh.write(b"\n")
                progress(min(start + CHUNK, cp.tree_size))
        tmp.replace(output)
        return f"exported {cp.tree_size} entries and the checkpoint to {output}"
    finally:
        await storage.close()


async def _export_capture(directory: Path, output: Path) -> str:
    from gateway.capture import GatewayIdentity, dump_line
    from gateway.capture_export import ExportTally, capture_header, export_requests
    from gateway.config import load_config
    from gateway.crypto import load_private_key
    from gateway.storage import open_storage

    cfg = load_config(directory, require_signing_key=False)
    gw = cfg.settings.gateway
    public = load_private_key(cfg.signing_key_path.read_bytes()).public
    identity = GatewayIdentity(
        id=gw.id,
        public_authority=gw.public_authority,
        audit_origin=gw.audit_origin,
        signing_keyid=gw.signing_keyid,
        public_key_b64=base64.b64encode(public).decode("ascii"),
        verifier_key=verifier_key_from_config(cfg),
    )
    storage = open_storage(cfg.storage_url)
    await storage.open()
    try:
        upto = await storage.event_count()
        tally = ExportTally()
        body = output.with_name(output.name + ".lines")
        with body.open("wb") as fh, progress_bar(upto, "exporting") as progress:
            async for req in export_requests(storage, upto=upto, tally=tally, progress=progress):
                fh.write(dump_line(req))
        header = capture_header(
            cfg,
            identity,
            source="audit-export",
            requests=tally.requests,
            erased=tally.erased,
            created_at=dt.datetime.now(dt.UTC),
        )
        tmp = output.with_name(output.name + ".part")
        with tmp.open("wb") as out, body.open("rb") as lines:
            out.write(dump_line(header))
            while chunk := lines.read(1 << 20):
                out.write(chunk)
        tmp.replace(output)
        body.unlink()
    finally:
        await storage.close()
    erased = len(set(tally.erased))
    summary = f"captured {tally.requests} requests to {output}"
    if erased:
        summary += f"; {erased} bodies erased (listed in the header's erased_bodies)"
    if tally.without_request:
        summary += f"; {tally.without_request} requests predate request records, left out"
    return summary


async def _erase(directory: Path, before: dt.datetime) -> str:
    from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
    from gateway.config import load_config
    from gateway.storage import open_storage
    from gateway.storage.base import EventRow, Transaction

    cfg = load_config(directory, require_signing_key=False)
    storage = open_storage(cfg.storage_url)
    await storage.open()
    try:
        erased = await storage.erase_bodies(before)
        now = dt.datetime.now(dt.UTC)
        ev = AuditEvent(
            kind=EventKind.PAYLOAD_ERASED,
            at=now,
            actor={"type": "operator", "id": "cli"},
            message_id=None,
            outcome="erased",
            body_sha256={f"erased[{i}]": d for i, d in enumerate(erased)},
            details={"before": before.isoformat(), "count": len(erased)},
        )
        await storage.commit(
            Transaction(
                events=[EventRow(leaf=leaf_bytes(ev), kind=ev.kind.value, at=now, outcome="erased")]
            )
        )
        return f"erased {len(erased)} stored bodies older than {before.isoformat()}; leaves stay"
    finally:
        await storage.close()


def register(app: typer.Typer) -> None:
    audit = typer.Typer(help="The tamper-evident audit log.")
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify(
        file: Annotated[
            Path | None, typer.Argument(help="an export file (else the database)")
        ] = None,
        config: ConfigOpt = None,
        key: Annotated[
            str | None, typer.Option(help="verifier key to trust (signed-note form)")
        ] = None,
        nodes: Annotated[
            bool,
            typer.Option(
                "--nodes",
                help="also check every stored tree node and tile, which proofs are built from",
            ),
        ] = False,
    ) -> None:
        """Verify the log leaf by leaf against its signed checkpoints."""
        if file is not None:
            if nodes:
                raise CliError("--nodes checks a database's stored tree; an export has none")
            typer.echo(asyncio.run(_verify_export(file, key)))
        else:
            typer.echo(asyncio.run(_verify_database(config_dir(config), nodes)))

    @audit.command("export")
    def export(
        output: Annotated[Path, typer.Option("--output", help="file to write")],
        config: ConfigOpt = None,
        capture: Annotated[
            bool, typer.Option("--capture", help="write a replay capture (docs/replay.md)")
        ] = False,
    ) -> None:
        """Write a self-contained export: every leaf, the latest checkpoint, the verifier key.
        With --capture, a replay capture of every recorded inbound request instead."""
        if capture:
            typer.echo(asyncio.run(_export_capture(config_dir(config), output)))
            return
        typer.echo(asyncio.run(_export(config_dir(config), output)))

    @audit.command("erase")
    def erase(
        before: Annotated[str, typer.Option("--before", help="RFC 3339 date or time (UTC)")],
        config: ConfigOpt = None,
    ) -> None:
        """Erase stored bodies older than BEFORE; leaves and proofs stay valid."""
        try:
            when = dt.datetime.fromisoformat(before.replace("Z", "+00:00"))
        except ValueError as exc:
            raise CliError(f"--before {before!r} is not a date or time (e.g. 2026-01-31)") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        typer.echo(asyncio.run(_erase(config_dir(config), when)))
