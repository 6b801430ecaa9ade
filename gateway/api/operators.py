"""Operator endpoints (api.md, audit.md): bearer tokens with roles auditor < operator < admin."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.api._http import bad_query, gateway_of, raw_path, read_body
from gateway.audit import tree
from gateway.config import ConfigError
from gateway.delivery import Requeue, redeliver, retry_dead_letter
from gateway.errors import BadRequest, GatewayError, NotFound, Unauthorized, Unprocessable
from gateway.ingress import InboundRequest, decode, refuse_early, select_adapter
from gateway.message_life import read_message_life
from gateway.operators import Operator, Role, authenticate, require_role
from gateway.problems import problem_response
from gateway.routing import explain as explain_decision
from gateway.routing import facts_from_message, route
from gateway.runtime import Gateway
from gateway.storage.base import Delivery, DeliveryState, EventFilter, StoredEvent
from schemas.canonical import MessageKind

Handler = Callable[[Request, Gateway, Operator], Awaitable[Response]]


def guarded(role: Role, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate the bearer token, check the role, and turn refusals into problems."""

    async def endpoint(request: Request) -> Response:
        gw = gateway_of(request)
        try:
            try:
                operator = authenticate(request.headers.get("authorization"), gw.operators())
            except Unauthorized as exc:  # audited, and charged to the unauthenticated budget
                unread = InboundRequest(request.method, "", raw_path(request), {}, b"", gw.clock())
                raise await refuse_early(gw, unread, exc) from exc
            require_role(operator, role)
            return await handler(request, gw, operator)
        except GatewayError as exc:
            return problem_response(exc)

    return endpoint


