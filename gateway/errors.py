"""The gateway's error tree. Every refusal is one of these, turned into an RFC 9457
problem body (application/problem+json) in exactly one place (`gateway.problems`).

    GatewayError                      status  type urn:gateway:problem:<slug>
    ├── BadRequest                    400     malformed body or envelope
    ├── Unauthorized                  401     signature / key / freshness / replay
    ├── Forbidden                     403     the sender or operator may not do this
    ├── NotFound                      404
    ├── RequestTimeout                408     the body did not arrive in time
    ├── Conflict                      409     message id reused with other bytes
    ├── PayloadTooLarge               413
    ├── UnsupportedMediaType          415
    ├── Unprocessable                 422     schema violations (with every path)
    ├── TooManyRequests               429
    ├── HeaderFieldsTooLarge          431     request line + header fields over the limit
    └── Unavailable                   503     cannot record durably right now

A subclass fixes ``status``; an instance carries the slug of the failed check, a ``detail``
a person can act on, the offending ``field`` when there is one, and ``extra`` members.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Gateway error"

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.slug = slug
        self.detail = detail
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(f"{slug}: {detail}")

    @property
    def type_urn(self) -> str:
        return f"urn:gateway:problem:{self.slug}"

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem body."""
        body: dict[str, Any] = {
            "type": self.type_urn,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class BadRequest(GatewayError):
    status = 400
    title = "Malformed request"


class Unauthorized(GatewayError):
    status = 401
    title = "Not authenticated"


class Forbidden(GatewayError):
    status = 403
    title = "Not allowed"


class NotFound(GatewayError):
    status = 404
    title = "Not found"


class Conflict(GatewayError):
    status = 409
    title = "Conflict"


class RequestTimeout(GatewayError):
    status = 408
    title = "Request timeout"


class PayloadTooLarge(GatewayError):
    status = 413
    title = "Body too large"


class UnsupportedMediaType(GatewayError):
    status = 415
    title = "Unsupported content type"


class Unprocessable(GatewayError):
    status = 422
    title = "Schema violation"


class TooManyRequests(GatewayError):
    status = 429
    title = "Too many requests"


class HeaderFieldsTooLarge(GatewayError):
    status = 431
    title = "Header fields too large"


class Unavailable(GatewayError):
    status = 503
    title = "Temporarily unavailable"
