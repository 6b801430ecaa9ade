"""Logging in and out of the console (api.md "Operator console"): an operator token
(the API's bearer tokens, gateway.operators) buys a session cookie; both are audited as
``operator_login`` events (outcome ``accepted``, the refusal's slug, or ``logged-out``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.api._http import gateway_of
from gateway.audit.events import EventKind
from gateway.console.guard import check_same_origin
from gateway.console.web import Console, Visit, audit, read_form, wants_html
from gateway.errors import GatewayError
from gateway.operators import Role, authenticate

__all__ = ["routes"]


def _next_page(raw: str | None) -> str:
    """Where to go after logging in: a console path only (no open redirect)."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


def routes(console: Console) -> list[Route]:
    async def login_form(request: Request) -> Response:
        gw = gateway_of(request)
        if console.sessions.resolve(console.session_id(request), console.clock(), gw.operators()):
            return RedirectResponse(_next_page(request.query_params.get("next")), 303)
        return console.render(
            request, "login.html", next=_next_page(request.query_params.get("next")), error=None
        )

    async def login(request: Request) -> Response:
        gw = gateway_of(request)
        try:
            check_same_origin(request, gw.config.settings.gateway.public_authority)
            form = await read_form(request)
            operator = authenticate(f"Bearer {form.get('token', '').strip()}", gw.operators())
        except GatewayError as exc:
            await audit(
                gw,
                EventKind.OPERATOR_LOGIN,
                actor="unknown",
                outcome=exc.slug,
                details={"via": "console", "detail": exc.detail},
            )
            if not wants_html(request):
                return console.refusal_page(request, exc)
            return console.render(
                request, "login.html", exc.status, next="/console/", error=exc.detail
            )
        session_id, session = console.sessions.create(operator, console.clock())
        await audit(
            gw,
            EventKind.OPERATOR_LOGIN,
            actor=operator.name,
            outcome="accepted",
            details={
                "via": "console",
                "role": operator.role.name.lower(),
                "session": session.key[:16],  # names the session, cannot be used as one
            },
        )
        response = RedirectResponse(_next_page(form.get("next")), status_code=303)
        console.set_cookie(request, response, session_id)
        return response

    async def logout(visit: Visit) -> Response:
        console.sessions.drop(console.session_id(visit.request))
        await audit(
            visit.gw,
            EventKind.OPERATOR_LOGIN,
            actor=visit.operator.name,
            outcome="logged-out",
            details={"via": "console", "session": visit.session.key[:16]},
        )
        response = RedirectResponse("/console/login?notice=logged-out", status_code=303)
        console.clear_cookie(visit.request, response)
        return response

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", console.page(Role.AUDITOR, logout, form=True), methods=["POST"]),
    ]
