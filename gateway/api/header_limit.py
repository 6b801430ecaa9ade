"""Checks on a request's head, before any handler reads it, on every route:

- the limit on its line and header fields ([limits] max_header_bytes). ``gateway serve``
  also bounds what the HTTP parser buffers (a larger, hard limit: see docs/security.md);
  the requests between the two limits get a 431 problem body and an audit event;
- framing: a request with both Transfer-Encoding and Content-Length is refused with 400
  (RFC 9112 §6.3 allows it, and says such a message "ought to be handled as an error":
  a proxy in front that honoured the other field would see a different request; this is
  how request smuggling starts). The HTTP parser alone would follow Transfer-Encoding.

Both refusals are audited and close the connection (the body is not read).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import BadRequest, GatewayError, HeaderFieldsTooLarge
from gateway.ingress import InboundRequest, refuse_early
from gateway.problems import problem_response
from gateway.runtime import Gateway

_FRAMING = (b"transfer-encoding", b"content-length")


def header_bytes(scope: Scope) -> int:
    """Roughly what the request line and header section took on the wire."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    size += len(scope.get("method", "")) + 12  # method, spaces, HTTP/1.1, CRLF
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4  # ": " and CRLF
    return size


def _ambiguous_framing(scope: Scope) -> bool:
    found = {name for name, _ in scope.get("headers", ()) if name in _FRAMING}
    return len(found) == 2


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
        refusal: GatewayError
        if size > limit:
            refusal = HeaderFieldsTooLarge(
                "header-fields-too-large",
                f"the request line and header fields take about {size} bytes; the limit is "
                f"{limit} bytes: send fewer or shorter fields",
                headers={"Connection": "close"},
            )
        elif _ambiguous_framing(scope):
            refusal = BadRequest(
                "framing-ambiguous",
                "the request has both Transfer-Encoding and Content-Length; send one "
                "(RFC 9112 §6.3: such a message is a sign of request smuggling)",
                field="transfer-encoding",
                headers={"Connection": "close"},
            )
        else:
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or b""
        path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else scope["path"]
        unread = InboundRequest(scope["method"], "", path, {}, b"", received_at=gw.clock())
        answer = await refuse_early(gw, unread, refusal)
        await problem_response(answer)(scope, receive, send)
