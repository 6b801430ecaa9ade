"""`gateway sim NAME --config DIR [--key PEM] [--port N]`: run one simulated participant."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import CliError


def register(app: typer.Typer) -> None:
    @app.command()
    def sim(  # noqa: PLR0917 (typer options)
        name: Annotated[str, typer.Argument(help="participant id, e.g. ncb-fr or ae-moi")],
        config: Annotated[
            Path | None,
            typer.Option("--config", help="configuration folder (default $GATEWAY_CONFIG)"),
        ] = None,
        key: Annotated[
            Path | None,
            typer.Option("--key", help="its Ed25519 private key (default keys/<keyid>.pem)"),
        ] = None,
        port: Annotated[
            int | None, typer.Option("--port", help="inbox port (default: from its endpoint)")
        ] = None,
        control_port: Annotated[
            int | None,
            typer.Option(
                "--control-port", help="control port, up while 'down' (default port+1000)"
            ),
        ] = None,
        gateway_url: Annotated[
            str | None,
            typer.Option("--gateway-url", help="where GET /v1/keys is (default: public authority)"),
        ] = None,
        gateway_key: Annotated[
            Path | None,
            typer.Option("--gateway-key", help="the gateway's public key PEM (else GET /v1/keys)"),
        ] = None,
        record: Annotated[
            Path | None, typer.Option("--record", help="append what it receives (JSON lines)")
        ] = None,
    ) -> None:
        """Run one simulated participant system (docs/simulators.md)."""
        from gateway.config import ConfigError, load_config
        from gateway.simulators import GatewayKeys, IdentityError, Simulator, load_identity

        directory = config or Path(os.environ.get("GATEWAY_CONFIG", "config"))
        try:
            cfg = load_config(directory)
            identity = load_identity(cfg, name, key_path=key, port=port)
        except ConfigError as exc:
            raise CliError(f"configuration in {directory} is invalid: {exc}") from exc
        except IdentityError as exc:
            raise CliError(str(exc)) from exc
        base = gateway_url or f"http://{cfg.settings.gateway.public_authority}"
        keys = GatewayKeys(url=base.rstrip("/") + "/v1/keys")
        if gateway_key is not None:
            from gateway import crypto
            from gateway.keys import KeyID, KeyRecord

            try:
                public = crypto.load_public_key(gateway_key.read_bytes())
            except (OSError, crypto.CryptoError) as exc:
                raise CliError(f"sim: cannot read the gateway key {gateway_key}: {exc}") from exc
            keyid = KeyID(cfg.settings.gateway.signing_keyid)
            keys.add(KeyRecord(keyid, cfg.settings.gateway.id, public))
        simulator = Simulator(
            identity,
            keys,
            control_port=control_port if control_port is not None else identity.port + 1000,
            record_path=record,
            window_seconds=cfg.settings.limits.clock_skew_seconds,
        )

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await keys.fetch()  # the gateway may not be up yet: fetched again when needed
            await simulator.start()
            typer.echo(
                f"{identity.participant} ({identity.name}, {identity.schema}) listening on "
                f"{simulator.url}; control on http://{identity.host}:{simulator.control_port}"
            )
            await stop.wait()
            await simulator.stop()

        try:
            asyncio.run(run())
        except OSError as exc:
            raise CliError(f"sim {name}: cannot listen: {exc.strerror or exc}") from exc
