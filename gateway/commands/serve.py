"""`gateway serve --config DIR [--workers N]`."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli import CliError

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="configuration folder (default $GATEWAY_CONFIG, else config/)"),
]


def config_dir(value: Path | None) -> Path:
    return value or Path(os.environ.get("GATEWAY_CONFIG", "config"))


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        config: ConfigOpt = None,
        workers: Annotated[int, typer.Option(help="worker processes")] = 1,
        log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    ) -> None:
        """Run the gateway on the configured `listen` address."""
        from gateway.config import ConfigError, load_config

        directory = config_dir(config)
        try:
            cfg = load_config(directory, require_signing_key=True)
        except ConfigError as exc:
            raise CliError(f"configuration in {directory} is invalid: {exc}") from exc
        if workers < 1:
            raise CliError(f"--workers must be 1 or more, got {workers}")
        if workers > 1 and not cfg.storage_url.startswith(("postgresql://", "postgres://")):
            # docs/architecture.md, Concurrency: one process owns a SQLite file (one writer
            # thread sharing each fsync, one sequencer signing checkpoints).
            raise CliError(
                f"--workers {workers} needs the shared PostgreSQL storage; [storage] url is "
                f"{cfg.storage_url.split(':', 1)[0]}://…, where one process owns the file. "
                "Use --workers 1, or set GATEWAY_STORAGE__URL=postgresql://…"
            )
        os.environ["GATEWAY_CONFIG"] = str(directory.resolve())
        run_server(GATEWAY_APP, cfg, factory=True, workers=workers, log_level=log_level)


GATEWAY_APP = "gateway.app:app_from_environment"


def server_options(
    cfg: GatewayConfig, *, workers: int = 1, listen: str | None = None
) -> dict[str, Any]:
    """Everything `gateway serve` tells uvicorn besides the app: the address, the workers,
    the event loop, the HTTP parser and its bounds (docs/security.md), logging. The HTTP
    benchmark's bare endpoint (bench/bare_app.py) is served through this same function,
    so that its baseline runs on exactly the server settings of the gateway."""
    host, _, port = (listen or cfg.settings.gateway.listen).rpartition(":")
    bounds = parser_limits(cfg.settings.limits.max_header_bytes)
    return {
        "host": host.strip("[]") or "127.0.0.1",
        "port": int(port),
        "workers": workers,
        "loop": "auto",  # uvloop when installed
        "lifespan": "auto",
        "log_config": None,  # configure_logging's JSON lines
        "access_log": False,
        "server_header": False,
        "http": bounds.http,
        "timeout_graceful_shutdown": bounds.timeout_graceful_shutdown,
        "h11_max_incomplete_event_size": bounds.h11_max_incomplete_event_size,
        "timeout_keep_alive": bounds.timeout_keep_alive,
        "limit_concurrency": bounds.limit_concurrency,
    }


def run_server(
    app: str,
    cfg: GatewayConfig,
    *,
    factory: bool,
    workers: int = 1,
    log_level: str = "info",
    listen: str | None = None,
) -> None:
    """Serve the ASGI app named `app` ("module:attribute") until stopped, the way
    `gateway serve` does: JSON logs at `log_level`, then `server_options`."""
    import uvicorn

    from gateway.logs import configure_logging

    configure_logging(log_level.upper())
    uvicorn.run(app, factory=factory, **server_options(cfg, workers=workers, listen=listen))


@dataclass(frozen=True, slots=True)
class ParserLimits:
    http: type[asyncio.Protocol]
    h11_max_incomplete_event_size: int
    timeout_keep_alive: int
    limit_concurrency: int
    timeout_graceful_shutdown: int


def parser_limits(max_header_bytes: int) -> ParserLimits:
    """uvicorn settings that bound what one connection can make the server hold
    (docs/security.md). httptools buffers header fields without any limit, so the h11
    parser is chosen, whose buffer for an incomplete request head is bounded: at twice the
    app's limit, so requests between the two get the app's audited 431 problem. The h11
    protocol is `gateway.serving.BoundedH11Protocol`: a request head must be complete
    within 10 s of the connection (or of the previous response), which uvicorn alone
    never requires. A graceful stop (SIGTERM) waits at most 30 s for requests in flight."""
    from gateway.serving import BoundedH11Protocol

    return ParserLimits(
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=max(65_536, 2 * max_header_bytes),
        timeout_keep_alive=5,
        limit_concurrency=1024,  # connections + tasks; beyond it uvicorn answers 503
        timeout_graceful_shutdown=30,
    )
