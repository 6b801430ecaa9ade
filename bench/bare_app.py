"""The baseline for HTTP benchmarks: reads the body and answers 202, nothing else.

It is served by the code that serves the gateway (`gateway.commands.serve.run_server`:
the same uvicorn settings, i.e. the h11 parser and its bounds, uvloop, the keep-alive and
concurrency limits, no access log, the same logging set-up), from the same configuration
folder, only on another port:

    python -m bench.bare_app --config DIR --port PORT [--log-level warning]

so that "a bare endpoint on the same server settings" (issue "Benchmarks") differs from
`gateway serve` in the ASGI app only. The app is a Starlette app like the gateway's (the
framework's routing and error middlewares are part of the baseline, not of the cost
measured against it); `/healthz` lets the benchmark wait for it as for the gateway.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

APP = "bench.bare_app:app"


async def accept(request: Request) -> Response:
    await request.body()
    return Response(b'{"accepted":true}', status_code=202, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"up"}', media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The serving process's heap settings, as `gateway serve` applies them once started.
    from gateway.heap import settle_for_serving

    settle_for_serving()
    yield


app = Starlette(
    routes=[
        Route("/v1/messages", accept, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
)


def main() -> None:
    from gateway.commands.serve import run_server
    from gateway.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, required=True, help="the gateway's folder")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    cfg = load_config(args.config, require_signing_key=True)
    host = cfg.settings.gateway.listen.rpartition(":")[0]
    run_server(APP, cfg, factory=False, log_level=args.log_level, listen=f"{host}:{args.port}")


if __name__ == "__main__":
    main()
