"""The sending side of a simulated participant: sign a message and post it to the gateway."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

import httpx

from gateway import crypto
from gateway.signatures import sign_request

__all__ = ["post_notice"]


async def post_notice(
    gateway_url: str,
    body: bytes,
    media_type: str,
    *,
    participant: str,
    key: crypto.PrivateKey,
    keyid: str,
    authority: str | None = None,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    path: str = "/v1/messages",
) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` to the gateway signed as ``participant`` (signatures.md, Requests).

    ``authority`` is what the gateway expects in @authority (its public authority); by
    default the host:port of ``gateway_url``. Returns (status, headers, body) as received:
    the receipt can be verified with `gateway.signatures.verify_response`."""
    base = httpx.URL(gateway_url)
    target = base.join(path)
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    headers = {"content-type": media_type, "user-agent": f"gateway-sim/{participant}"}
    headers.update(
        sign_request(
            "POST",
            authority or base.netloc.decode("ascii"),
            target.raw_path.decode("ascii"),
            headers,
            body,
            key=key,
            keyid=keyid,
            created=int(now.timestamp()),
            nonce=secrets.token_urlsafe(16),
        )
    )
    own = client is None
    http = client or httpx.AsyncClient(trust_env=False)
    try:
        response = await http.post(target, content=body, headers=headers)
    finally:
        if own:
            await http.aclose()
    fields: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        low = name.lower()
        fields[low] = f"{fields[low]}, {value}" if low in fields else value
    return response.status_code, fields, response.content
