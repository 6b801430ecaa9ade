"""A simulated participant system: a real HTTP server on loopback with its own Ed25519 key.

    POST <inbox>    a delivery from the gateway: RFC 9421 signature and Content-Digest checked
                    with the gateway's public key, nonce not replayed, provenance block present;
                    kept once per message id; answered 202 (new) or 200 (duplicate) with a JSON
                    answer signed with the simulator's own key
    POST /control   {"mode": "ok" | "down" | "slow" | "5xx" | "4xx" | "429", …} (inbox.Mode)
    GET  /received  what was kept, oldest first
    GET  /healthz

"down" stops listening on the inbox port (connections are refused), so the control routes
also listen on a port of their own when one is given; in-process owners call `set_mode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import secrets
import socket
import time
from collections.abc import Callable, Generator
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import GatewayError
from gateway.signatures import sign_response, verify_request
from gateway.simulators.gateway_keys import GatewayKeys
from gateway.simulators.identity import SimulatorIdentity
from gateway.simulators.inbox import InboxError, Mode, Received, read_delivery

__all__ = ["Simulator"]

log = logging.getLogger("gateway.simulators")

_START_TIMEOUT = 10.0
_MAX_BODY = 4 * 1024 * 1024


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the simulator's owner decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Simulator:
    def __init__(
        self,
        identity: SimulatorIdentity,
        gateway_keys: GatewayKeys,
        *,
        control_port: int | None = None,
        record_path: Path | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
        window_seconds: int = 300,
    ) -> None:
        self.identity = identity
        self.gateway_keys = gateway_keys
        self.control_port = control_port
        self.record_path = record_path
        self.clock = clock
        self.window_seconds = window_seconds
        self.mode = Mode()
        self.port = identity.port
        self.requests = 0  # POSTs to the inbox, whatever their answer
        self.duplicates = 0
        self._received: dict[str, Received] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._failures_left: int | None = None
        self._inbox: tuple[_EmbeddedServer, asyncio.Task[None]] | None = None
        self._control: tuple[_EmbeddedServer, asyncio.Task[None]] | None = None
        self._inbox_app = self._app(with_inbox=True)

    # ---- addresses ---------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"{self.identity.host}:{self.port}"

    @property
    def url(self) -> str:
        """The inbox URL (the participant's configured endpoint)."""
        return f"http://{self.authority}{self.identity.inbox_path}"

    @property
    def base_url(self) -> str:
        return f"http://{self.authority}"

    @property
    def received(self) -> list[Received]:
        return list(self._received.values())

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self._start_inbox()
        if self.control_port is not None:
            self._control = await _serve(
                self._app(with_inbox=False), self.identity.host, self.control_port
            )

    async def stop(self) -> None:
        await self._stop_inbox()
        if self._control is not None:
            await _shutdown(self._control)
            self._control = None

    async def set_mode(self, mode: Mode) -> None:
        """Change how deliveries are answered; "down" returns once the port refuses."""
        self._apply(mode)
        if mode.name == "down":
            await self._stop_inbox()
        else:
            await self._start_inbox()

    def _apply(self, mode: Mode) -> None:
        self.mode = mode
        self._failures_left = mode.times

    async def _start_inbox(self) -> None:
        if self._inbox is not None and not self._inbox[0].should_exit:
            return  # listening already
        if self._inbox is not None:  # told "down" from inside a request: let it finish
            await _shutdown(self._inbox)
        self._inbox = await _serve(self._inbox_app, self.identity.host, self.port)
        self.port = _bound_port(self._inbox[0])

    async def _stop_inbox(self) -> None:
        if self._inbox is not None:
            await _shutdown(self._inbox)
            self._inbox = None

    # ---- the app -------------------------------------------------------------------------------

    def _app(self, *, with_inbox: bool) -> Starlette:
        routes = [
            Route("/control", self._control_route(from_inbox=with_inbox), methods=["POST"]),
            Route("/received", self._list_received, methods=["GET"]),
            Route("/healthz", self._health, methods=["GET"]),
        ]
        if with_inbox:
            routes.insert(0, Route(self.identity.inbox_path, self._deliver, methods=["POST"]))
        return Starlette(routes=routes)

    async def _health(self, request: Request) -> Response:
        return self._json(200, {"participant": self.identity.participant, "mode": self.mode.name})

    async def _list_received(self, request: Request) -> Response:
        return self._json(
            200,
            {
                "participant": self.identity.participant,
                "requests": self.requests,
                "duplicates": self.duplicates,
                "count": len(self._received),
                "messages": [r.to_json() for r in self._received.values()],
            },
        )

    def _control_route(self, *, from_inbox: bool) -> Callable[[Request], object]:
        async def control(request: Request) -> Response:
            try:
                mode = Mode.from_json(orjson.loads(await request.body()))
            except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                return self._json(400, {"error": "control-invalid", "detail": str(exc)})
            if from_inbox and mode.name == "down":
                # Answer first; the server stops after this response (it cannot await itself).
                self._apply(mode)
                assert self._inbox is not None
                self._inbox[0].should_exit = True
            else:
                await self.set_mode(mode)
            return self._json(200, {"participant": self.identity.participant, **mode.to_json()})

        return control

    async def _deliver(self, request: Request) -> Response:
        self.requests += 1
        mode = self.mode
        if mode.name == "slow" and mode.delay > 0:
            await asyncio.sleep(mode.delay)  # simulated latency, not a test wait
        failure = self._failure(mode)
        if failure is not None:
            return failure
        body = await request.body()
        if len(body) > _MAX_BODY:
            return self._problem(InboxError(413, "body-too-large", f"over {_MAX_BODY} bytes"))
        headers = _combined_headers(request)
        try:
            keyid = await self._verify(request, headers, body)
            message_id, provenance = read_delivery(headers.get("content-type", ""), body)
        except InboxError as refusal:
            return self._problem(refusal)
        digest = hashlib.sha256(body).hexdigest()
        if message_id in self._received:
            self.duplicates += 1
            return self._json(200, self._answer("duplicate", message_id, digest))
        received = Received(
            message_id,
            headers.get("content-type", ""),
            digest,
            self.clock(),
            keyid,
            provenance,
            body,
        )
        self._received[message_id] = received
        if self.record_path is not None:
            with self.record_path.open("ab") as out:
                out.write(orjson.dumps(received.to_json()) + b"\n")
        return self._json(202, self._answer("accepted", message_id, digest))

    def _failure(self, mode: Mode) -> Response | None:
        if mode.name not in ("5xx", "4xx", "429"):
            return None
        if self._failures_left is not None:
            self._failures_left -= 1
            if self._failures_left <= 0:
                self._apply(Mode())
        status = mode.status or {"5xx": 503, "4xx": 400, "429": 429}[mode.name]
        extra = {}
        retry_after = (
            mode.retry_after if mode.retry_after is not None else (1 if status == 429 else None)
        )
        if retry_after is not None:
            extra["retry-after"] = str(retry_after)
        body = {"error": f"simulated-{mode.name}", "detail": f"told to answer {status}"}
        return self._json(status, body, extra)

    async def _verify(self, request: Request, headers: dict[str, str], body: bytes) -> str:
        """signatures.md: the gateway signs every delivery; check it as any recipient must."""
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        if request.url.query:
            path = f"{path}?{request.url.query}"

        def check() -> str:
            signed = verify_request(
                method=request.method,
                authority=headers.get("host", ""),
                path=path,
                headers=headers,
                body=body,
                expected_authority=self.authority,
                now=int(self.clock().timestamp()),
                window_seconds=self.window_seconds,
                resolve_key=self.gateway_keys.resolve,
            )
            if (signed.keyid, signed.nonce) in self._nonces:
                raise InboxError(401, "signature-replayed", f"nonce {signed.nonce!r} seen before")
            self._nonces.add((signed.keyid, signed.nonce))
            return signed.keyid

        try:
            return check()
        except GatewayError as refusal:
            if refusal.slug == "key-unknown" and self.gateway_keys.may_fetch:
                await self.gateway_keys.fetch()  # a key rotated in since we last looked
                try:
                    return check()
                except GatewayError as again:
                    refusal = again
            raise InboxError(401, refusal.slug, refusal.detail) from None

    # ---- answers -------------------------------------------------------------------------------

    def _answer(self, status: str, message_id: str, digest: str) -> dict[str, object]:
        return {
            "participant": self.identity.participant,
            "status": status,
            "message_id": message_id,
            "body_sha256": digest,
            "received_at": self.clock().isoformat().replace("+00:00", "Z"),
        }

    def _problem(self, refusal: InboxError) -> Response:
        return self._json(refusal.status, {"error": refusal.slug, "detail": refusal.detail})

    def _json(self, status: int, payload: object, extra: dict[str, str] | None = None) -> Response:
        """Every answer is signed with the simulator's own key (signatures.md, Receipts)."""
        body = orjson.dumps(payload)
        headers = {"content-type": "application/json"}
        headers.update(
            sign_response(
                status,
                headers,
                body,
                key=self.identity.key,
                keyid=self.identity.keyid,
                created=int(self.clock().timestamp()),
                nonce=secrets.token_urlsafe(12),
            )
        )
        headers.update(extra or {})
        return Response(body, status_code=status, headers=headers)


def _combined_headers(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1").strip()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


async def _serve(
    app: Starlette, host: str, port: int
) -> tuple[_EmbeddedServer, asyncio.Task[None]]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says TCP; with proto 0 every answer waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if task.done():
            sock.close()
            await task  # raises what stopped it
            raise RuntimeError(f"simulator server on {host}:{port} stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"simulator server on {host}:{port} did not start")
        await asyncio.sleep(0.005)
    return server, task


def _bound_port(server: _EmbeddedServer) -> int:
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("simulator server has no listening socket")


async def _shutdown(running: tuple[_EmbeddedServer, asyncio.Task[None]]) -> None:
    server, task = running
    server.should_exit = True
    await task