def json_response(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def decimal_digits(raw: str, max_len: int = 18) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() refuses or
    reads; a refused parameter must be a 400, never a 500."""
    return raw.isascii() and raw.isdigit() and len(raw) <= max_len


def int_param(request: Request, name: str, *, required: bool = True, default: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise bad_query(
                "query-parameter-missing", f"query parameter {name!r} is required", name
            )
        return default
    if not decimal_digits(raw):
        raise bad_query(
            "query-parameter-invalid", f"{name} must be a non-negative integer, got {raw!r}", name
        )
    return int(raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---- audit log (audit.md) ------------------------------------------------------------------


async def checkpoint(request: Request, gw: Gateway, op: Operator) -> Response:
    cp = await gw.storage.latest_checkpoint()
    if cp is None:
        raise NotFound("checkpoint-none", "no checkpoint has been signed yet; retry in a second")
    return PlainTextResponse(cp.note.decode("utf-8"))


async def verifier_key(request: Request, gw: Gateway, op: Operator) -> Response:
    return PlainTextResponse(gw.audit_verifier_key() + "\n")


async def _checkpointed_size(gw: Gateway) -> int:
    cp = await gw.storage.latest_checkpoint()
    return cp.tree_size if cp is not None else 0


def _event_json(ev: StoredEvent) -> dict[str, object]:
    return {
        "index": ev.index,
        "leaf_b64": b64(ev.leaf),
        "event": orjson.loads(ev.leaf),
    }


async def entry(request: Request, gw: Gateway, op: Operator) -> Response:
    raw = request.path_params["index"]
    if not decimal_digits(raw):
        raise BadRequest(
            "index-invalid", f"index must be a non-negative integer, got {raw!r}", field="index"
        )
    index = int(raw)
    count = await gw.storage.event_count()
    if index >= count:
        raise BadRequest(
            "index-out-of-range",
            f"index {index} is outside the log, which has {count} entries (0..{count - 1})",
            field="index",
        )
    events = await gw.storage.get_events(index, index + 1)
    return json_response(_event_json(events[0]))


async def inclusion(request: Request, gw: Gateway, op: Operator) -> Response:
    index = int_param(request, "index")
    size = await _checkpointed_size(gw)
    tree_size = int_param(request, "tree_size", required=False, default=size)
    if tree_size > size or tree_size == 0:
        raise BadRequest(
            "tree-size-out-of-range",
            f"tree_size {tree_size} must be between 1 and the latest checkpoint's size {size}",
            field="tree_size",
        )
    if index >= tree_size:
        raise BadRequest(
            "index-out-of-range",
            f"index {index} is outside a tree of size {tree_size}",
            field="index",
        )
    proof = await asyncio.to_thread(
        tree.inclusion_proof, gw.storage.node_reader(), index, tree_size
    )
    return json_response({"index": index, "tree_size": tree_size, "proof": [b64(h) for h in proof]})


async def consistency(request: Request, gw: Gateway, op: Operator) -> Response:
    old_size = int_param(request, "old_size")
    size = await _checkpointed_size(gw)
    tree_size = int_param(request, "tree_size", required=False, default=size)
    if tree_size > size:
        raise BadRequest(
            "tree-size-out-of-range",
            f"tree_size {tree_size} is larger than the latest checkpoint's size {size}",
            field="tree_size",
        )
    if old_size > tree_size or old_size == 0:
        raise BadRequest(
            "old-size-out-of-range",
            f"old_size {old_size} must be between 1 and tree_size {tree_size}",
            field="old_size",
        )
    proof = await asyncio.to_thread(
        tree.consistency_proof, gw.storage.node_reader(), old_size, tree_size
    )
    return json_response(
        {"old_size": old_size, "tree_size": tree_size, "proof": [b64(h) for h in proof]}
    )


def _time_param(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_query(
            "query-parameter-invalid", f"{name} must be an RFC 3339 time, got {raw!r}", name
        ) from None
    if value.tzinfo is None:
        raise bad_query("query-parameter-invalid", f"{name} needs a time zone (e.g. Z)", name)
    return value.astimezone(dt.UTC)


async def search(request: Request, gw: Gateway, op: Operator) -> Response:
    q = request.query_params
    flt = EventFilter(
        message_id=q.get("message_id"),
        participant=q.get("participant"),
        kind=q.get("kind"),
        outcome=q.get("outcome"),
        since=_time_param(request, "since"),
        until=_time_param(request, "until"),
    )
    limit = min(max(int_param(request, "limit", required=False, default=50), 1), 500)
    order = q.get("order", "newest")
    if order not in ("newest", "oldest"):
        raise bad_query("query-parameter-invalid", "order must be 'newest' or 'oldest'", "order")
    cursor = q.get("cursor")
    position: int | None = None
    if cursor is not None:
        if not decimal_digits(cursor):
            raise bad_query(
                "cursor-invalid", "cursor must be a value returned as next_cursor", "cursor"
            )
        position = int(cursor)
    if order == "newest":
        rows = await gw.storage.search_events(flt, limit, before=position)
    else:
        rows = await gw.storage.search_events(flt, limit, after=position)
    next_cursor = str(rows[-1].index) if len(rows) == limit else None
    return json_response(
        {"events": [_event_json(r) for r in rows], "next_cursor": next_cursor, "order": order}
    )


# ---- one message's life --------------------------------------------------------------------


async def message_life(request: Request, gw: Gateway, op: Operator) -> Response:
    message_id = request.path_params["message_id"]
    life = await read_message_life(
        gw.storage,
        gw.clock,
        message_id,
        viewer=op.name,
        endpoint="GET /v1/messages/{message_id}",
    )
    messages, deliveries, attempts, events = (
        life.messages,
        life.deliveries,
        life.attempts,
        life.events,
    )
    bodies = [
        {
            "role": b.role,
            "sha256": b.sha256,
            "media_type": b.media_type,
            "body": b.body.decode("utf-8", "replace") if b.body else None,
            "erased": b.erased,
        }
        for b in life.bodies
    ]
    return json_response(
        {
            "message_id": message_id,
            "messages": [
                {
                    "sender": m.sender,
                    "kind": m.kind,
                    "body_sha256": m.body_sha256,
                    "received_at": m.received_at.isoformat(),
                    "audit_index": m.received_index,
                    "notice_key": m.notice_key,
                    "keyid": m.keyid,
                    "outcome": orjson.loads(m.outcome),
                }
                for m in messages
            ],
            "bodies": bodies,
            "deliveries": [
                {
                    "delivery_id": d.delivery_id,
                    "recipient": d.recipient,
                    "state": d.state.value,
                    "attempts": d.attempts,
                    "delivered_message_id": d.delivered_message_id,
                    "last_status": d.last_status,
                    "last_error": d.last_error,
                    "losses": orjson.loads(d.losses),
                    "attempt_log": [
                        {
                            "attempt": a.attempt,
                            "at": a.at.isoformat(),
                            "status_code": a.status_code,
                            "error": a.error,
                            "duration_ms": a.duration_ms,
                            "answer": a.answer.decode("utf-8", "replace") if a.answer else None,
                            "answer_signature": a.answer_signature,
                        }
                        for a in attempts[d.delivery_id]
                    ],
                }
                for d in deliveries
            ],
            "events": [_event_json(e) for e in events],
        }
    )


# ---- deliveries ---------------------------------------------------------------------------


def _delivery_json(d: Delivery) -> dict[str, object]:
    return {
        "delivery_id": d.delivery_id,
        "message_id": d.message_id,
        "sender": d.sender,
        "recipient": d.recipient,
        "kind": d.kind,
        "state": d.state.value,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "delivered_message_id": d.delivered_message_id,
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
    }


async def deliveries(request: Request, gw: Gateway, op: Operator) -> Response:
    raw = request.query_params.get("state")
    state: DeliveryState | None = None
    if raw is not None:
        try:
            state = DeliveryState(raw)
        except ValueError:
            raise bad_query(
                "query-parameter-invalid",
                f"state must be one of pending, delivered, dead; got {raw!r}",
                "state",
            ) from None
    limit = min(max(int_param(request, "limit", required=False, default=100), 1), 1000)
    after = request.query_params.get("cursor")
    rows = await gw.storage.list_deliveries(state, limit, after=after)
    return json_response(
        {
            "deliveries": [_delivery_json(d) for d in rows],
            "next_cursor": rows[-1].delivery_id if len(rows) == limit else None,
        }
    )


async def _apply(gw: Gateway, requeue: Requeue) -> Response:
    await gw.storage.commit(requeue.transaction)
    gw.after_commit(delivered=True)
    return json_response(
        {"requeued": list(requeue.requeued), "skipped": list(requeue.skipped)}, status=202
    )


async def retry(request: Request, gw: Gateway, op: Operator) -> Response:
    delivery_id = request.path_params["delivery_id"]
    return await _apply(gw, await retry_dead_letter(gw.storage, delivery_id, op.name, gw.clock))


async def redeliver_message(request: Request, gw: Gateway, op: Operator) -> Response:
    recipient = request.query_params.get("recipient")
    message_id = request.path_params["message_id"]
    return await _apply(gw, await redeliver(gw.storage, message_id, recipient, op.name, gw.clock))


# ---- routing and administration ------------------------------------------------------------


async def explain(request: Request, gw: Gateway, op: Operator) -> Response:
    limits = gw.config.settings.limits
    body = await read_body(request, limits.max_body_bytes, limits.body_timeout_seconds)
    adapter = select_adapter(request.headers.get("content-type"))
    message = decode(adapter, body)
    previous = frozenset[str]()
    ref = message.notice.reference(adapter.reference_system)
    if message.kind is not MessageKind.PUBLISH and ref is not None:
        key = await gw.storage.notice_for_reference(adapter.reference_system, ref)
        if key is not None:
            previous = await gw.storage.recipients_of(key)
    decision = route(facts_from_message(message), gw.config, previous_recipients=previous)
    out = decision.as_json()
    out["explanation"] = explain_decision(decision)
    out["dry_run"] = True
    return json_response(out)


async def reload(request: Request, gw: Gateway, op: Operator) -> Response:
    async with gw.reload_lock:
        try:
            config = gw.reload_config()
        except ConfigError as exc:
            await gw.record_config_loaded(
                actor_type="operator", actor=op.name, refused=exc.problems
            )
            raise Unprocessable(
                "config-invalid",
                f"the new configuration is invalid and was not loaded; the old one stays: {exc}",
                extra={"errors": exc.problems},
            ) from exc
        await gw.record_config_loaded(actor_type="operator", actor=op.name)
    return json_response(
        {"loaded": True, "config_digest": config.config_digest, "rules_digest": config.rules_digest}
    )


routes = [
    Route("/v1/audit/checkpoint", guarded(Role.AUDITOR, checkpoint), methods=["GET"]),
    Route("/v1/audit/key", guarded(Role.AUDITOR, verifier_key), methods=["GET"]),
    Route("/v1/audit/entries/{index}", guarded(Role.AUDITOR, entry), methods=["GET"]),
    Route("/v1/audit/proof/inclusion", guarded(Role.AUDITOR, inclusion), methods=["GET"]),
    Route("/v1/audit/proof/consistency", guarded(Role.AUDITOR, consistency), methods=["GET"]),
    Route("/v1/audit/events", guarded(Role.AUDITOR, search), methods=["GET"]),
    Route("/v1/messages/{message_id}", guarded(Role.AUDITOR, message_life), methods=["GET"]),
    Route("/v1/deliveries", guarded(Role.AUDITOR, deliveries), methods=["GET"]),
    Route("/v1/deliveries/{delivery_id}/retry", guarded(Role.OPERATOR, retry), methods=["POST"]),
    Route(
        "/v1/messages/{message_id}/redeliver",
        guarded(Role.OPERATOR, redeliver_message),
        methods=["POST"],
    ),
    Route("/v1/routing/explain", guarded(Role.AUDITOR, explain), methods=["POST"]),
    Route("/v1/admin/reload", guarded(Role.ADMIN, reload), methods=["POST"]),
]
