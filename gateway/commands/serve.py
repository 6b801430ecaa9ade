"""`gateway serve --config DIR [--workers N]`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import CliError

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
        import uvicorn

        from gateway.config import ConfigError, load_config
        from gateway.logs import configure_logging

        directory = config_dir(config)
        try:
            cfg = load_config(directory, require_signing_key=True)
        except ConfigError as exc:
            raise CliError(f"configuration in {directory} is invalid: {exc}") from exc
        host, _, port = cfg.settings.gateway.listen.rpartition(":")
        configure_logging(log_level.upper())
        os.environ["GATEWAY_CONFIG"] = str(directory.resolve())
        uvicorn.run(
            "gateway.app:app_from_environment",
            factory=True,
            host=host.strip("[]") or "127.0.0.1",
            port=int(port),
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
        )
