"""The limit on a request's line and header fields ([limits] max_header_bytes).

``gateway serve`` also bounds what the HTTP parser buffers (a larger, hard limit: see
docs/security.md); this middleware answers the requests between the two limits with a
431 problem body and an audit event, on every route, before any handler reads them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import HeaderFieldsTooLarge
from gateway.ingress import InboundRequest, refuse_early
from gateway.problems import problem_response
from gateway.runtime import Gateway


def header_bytes(scope: Scope) -> int:
    """Roughly what the request line and header section took on the wire."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    size += len(scope.get("method", "")) + 12  # method, spaces, HTTP/1.1, CRLF
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4  # ": " and CRLF
    return size


class HeaderSizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw: Gateway | None = None
        if scope["type"] == "http":
            gw = getattr(scope["app"].state, "gateway", None)
        if gw is None:
            await self.app(scope, receive, send)
            return
        limit = gw.config.settings.limits.max_header_bytes
        size = header_bytes(scope)
        if size <= limit:
            await self.app(scope, receive, send)
            return
        refusal = HeaderFieldsTooLarge(
            "header-fields-too-large",
            f"the request line and header fields take about {size} bytes; the limit is "
            f"{limit} bytes: send fewer or shorter fields",
        )
        raw = scope.get("raw_path") or b""
        path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else scope["path"]
        unread = InboundRequest(scope["method"], "", path, {}, b"", received_at=gw.clock())
        answer = await refuse_early(gw, unread, refusal)
        await problem_response(answer)(scope, receive, send)
