"""`gateway demo`: the scripted end-to-end exchange (docs/demo.md)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        keep: Annotated[
            bool, typer.Option("--keep", help="keep the temporary configuration, database, log")
        ] = False,
        width: Annotated[
            int | None, typer.Option("--width", help="output width (default: the terminal's)")
        ] = None,
    ) -> None:
        """Run ten simulated police systems through a fresh gateway; exit 0 if all went right."""
        from gateway.demo import main

        raise typer.Exit(main(keep=keep, width=width))
