"""Service endpoints: /healthz, /readyz, /metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api._http import gateway_of
from gateway.problems import plain_problem
from gateway.storage.base import StorageUnavailable


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"up"}', media_type="application/json")


async def readyz(request: Request) -> Response:
    gw = gateway_of(request)
    try:
        await gw.storage.ping()
    except StorageUnavailable as exc:
        return plain_problem(503, "not-ready", "Not ready", f"storage is not reachable: {exc}")
    return Response(b'{"status":"ready"}', media_type="application/json")


async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    gw = gateway_of(request)
    await gw.refresh_gauges()
    return Response(generate_latest(gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
