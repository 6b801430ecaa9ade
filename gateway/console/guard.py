"""The console's browser-facing defences: security headers on every response, and the
same-origin check that every state-changing form passes beside its CSRF token.

Two independent checks stop a cross-site form post (OWASP CSRF cheat sheet): the Origin
(or, without it, the Referer) must name this gateway, and the form must echo the
session's CSRF token, which another site cannot read. SameSite=Strict on the cookie is a
third, browser-side layer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import Forbidden

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "check_same_origin"]

# No script may run at all (the console has none); styles only from our own file; SVG
# charts are inline markup (presentation attributes, not style attributes).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # Pages hold personal data and per-session tokens: never cached, not even by the browser.
    "cache-control": "no-store",
}


class SecurityHeaders:
    """ASGI middleware that sets SECURITY_HEADERS on every console response (pages,
    redirects, refusals and the stylesheet alike), overriding what a handler set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if scope.get("scheme") == "https":
                    headers["strict-transport-security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin_of(url: str) -> tuple[str, str] | None:
    """(scheme, authority) of an absolute http(s) URL, lower-cased; None otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.scheme, parts.netloc.lower()


def check_same_origin(request: Request, public_authority: str | None) -> None:
    """Refuse (403) a state-changing request whose Origin — or, when a browser sent none,
    Referer — is not this gateway: the request's own scheme and Host, or the configured
    public authority (the name the gateway is reached by behind a reverse proxy)."""
    sent = request.headers.get("origin")
    which = "Origin"
    if sent is None or sent == "null":
        sent, which = request.headers.get("referer"), "Referer"
    if not sent:
        raise Forbidden(
            "console-origin-missing",
            "a console form must come from a console page: the request has neither an Origin "
            "nor a Referer header (the browser sends them; a cross-site request may not)",
        )
    got = _origin_of(sent)
    host = (request.headers.get("host") or "").lower()
    allowed = {(request.url.scheme, host)}
    if public_authority:
        allowed |= {("https", public_authority.lower()), ("http", public_authority.lower())}
    if got is None or got not in allowed:
        expected = ", ".join(sorted(f"{s}://{a}" for s, a in allowed))
        raise Forbidden(
            "console-cross-site",
            f"the form was posted from {sent!r} ({which}); the console accepts forms only "
            f"from its own pages ({expected})",
        )
