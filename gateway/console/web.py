"""The console's plumbing: its state (sessions, the log checker, templates), the guard
every page goes through (session, role, and for forms Origin + CSRF token), refusals as
problems (and audit events), and the Mount that app.py registers at /console.

Console routes are written as ``Handler``s of a ``Visit``: the checked request, the
gateway, the session and the operator as configured now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gateway.api._http import gateway_of, read_body
from gateway.audit.events import EventKind
from gateway.console.guard import SecurityHeaders, check_same_origin
from gateway.console.log_check import LogChecker
from gateway.console.notice_view import bidi_markup
from gateway.console.sessions import Session, SessionStore
from gateway.errors import BadRequest, Forbidden, GatewayError, Unauthorized
from gateway.ingress import event
from gateway.operators import Operator, Role, require_role
from gateway.problems import problem_response
from gateway.runtime import Gateway, utc_now
from gateway.storage.base import StorageUnavailable, Transaction

__all__ = ["Console", "Handler", "Visit"]

HERE = Path(__file__).parent
COOKIE = "gw_console"
SECURE_COOKIE = "__Host-gw_console"  # RFC 6265bis: Secure, Path=/, no Domain
FORM_LIMIT = 8 * 1024  # console forms are a few short fields

# Fixed texts a redirect after a form may ask a page to show (never free text from a URL).
NOTICES = {
    "logged-out": "You are logged out.",
    "requeued": "The delivery is queued again; the worker sends it now.",
    "redelivery": "The message is queued for delivery again.",
    "skipped": "Nothing was queued: the delivery is still pending.",
    "verify-started": "The verification of the audit log has started.",
    "verify-running": "A verification is already running; its result appears below.",
}


@dataclass(frozen=True, slots=True)
class Visit:
    """One checked request to a console page."""

    request: Request
    gw: Gateway
    console: Console
    session: Session
    operator: Operator
    form: dict[str, str] = field(default_factory=dict)

    @property
    def can_operate(self) -> bool:
        return self.operator.role >= Role.OPERATOR

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.console.render(
            self.request,
            template,
            status,
            operator=self.operator,
            csrf_token=self.session.csrf_token,
            can_operate=self.can_operate,
            **context,
        )


Handler = Callable[[Visit], Awaitable[Response]]


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _format_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _format_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Console:
    """State of the web console for one app (created by gateway.app.create_app)."""

    def __init__(self, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.clock = clock
        self.sessions = SessionStore()
        self.checker = LogChecker(clock=clock)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["bidi"] = bidi_markup
        self.templates.filters["time"] = _format_time
        self.templates.filters["age"] = _format_age
        self.templates.filters["urlquote"] = lambda s: quote(str(s), safe="")
        self.chart_cache: dict[tuple[str, int], tuple[float, Any]] = {}

    async def close(self) -> None:
        await self.checker.close()

    # ---- rendering ---------------------------------------------------------------------

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        notice = NOTICES.get(request.query_params.get("notice", ""))
        html = self.templates.get_template(template).render(
            path=request.url.path, flash=notice, **{"operator": None, **context}
        )
        return HTMLResponse(html, status_code=status)

    def refusal_page(self, request: Request, exc: GatewayError, **context: Any) -> Response:
        """The refusal as an RFC 9457 problem; a browser gets it as a readable page (same
        status, the problem's members shown), an API client as application/problem+json."""
        if not wants_html(request):
            return problem_response(exc)
        response = self.render(
            request, "refused.html", exc.status, problem=exc.problem(), **context
        )
        response.headers.update(exc.headers)
        return response

    async def refuse(
        self, request: Request, gw: Gateway, exc: GatewayError, actor: str | None
    ) -> Response:
        """Audit a refusal (who, which check, on which path), then answer it."""
        await audit(
            gw,
            EventKind.REFUSED,
            actor=actor or "anonymous",
            outcome=exc.slug,
            details={
                "via": "console",
                "check": exc.slug,
                "status": exc.status,
                "detail": exc.detail,
                "path": request.url.path,
            },
        )
        return self.refusal_page(request, exc)

    # ---- cookies -----------------------------------------------------------------------

    @staticmethod
    def cookie_name(request: Request) -> str:
        return SECURE_COOKIE if request.url.scheme == "https" else COOKIE

    def session_id(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie_name(request))

    def set_cookie(self, request: Request, response: Response, session_id: str) -> None:
        secure = request.url.scheme == "https"
        response.set_cookie(
            self.cookie_name(request),
            session_id,
            max_age=int(self.sessions.lifetime.total_seconds()),
            path="/" if secure else "/console",
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, request: Request, response: Response) -> None:
        secure = request.url.scheme == "https"
        response.delete_cookie(
            self.cookie_name(request),
            path="/" if secure else "/console",
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    # ---- the guard ---------------------------------------------------------------------

    def page(
        self, role: Role, handler: Handler, *, form: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """A console endpoint: a live session (else the login page, or 401 for a form),
        the role, and for a form the same-origin check and the session's CSRF token."""

        async def endpoint(request: Request) -> Response:
            gw = gateway_of(request)
            found = self.sessions.resolve(self.session_id(request), self.clock(), gw.operators())
            if found is None:
                if not form:
                    target = quote(request.url.path, safe="/")
                    return RedirectResponse(f"/console/login?next={target}", status_code=303)
                return await self.refuse(
                    request,
                    gw,
                    Unauthorized(
                        "console-session-missing",
                        "this form needs a console session; log in at /console/login first "
                        "(sessions end after 30 minutes idle, 12 hours in all, or a restart)",
                    ),
                    None,
                )
            session, operator = found
            try:
                fields: dict[str, str] = {}
                if form:
                    check_same_origin(request, gw.config.settings.gateway.public_authority)
                    fields = await read_form(request)
                    if not session.csrf_matches(fields.get("csrf_token")):
                        raise Forbidden(
                            "console-csrf-token",
                            "the form's CSRF token is missing or is not this session's; "
                            "reload the page and submit the form again",
                        )
                require_role(operator, role)
            except GatewayError as exc:
                return await self.refuse(request, gw, exc, operator.name)
            visit = Visit(request, gw, self, session, operator, fields)
            try:
                return await handler(visit)
            except GatewayError as exc:
                return self.refusal_page(request, exc)

        return endpoint

    def mount(self, routes: list[BaseRoute]) -> Mount:
        static = Route("/static/console.css", _stylesheet, methods=["GET"])
        return Mount("/console", routes=[static, *routes], middleware=[_security_middleware()])


def _security_middleware() -> Any:
    from starlette.middleware import Middleware

    return Middleware(SecurityHeaders)


async def _stylesheet(request: Request) -> Response:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body of at most FORM_LIMIT bytes, one value per
    field (the first)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise BadRequest(
            "console-form-media-type",
            f"a console form is application/x-www-form-urlencoded, got {media_type or 'none'!r}",
        )
    body = await read_body(request, FORM_LIMIT)
    try:
        parsed = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("console-form-malformed", f"the form could not be read: {exc}") from exc
    return {name: values[0] for name, values in parsed.items()}


async def audit(
    gw: Gateway,
    kind: EventKind,
    *,
    actor: str,
    outcome: str,
    details: dict[str, object],
    message_id: str | None = None,
) -> None:
    """One console event in the audit log (actor type ``operator``); a database that is
    down loses the event but not the answer, as for ingress refusals."""
    row = event(
        kind,
        gw.clock(),
        actor_type="operator",
        actor=actor,
        message_id=message_id,
        outcome=outcome,
        details=details,
    )
    try:
        await gw.storage.commit(Transaction(events=[row]))
    except StorageUnavailable:
        gw.log_event("console-audit-not-recorded", kind=kind.value, outcome=outcome)
        return
    gw.after_commit(delivered=False)
