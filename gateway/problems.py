"""The one place that turns errors into RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.errors import GatewayError

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(error: GatewayError) -> Response:
    return Response(
        content=orjson.dumps(error.problem()),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def plain_problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Response:
    """A problem body for errors raised by the framework (unknown path, wrong method…)."""
    body: dict[str, Any] = {
        "type": f"urn:gateway:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return Response(content=orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE)
