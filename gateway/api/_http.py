"""Small request helpers shared by the route modules."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from gateway.errors import GatewayError, PayloadTooLarge, RequestTimeout
from gateway.runtime import Gateway

_CLOSE = {"Connection": "close"}


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def combined_headers(request: Request) -> dict[str, str]:
    """Header fields with lower-case names; a field sent several times is combined with
    ", " (RFC 9110 §5.3), which is what RFC 9421 §2.1 signs."""
    out: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1").strip()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def raw_path(request: Request) -> str:
    """The request path exactly as sent (RFC 9421 @path), without the query."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return request.url.path


async def read_body(request: Request, limit: int, timeout: float = 60.0) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (no unbounded buffering),
    and with 408 when it has not all arrived ``timeout`` seconds after the head (a client
    sending a byte at a time must not hold a connection and a task for ever). Either
    refusal leaves part of the body unread, so its answer closes the connection."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            "body-too-large",
            f"Content-Length is {declared} bytes; the limit is {limit} bytes",
            headers=_CLOSE,
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        "body-too-large",
                        f"the body passed {limit} bytes, the limit; send less",
                        headers=_CLOSE,
                    )
                chunks.append(chunk)
    except TimeoutError:
        expected = f" of the {declared} declared" if declared is not None else ""
        raise RequestTimeout(
            "body-timeout",
            f"the body was not complete {timeout:g} s after the request head ({size} bytes"
            f"{expected} had arrived); send it whole without pauses",
            headers=_CLOSE,
        ) from None
    return b"".join(chunks)


def bad_query(slug: str, detail: str, field: str) -> GatewayError:
    from gateway.errors import BadRequest

    return BadRequest(slug, detail, field=field)
