"""The OpenAPI 3.1 document for every route (api.md: /openapi.json, docs at /docs).

The app is plain Starlette, so the document is written here as data: one `Operation` per
(method, path). tests/unit/test_openapi.py checks that every registered route is
documented and every documented operation is registered; the schemathesis run
(tests/integration/test_api_fuzz.py) checks the running gateway's answers against it.
/docs is a server-rendered page: it fetches nothing from anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gateway.problems import PROBLEM_MEDIA_TYPE

INTERPOL_MEDIA_TYPE = "application/vnd.interpol.notice+json"
GCCPOL_MEDIA_TYPE = "application/vnd.gccpol.alert+xml"

# Why each status is answered (api.md); every refusal is a problem body.
STATUS_TEXT: dict[int, str] = {
    303: "see other: the console's login page (no live session) or the page after a form",
    400: "malformed request, envelope, query parameter or signature field",
    401: "not authenticated: signature, key, freshness or replay; or operator token",
    403: "authenticated, but may not do this",
    404: "no such resource",
    408: "the body did not all arrive within [limits] body_timeout_seconds of the head",
    409: "conflict with what is recorded",
    413: "body over [limits] max_body_bytes",
    415: "content type names no schema this gateway speaks",
    422: "well-formed but violates the schema or configuration (every violation listed)",
    429: "over the rate limit or concurrency cap; honour Retry-After",
    431: "request line and header fields over [limits] max_header_bytes",
    503: "cannot record durably right now; nothing was recorded, retry later",
}

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SIGNED: list[dict[str, list[str]]] = [{"httpMessageSignature": []}]
_OPERATOR: list[dict[str, list[str]]] = [{"bearerToken": []}]
_CONSOLE: list[dict[str, list[str]]] = [{"consoleSession": []}]
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    ok: int = 200
    ok_media_type: str = "application/json"
    ok_schema: dict[str, Any] = field(default_factory=lambda: dict(_ANY_OBJECT))
    errors: tuple[int, ...] = ()
    security: tuple[dict[str, list[str]], ...] = ()
    role: str | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    request_body: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        responses: dict[str, Any] = {
            str(self.ok): {
                "description": "success",
                "content": {self.ok_media_type: {"schema": self.ok_schema}},
            }
        }
        # Failed operator logins share the unauthenticated budget (gateway.ratelimit): 429.
        limited = (429,) if list(self.security) == _OPERATOR and 429 not in self.errors else ()
        for status in (*self.errors, *limited, 431):
            headers: dict[str, Any] = {}
            if status in (429, 503):
                headers["Retry-After"] = {
                    "description": "seconds to wait (RFC 9110 §10.2.3)",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            content: dict[str, Any] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}}
            if self.tag == "console":  # a page for people, or a problem body
                content = {"text/html": {"schema": {"type": "string"}}, **content}
            if status == 303:
                headers["Location"] = {"description": "where to go", "schema": {"type": "string"}}
                content = {}
            responses[str(status)] = {
                "description": STATUS_TEXT[status],
                **({"content": content} if content else {}),
                **({"headers": headers} if headers else {}),
            }
        op: dict[str, Any] = {
            "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{self.method}_{self.path}").strip("_"),
            "summary": self.summary,
            "tags": [self.tag],
            "responses": responses,
            "security": list(self.security),
        }
        if self.role is not None:
            op["description"] = f"Needs an operator token with role `{self.role}` or higher."
        if self.parameters:
            op["parameters"] = list(self.parameters)
        if self.request_body is not None:
            op["requestBody"] = self.request_body
        return op


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_NON_NEGATIVE = {"type": "integer", "minimum": 0}

_SIGNATURE_HEADERS: tuple[dict[str, Any], ...] = (
    {
        "name": "Signature-Input",
        "in": "header",
        "required": True,
        "description": "RFC 9421 §4.1 signature parameters (signatures.md)",
        "schema": {"type": "string"},
    },
    {
        "name": "Signature",
        "in": "header",
        "required": True,
        "description": "RFC 9421 §4.2 Ed25519 signature (signatures.md)",
        "schema": {"type": "string"},
    },
)

_MESSAGE_BODY = {
    "required": True,
    "description": "one message in the sender's own schema; the Content-Type names it",
    "content": {
        INTERPOL_MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "description": "an INTERPOL notice message (schemas/interpol-notice.schema.json)",
            }
        },
        GCCPOL_MEDIA_TYPE: {
            "schema": {
                "type": "string",
                "description": "a GCCPOL alert (schemas/gccpol-alert.xsd), UTF-8 XML",
            }
        },
    },
}

_RECEIPT = {
    "type": "object",
    "required": ["message_id", "sender", "body_sha256", "received_at", "audit_index", "routing"],
    "properties": {
        "message_id": {"type": "string"},
        "sender": {"type": "string"},
        "body_sha256": {"type": "string"},
        "received_at": {"type": "string"},
        "audit_index": {"type": "integer"},
        "routing": {"type": "string", "enum": ["routed", "unrouted", "refused"]},
        "rules_digest": {"type": "string"},
        "recipients": {"type": "array", "items": _ANY_OBJECT},
    },
}

_REQUEUE = {
    "type": "object",
    "required": ["requeued", "skipped"],
    "properties": {
        "requeued": {"type": "array", "items": {"type": "string"}},
        "skipped": {"type": "array", "items": {"type": "string"}},
    },
}

_AUDITOR_ERRORS = (400, 401, 403)


def operations() -> tuple[Operation, ...]:
    """Every operation the gateway serves, in the order api.md lists them."""
    return (
        Operation(
            "post",
            "/v1/messages",
            "Submit one signed message in the sender's own schema",
            "participants",
            ok=202,
            ok_schema=_RECEIPT,
            errors=(400, 401, 403, 408, 409, 413, 415, 422, 429, 503),
            security=tuple(_SIGNED),
            parameters=(
                *_SIGNATURE_HEADERS,
                {
                    "name": "Content-Digest",
                    "in": "header",
                    "required": True,
                    "description": "RFC 9530 sha-256 digest of the body",
                    "schema": {"type": "string"},
                },
            ),
            request_body=_MESSAGE_BODY,
        ),
        Operation(
            "get",
            "/v1/keys",
            "The gateway's public signing keys (JWK set) and audit verifier key",
            "participants",
            ok_schema={
                "type": "object",
                "required": ["keys"],
                "properties": {"keys": {"type": "array", "items": _ANY_OBJECT}},
            },
        ),
        Operation(
            "get",
            "/v1/messages/{message_id}/status",
            "Per-recipient delivery state, for the message's sender only (signed GET)",
            "participants",
            errors=(400, 401, 403, 404),
            security=tuple(_SIGNED),
            parameters=(_path_param("message_id", "the sender's message id"), *_SIGNATURE_HEADERS),
        ),
        Operation(
            "get",
            "/v1/audit/checkpoint",
            "The latest signed checkpoint (C2SP signed note)",
            "audit",
            ok_media_type="text/plain",
            ok_schema={"type": "string"},
            errors=(*_AUDITOR_ERRORS, 404),
            security=tuple(_OPERATOR),
            role="auditor",
        ),
        Operation(
            "get",
            "/v1/audit/key",
            "The checkpoint verifier key (C2SP note verifier key)",
            "audit",
            ok_media_type="text/plain",
            ok_schema={"type": "string"},
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
        ),
        Operation(
            "get",
            "/v1/audit/entries/{index}",
            "One audit log entry: its leaf bytes and the event they encode",
            "audit",
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(_path_param("index", "the entry's index, from 0"),),
        ),
        Operation(
            "get",
            "/v1/audit/proof/inclusion",
            "RFC 9162 §2.1.3 inclusion proof of one entry in a checkpointed tree",
            "audit",
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(
                {**_query("index", "the entry's index", _NON_NEGATIVE), "required": True},
                _query("tree_size", "default: the latest checkpoint's size", _NON_NEGATIVE),
            ),
        ),
        Operation(
            "get",
            "/v1/audit/proof/consistency",
            "RFC 9162 §2.1.4 consistency proof between two tree sizes",
            "audit",
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(
                {**_query("old_size", "the older tree size", _NON_NEGATIVE), "required": True},
                _query("tree_size", "default: the latest checkpoint's size", _NON_NEGATIVE),
            ),
        ),
        Operation(
            "get",
            "/v1/audit/events",
            "Search audit events (newest first unless order=oldest), paged by cursor",
            "audit",
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(
                _query("message_id", "only events about this message", {"type": "string"}),
                _query("participant", "only events about this participant", {"type": "string"}),
                _query("kind", "event kind (audit.md)", {"type": "string"}),
                _query("outcome", "event outcome", {"type": "string"}),
                _query("since", "RFC 3339 time", {"type": "string"}),
                _query("until", "RFC 3339 time", {"type": "string"}),
                _query("limit", "1..500, default 50", _NON_NEGATIVE),
                _query("order", "newest or oldest", {"type": "string"}),
                _query("cursor", "next_cursor of the previous page", {"type": "string"}),
            ),
        ),
        Operation(
            "get",
            "/v1/messages/{message_id}",
            "One message's life: bodies (reading them is audited), routing, deliveries",
            "operators",
            errors=(*_AUDITOR_ERRORS, 404),
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(_path_param("message_id", "the sender's message id"),),
        ),
        Operation(
            "get",
            "/v1/deliveries",
            "Deliveries by state (pending, delivered, dead), paged by cursor",
            "operators",
            errors=_AUDITOR_ERRORS,
            security=tuple(_OPERATOR),
            role="auditor",
            parameters=(
                _query("state", "pending, delivered or dead", {"type": "string"}),
                _query("limit", "1..1000, default 100", _NON_NEGATIVE),
                _query("cursor", "next_cursor of the previous page", {"type": "string"}),
            ),
        ),
        Operation(
            "post",
            "/v1/deliveries/{delivery_id}/retry",
            "Put a dead-lettered delivery back in the queue",
            "operators",
            ok=202,
            ok_schema=_REQUEUE,
            errors=(*_AUDITOR_ERRORS, 404, 409),
            security=tuple(_OPERATOR),
            role="operator",
            parameters=(_path_param("delivery_id", "the delivery's id"),),
        ),
        Operation(
            "post",
            "/v1/messages/{message_id}/redeliver",
            "Deliver a message again to one recipient (?recipient=) or all",
            "operators",
            ok=202,
            ok_schema=_REQUEUE,
            errors=(*_AUDITOR_ERRORS, 404, 409),
            security=tuple(_OPERATOR),
            role="operator",
            parameters=(
                _path_param("message_id", "the sender's message id"),
                _query("recipient", "one recipient; default all", {"type": "string"}),
            ),
        ),
        Operation(
            "post",
            "/v1/routing/explain",
            "Dry run: who an (unsigned) message would reach or be refused to, and why",
            "operators",
            errors=(*_AUDITOR_ERRORS, 408, 413, 415, 422),
            security=tuple(_OPERATOR),
            role="auditor",
            request_body=_MESSAGE_BODY,
        ),
        Operation(
            "post",
            "/v1/admin/reload",
            "Reload participants, keys and rules; an invalid configuration is refused whole",
            "operators",
            errors=(*_AUDITOR_ERRORS, 422),
            security=tuple(_OPERATOR),
            role="admin",
        ),
        Operation("get", "/healthz", "Process up", "service"),
        Operation(
            "get", "/readyz", "Storage reachable, configuration loaded", "service", errors=(503,)
        ),
        Operation(
            "get",
            "/metrics",
            "Prometheus text format",
            "service",
            ok_media_type="text/plain",
            ok_schema={"type": "string"},
        ),
        Operation("get", "/openapi.json", "This document", "service"),
        Operation(
            "get",
            "/docs",
            "This document as a page",
            "service",
            ok_media_type="text/html",
            ok_schema={"type": "string"},
        ),
    )


_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "pattern": "^urn:gateway:problem:[a-z0-9-]+$"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "violations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def mounted_operations(routes: Sequence[BaseRoute]) -> tuple[Operation, ...]:
    """The pages under a mount (the operator console, api.md): HTML for browsers with a
    session cookie, not an API. They are listed from the routes themselves, so the document
    follows the console as it grows; the JSON API above is written by hand."""
    out: list[Operation] = []
    for mount in routes:
        if not isinstance(mount, Mount):
            continue
        for route in mount.routes:
            if not isinstance(route, Route):
                continue
            path = mount.path + route.path if route.path != "/" else mount.path + "/"
            params = tuple(_path_param(name, "see the console") for name in route.param_convertors)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                out.append(
                    Operation(
                        method.lower(),
                        path,
                        f"console: {route.name}",
                        "console",
                        ok_media_type="text/html",
                        ok_schema={"type": "string"},
                        errors=(303, 400, 401, 403, 404, 429),
                        security=tuple(_CONSOLE),
                        parameters=params,
                    )
                )
    return tuple(out)


def openapi_document(extra: Sequence[Operation] = ()) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in (*operations(), *extra):
        paths.setdefault(op.path, {})[op.method] = op.document()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Police information exchange gateway",
            "version": "1",
            "description": (
                "INTERPOL notices <-> GCCPOL alerts: signed ingress (RFC 9421), translation "
                "with loss reports, routing rules, signed delivery, and a tamper-evident "
                "audit log (RFC 9162). Every error is an RFC 9457 problem body."
            ),
        },
        "tags": [
            {"name": "participants", "description": "signed with the participant's key"},
            {"name": "audit", "description": "audit.md; operator tokens"},
            {"name": "operators", "description": "operator tokens with roles"},
            {"name": "service", "description": "no authentication"},
            {"name": "console", "description": "HTML pages for operators (session cookie)"},
        ],
        "paths": paths,
        "components": {
            "schemas": {"Problem": _PROBLEM_SCHEMA},
            "securitySchemes": {
                "consoleSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "gw_console",
                    "description": (
                        "the console's session cookie (HttpOnly, SameSite=Strict; "
                        "__Host-gw_console over https), set by POST /console/login"
                    ),
                },
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "operator token (config.md operators.toml stores only its SHA-256); "
                        "roles auditor < operator < admin"
                    ),
                },
                "httpMessageSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Signature",
                    "description": (
                        "RFC 9421 HTTP Message Signatures with Ed25519 (signatures.md): "
                        "Signature-Input covers @method, @authority, @path, content-type and "
                        "content-digest (RFC 9530) with created, keyid, nonce and alg; "
                        "OpenAPI has no scheme type for it, so it is described as the "
                        "Signature header field."
                    ),
                },
            },
        },
    }


def documented_operations(routes: Sequence[BaseRoute] = ()) -> set[tuple[str, str]]:
    return {(op.method.upper(), op.path) for op in (*operations(), *mounted_operations(routes))}


async def openapi_json(request: Request) -> Response:
    extra = mounted_operations(request.app.routes)
    return Response(orjson.dumps(openapi_document(extra)), media_type="application/json")


def docs_html(routes: Sequence[BaseRoute] = ()) -> str:
    doc = openapi_document(mounted_operations(routes))
    rows: list[str] = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            auth = (
                "signed (RFC 9421)"
                if op["security"] == _SIGNED
                else "session cookie"
                if op["security"] == _CONSOLE
                else ("bearer token" if op["security"] else "none")
            )
            statuses = ", ".join(op["responses"])
            params = ", ".join(p["name"] for p in op.get("parameters", ()))
            bodies = ", ".join(op.get("requestBody", {}).get("content", {}))
            rows.append(
                "<tr>"
                f"<td><code>{html.escape(method.upper())}</code></td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}"
                + (
                    f"<br><small>{html.escape(op['description'])}</small>"
                    if "description" in op
                    else ""
                )
                + f"</td><td>{html.escape(auth)}</td>"
                f"<td>{html.escape(params)}</td><td>{html.escape(bodies)}</td>"
                f"<td>{html.escape(statuses)}</td>"
                "</tr>"
            )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Gateway API</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}</style>"
        "</head><body><h1>Gateway API</h1>"
        f"<p>{html.escape(doc['info']['description'])}</p>"
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> '
        "(OpenAPI 3.1). Every error is <code>application/problem+json</code>.</p>"
        "<table><thead><tr><th>method</th><th>path</th><th>what</th><th>auth</th>"
        "<th>parameters</th><th>request body</th><th>statuses</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )


async def docs_page(request: Request) -> Response:
    return HTMLResponse(
        docs_html(request.app.routes),
        headers={"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
]
