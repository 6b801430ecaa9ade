"""Participant endpoints (api.md): POST /v1/messages, GET /v1/keys, GET …/status."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api._http import combined_headers, gateway_of, raw_path, read_body
from gateway.errors import Forbidden, GatewayError, NotFound
from gateway.ingress import InboundRequest, accept_message, refuse_early
from gateway.problems import problem_response
from gateway.randomness import random_nonce
from gateway.runtime import Gateway
from gateway.signatures import sign_response, verify_request


def signed_json(gw: Gateway, status: int, body: bytes) -> Response:
    """A JSON response signed with the gateway key (signatures.md, Receipts)."""
    headers = {"content-type": "application/json"}
    now = int(gw.clock().timestamp())
    headers.update(
        sign_response(
            status,
            headers,
            body,
            key=gw.signing_key,
            keyid=gw.config.settings.gateway.signing_keyid,
            created=now,
            nonce=random_nonce(16),
        )
    )
    return Response(content=body, status_code=status, headers=headers)


async def post_message(request: Request) -> Response:
    gw = gateway_of(request)
    received_at = gw.clock()
    try:
        try:
            limits = gw.config.settings.limits
            body = await read_body(request, limits.max_body_bytes, limits.body_timeout_seconds)
        except GatewayError as exc:  # 413 before the pipeline: audited all the same
            unread = InboundRequest(
                request.method, "", raw_path(request), {}, b"", received_at=received_at
            )
            raise await refuse_early(gw, unread, exc) from exc
        inbound = InboundRequest(
            method=request.method,
            authority=request.headers.get("host", ""),
            path=raw_path(request),
            headers=combined_headers(request),
            body=body,
            received_at=received_at,
        )
        receipt = await accept_message(gw, inbound)
    except GatewayError as exc:
        return problem_response(exc)
    return signed_json(gw, 202, receipt.body)


async def get_keys(request: Request) -> Response:
    gw = gateway_of(request)
    return Response(
        content=orjson.dumps(gw.public_keys_jwks()),
        media_type="application/json",
    )


async def get_status(request: Request) -> Response:
    """Per-recipient delivery state, for the message's sender only (a signed GET)."""
    gw = gateway_of(request)
    message_id = request.path_params["message_id"]
    try:
        signed = verify_request(
            method=request.method,
            authority=request.headers.get("host", ""),
            path=raw_path(request),
            headers=combined_headers(request),
            body=b"",
            expected_authority=gw.config.settings.gateway.public_authority,
            now=int(gw.clock().timestamp()),
            window_seconds=gw.config.settings.limits.clock_skew_seconds,
            resolve_key=gw.config.keys.get,
            required_components=("@method", "@authority", "@path"),
        )
        messages = [
            m for m in await gw.storage.messages_by_id(message_id) if m.sender == signed.participant
        ]
        if not messages:
            if await gw.storage.messages_by_id(message_id):
                raise Forbidden(
                    "not-the-sender",
                    f"message {message_id!r} was not sent by {signed.participant!r}",
                )
            raise NotFound("message-unknown", f"no message {message_id!r} was accepted")
        deliveries = await gw.storage.deliveries_of_message(message_id)
        outcome = orjson.loads(messages[0].outcome)
    except GatewayError as exc:
        return problem_response(exc)
    body = orjson.dumps(
        {
            "message_id": message_id,
            "routing": outcome["routing"],
            "recipients": outcome["recipients"],
            "deliveries": [
                {
                    "delivery_id": d.delivery_id,
                    "recipient": d.recipient,
                    "state": d.state.value,
                    "attempts": d.attempts,
                    "last_status": d.last_status,
                    "updated_at": d.updated_at.isoformat(),
                }
                for d in deliveries
                if d.sender == signed.participant
            ],
        }
    )
    return signed_json(gw, 200, body)


routes = [
    Route("/v1/messages", post_message, methods=["POST"]),
    Route("/v1/keys", get_keys, methods=["GET"]),
    Route("/v1/messages/{message_id}/status", get_status, methods=["GET"]),
]
