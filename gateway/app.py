"""The app factory: configuration, storage, background services and routes, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.api import operators as operator_routes
from gateway.api import participants as participant_routes
from gateway.api import service as service_routes
from gateway.api.header_limit import HeaderSizeLimit
from gateway.api.timing import RequestTimer
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.console import Console, console_mount
from gateway.heap import settle_for_serving
from gateway.openapi import routes as openapi_routes
from gateway.problems import plain_problem
from gateway.runtime import Gateway, utc_now
from gateway.sequencer import Sequencer
from gateway.storage import StorageUnavailable, open_storage

log = logging.getLogger("gateway")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return plain_problem(
        exc.status_code, slug, str(exc.detail), f"{request.method} {request.url.path}: {exc.detail}"
    )


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    """The database went away under a look-up (a commit's failure is answered in ingress):
    503, never 500 (docs/architecture.md, Concurrency). Nothing was recorded."""
    answer = plain_problem(
        503,
        "storage-unavailable",
        "Temporarily unavailable",
        "the gateway cannot reach its storage right now; nothing was recorded, "
        "retry later with a fresh signature",
    )
    answer.headers["Retry-After"] = "5"
    return answer


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client closed the connection before its request was whole (a body cut off, or
    a malformed one the HTTP server refused and closed): nothing was received, so nothing
    is recorded or audited (docs/security.md, Slow clients). Logged; the answer reaches
    no one. Unhandled, it was an "Exception in ASGI application" with a traceback."""
    log.info(
        "request-abandoned",
        extra={"fields": {"method": request.method, "path": request.url.path}},
    )
    return plain_problem(
        400,
        "client-disconnected",
        "Bad request",
        "the connection closed before the request was complete; nothing was recorded",
    )


def watch_sighup(gw: Gateway) -> None:
    """SIGHUP reloads the configuration (api.md: like POST /v1/admin/reload); an invalid
    configuration is logged and the old one stays. Only possible in the main thread."""
    loop = asyncio.get_running_loop()

    async def reload() -> None:
        async with gw.reload_lock:
            try:
                gw.reload_config()
            except ConfigError as exc:
                log.error("config-reload-refused", extra={"fields": {"problems": exc.problems}})
                await gw.record_config_loaded(
                    actor_type="gateway", actor="SIGHUP", refused=exc.problems
                )
                return
            await gw.record_config_loaded(actor_type="gateway", actor="SIGHUP")
            log.info("config-reloaded", extra={"fields": {"digest": gw.config.config_digest}})

    def on_hup() -> None:
        loop.create_task(reload())  # noqa: RUF006 (fire and forget; errors are logged)

    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, on_hup)


def create_app(
    config_dir: Path,
    *,
    config: GatewayConfig | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    start_delivery: bool = True,
    settle_heap: bool = False,
) -> Starlette:
    """Build the gateway app for one configuration folder (validated whole, now).

    ``settle_heap``: once started, freeze the start-up heap and space the garbage
    collector's passes out (`gateway.heap`); for a serving process (`gateway serve`), not
    for tests or tools that build many apps in one process."""
    cfg = config or load_config(config_dir, require_signing_key=True)
    console = Console(clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        storage = open_storage(cfg.storage_url)
        await storage.open()
        gw = Gateway(config_dir=config_dir, config=cfg, storage=storage, clock=clock)
        gw.load_signing_key()
        sequencer = Sequencer(
            storage,
            origin=cfg.settings.gateway.audit_origin,
            sign=gw.sign_bytes,
            key_name=cfg.settings.gateway.audit_origin,
            public_key=gw.public_key_bytes,
            clock=clock,
            max_delay=cfg.settings.audit.checkpoint_max_delay_seconds,
        )
        gw.sequencer = sequencer
        app.state.gateway = gw
        await gw.record_config_loaded(actor_type="gateway", actor=cfg.settings.gateway.id)
        await sequencer.integrate()
        sequencer.start()
        if start_delivery and cfg.settings.delivery.worker:
            gw.start_delivery()
        watch_sighup(gw)
        purger = asyncio.create_task(gw.purge_nonces_forever(), name="nonce-purge")
        if settle_heap:
            settle_for_serving()
        try:
            yield
        finally:
            purger.cancel()
            await console.close()
            await gw.stop_delivery()
            await sequencer.stop()
            await storage.close()

    app = Starlette(
        routes=[
            *participant_routes.routes,
            *operator_routes.routes,
            *service_routes.routes,
            *openapi_routes,
            console_mount(console),
        ],
        exception_handlers={
            HTTPException: _http_error,
            StorageUnavailable: _storage_unavailable,
            ClientDisconnect: _client_gone,
        },
        middleware=[Middleware(RequestTimer), Middleware(HeaderSizeLimit)],
        lifespan=lifespan,
    )
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn (``gateway serve`` and process managers): $GATEWAY_CONFIG."""
    import os

    return create_app(Path(os.environ.get("GATEWAY_CONFIG", "config")), settle_heap=True)
