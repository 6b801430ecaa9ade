"""What the gateway's HTTP layer costs a request, outside the pipeline: the gateway's ASGI
app driven in process (no sockets, no HTTP parser) with real signed requests, real SQLite
storage and real receipts, beside `gateway.ingress.accept_message` alone and the bare
endpoint's app (bench/bare_app.py) driven the same way.

    .venv/bin/python -m bench.profile_http [--requests N] [--runs R] [--top K]

Figures are main-thread CPU µs a request (time.thread_time: the storage writer thread is
not counted, nor other load on the machine), the best of R runs. "HTTP layer" is the app
minus accept_message: Starlette's routing and error middlewares, the gateway's
middlewares (latency histogram, header-size limit), reading the body, the header
dictionary, the receipt's signature and the response. `--top K` adds a cProfile listing
of the functions outside accept_message.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.bare_app import app as bare_app
from bench.bench_config import bench_config
from gateway.api import participants
from gateway.app import create_app
from gateway.ingress import InboundRequest, Receipt, accept_message
from gateway.runtime import Gateway, utc_now
from tests.harness import GatewayFixture
from tests.messages import INTERPOL, interpol_red

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def signed(cfg: GatewayFixture) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = interpol_red()
    headers = cfg.signed_headers("ipsg", body, INTERPOL)
    raw = [(b"host", cfg.authority.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return raw, body


async def post(app: Asgi, raw: list[tuple[bytes, bytes]], body: bytes) -> int:
    """One POST /v1/messages straight to the ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _timed(app: Asgi, reqs: list[tuple[list[tuple[bytes, bytes]], bytes]]) -> float:
    """Main-thread CPU µs a request of posting `reqs` to `app`, one at a time."""
    t = time.thread_time()
    for raw, body in reqs:
        status = await post(app, raw, body)
        if status != 202:
            raise RuntimeError(f"answered {status}, not 202")
    return (time.thread_time() - t) / len(reqs) * 1e6


async def measure(
    directory: Path, n: int, runs: int, top: int, *, http_only: bool = False
) -> dict[str, Any]:
    """Best-of-runs µs a request: bare app, gateway app with the pipeline stubbed out (the
    HTTP layer alone), gateway app, accept_message alone; and a cProfile of the stubbed app."""
    cfg = bench_config(directory)
    app = create_app(cfg.directory, start_delivery=False)
    out: dict[str, list[float]] = {"bare": [], "http": [], "full": [], "pipeline": []}
    stats: pstats.Stats | None = None
    real = participants.accept_message
    async with app.router.lifespan_context(app):
        gw: Gateway = app.state.gateway
        receipt = await real(gw, _inbound(cfg))  # a real receipt for the stub to answer

        async def stub(gw: Gateway, req: InboundRequest) -> Receipt:
            return receipt

        for r in range(runs + 1):  # the first run warms up
            reqs = [signed(cfg) for _ in range(n)]
            bare_us = await _timed(bare_app, reqs)  # type: ignore[arg-type]
            participants.accept_message = stub  # type: ignore[assignment]
            try:
                http_us = await _timed(app, reqs)  # type: ignore[arg-type]
                if top and r == runs:
                    profiler = cProfile.Profile(time.thread_time)
                    profiler.enable()
                    await _timed(app, reqs)  # type: ignore[arg-type]
                    profiler.disable()
                    stats = pstats.Stats(profiler)
            finally:
                participants.accept_message = real
            full_us = pipe_us = 0.0
            if not http_only:
                full_us = await _timed(app, reqs)  # type: ignore[arg-type]
                inbound = [_inbound(cfg) for _ in range(n)]
                t = time.thread_time()
                for req in inbound:
                    await accept_message(gw, req)
                pipe_us = (time.thread_time() - t) / n * 1e6
            if r:
                for key, us in (
                    ("bare", bare_us),
                    ("http", http_us),
                    ("full", full_us),
                    ("pipeline", pipe_us),
                ):
                    out[key].append(us)
    return {"best": {k: min(v) for k, v in out.items()}, "stats": stats}


def _inbound(cfg: GatewayFixture) -> InboundRequest:
    raw, body = signed(cfg)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw}
    return InboundRequest("POST", cfg.authority, "/v1/messages", headers, body, utc_now())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--http-only", action="store_true", help="skip the full pipeline runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = asyncio.run(
            measure(
                Path(tmp) / "config", args.requests, args.runs, args.top, http_only=args.http_only
            )
        )
    best = res["best"]
    print(f"main-thread CPU µs a request, best of {args.runs} runs of {args.requests}, in process")
    print(f"  bare endpoint app                      : {best['bare']:7.1f}")
    print(f"  gateway app, pipeline stubbed out      : {best['http']:7.1f}  (the HTTP layer)")
    if not args.http_only:
        print(f"  gateway app                            : {best['full']:7.1f}")
        print(f"  accept_message alone                   : {best['pipeline']:7.1f}")
    if res["stats"] is not None:
        res["stats"].sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
