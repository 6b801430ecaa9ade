"""Request latency by route (api.md, Service endpoints: request latency histograms).

An outer ASGI middleware: the clock runs from the request's arrival to the end of its
response, refusals included. The label is the matched route's template (e.g.
``/v1/messages/{message_id}/status``), never the raw path: ids do not become labels."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send


class RequestTimer:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            gw = getattr(getattr(scope.get("app"), "state", None), "gateway", None)
            if gw is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                gw.metrics.observe_latency(route, time.perf_counter() - started)
