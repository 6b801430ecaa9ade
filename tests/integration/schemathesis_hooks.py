"""Schemathesis hooks for tests/integration/test_api_fuzz.py (loaded through
$SCHEMATHESIS_HOOKS): every generated POST /v1/messages is signed validly (RFC 9421) with
a participant's key, so the fuzzed bodies get past verification into the decoders.
The key comes from $GATEWAY_FUZZ_KEY (a PEM file), never from the command line."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from typing import Any

import schemathesis
from schemathesis.core import NotSet

from gateway import crypto
from gateway.signatures import sign_request

_KEY = crypto.load_private_key(open(os.environ["GATEWAY_FUZZ_KEY"], "rb").read())  # noqa: SIM115
_KEYID = os.environ["GATEWAY_FUZZ_KEYID"]
_AUTHORITY = os.environ["GATEWAY_FUZZ_AUTHORITY"]


def _body_bytes(body: Any) -> bytes:
    """The bytes to send: the generated body serialized here, so that what is signed is
    exactly what goes on the wire (passed to the transport as ``data``)."""
    if isinstance(body, NotSet):
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.operation.method.upper() != "POST" or case.operation.path != "/v1/messages":
        return
    body = _body_bytes(case.body)
    headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in ("signature", "signature-input", "content-digest")
    }
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if content_type is None and not isinstance(case.body, NotSet):
        content_type = case.media_type
    covered = ("@method", "@authority", "@path", "content-digest")
    base: dict[str, str] = {}
    if content_type:
        covered = (*covered[:3], "content-type", covered[3])
        base["content-type"] = content_type
        headers.setdefault("Content-Type", content_type)
    with contextlib.suppress(ValueError):  # a field that cannot be signed: sent unsigned
        headers.update(
            sign_request(
                "POST",
                _AUTHORITY,
                "/v1/messages",
                base,
                body,
                key=_KEY,
                keyid=_KEYID,
                created=int(time.time()),
                nonce=secrets.token_urlsafe(16),
                components=covered,
            )
        )
    case.headers = headers
    kwargs["data"] = body
