"""Test harness: a fresh configuration folder with generated keys, and the real gateway
served by uvicorn on a loopback port in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# (id, schema, kind, country)
ROSTER: list[tuple[str, str, str, str | None]] = [
    ("ipsg", "interpol", "secretariat", None),
    ("ncb-fr", "interpol", "ncb", "FR"),
    ("ncb-de", "interpol", "ncb", "DE"),
    ("gccpol-hub", "gccpol", "hub", None),
    ("ae-moi", "gccpol", "national", "AE"),
    ("sa-psd", "gccpol", "national", "SA"),
    ("bh-moi", "gccpol", "national", "BH"),
    ("kw-moi", "gccpol", "national", "KW"),
    ("om-rop", "gccpol", "national", "OM"),
    ("qa-moi", "gccpol", "national", "QA"),
]
GCC = ["AE", "BH", "KW", "OM", "QA", "SA"]

# The example rules of config/ (config.md's three rules, as written there).
ROUTING = (Path(__file__).resolve().parents[1] / "config" / "routing.toml").read_text("utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pem_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class GatewayFixture:
    directory: Path
    port: int
    keys: dict[str, Ed25519PrivateKey]  # participant id -> private key (keyid = "<id>-2026")
    gateway_key: Ed25519PrivateKey
    tokens: dict[str, str]  # role -> bearer token
    endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    def keyid(self, participant: str) -> str:
        return f"{participant}-2026"

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}

    def signed_headers(
        self,
        participant: str,
        body: bytes,
        media_type: str,
        *,
        path: str = "/v1/messages",
        created: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """Content-Type plus the RFC 9421 headers of ``participant``'s POST of ``body`` to
        ``path`` on this gateway (a fresh nonce unless one is given)."""
        from gateway.signatures import sign_request

        headers = {"content-type": media_type}
        headers.update(
            sign_request(
                "POST",
                self.authority,
                path,
                headers,
                body,
                key=self.keys[participant],
                keyid=self.keyid(participant),
                created=created if created is not None else int(time.time()),
                nonce=nonce or secrets.token_urlsafe(16),
            )
        )
        return headers


def write_config(
    directory: Path,
    *,
    port: int | None = None,
    endpoints: Mapping[str, str] | None = None,
    routing: str = ROUTING,
    extra_gateway: str = "",
    revoked: frozenset[str] = frozenset(),
    key_extra: Mapping[str, str] | None = None,
    may_send: Mapping[str, list[str]] | None = None,
) -> GatewayFixture:
    """The product's configuration writer (gateway.demo_config), with `cryptography` keys
    for the tests and no private participant keys on disk."""
    from gateway import crypto
    from gateway.demo_config import TEST_DELIVERY, write_config_folder

    gateway_key = Ed25519PrivateKey.generate()
    keys = {pid: Ed25519PrivateKey.generate() for pid, *_ in ROSTER}
    written = write_config_folder(
        directory,
        port=port,
        gateway_key=crypto.as_private_key(gateway_key),
        participant_keys={pid: crypto.as_private_key(k) for pid, k in keys.items()},
        endpoints=endpoints,
        routing=routing,
        delivery=TEST_DELIVERY,
        extra_gateway=extra_gateway,
        revoked=revoked,
        key_extra=key_extra,
        may_send=may_send,
        private_keys=False,
    )
    return GatewayFixture(
        directory, written.port, keys, gateway_key, written.tokens, written.endpoints
    )


class ServerThread:
    """The real app under uvicorn on loopback, in a thread; stops cleanly."""

    def __init__(self, cfg: GatewayFixture, **app_kwargs: object) -> None:
        import uvicorn

        from gateway.app import create_app
        from gateway.commands.serve import parser_limits

        app = create_app(cfg.directory, **app_kwargs)  # type: ignore[arg-type]
        # The HTTP stack of `gateway serve` (h11 with its bounds and the request-head
        # deadline), not uvicorn's default parser: tests see what production runs.
        from gateway.config import load_config

        limits = load_config(cfg.directory, require_signing_key=False).settings.limits
        bounds = parser_limits(limits.max_header_bytes)
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=cfg.port,
            log_level="warning",
            lifespan="on",
            http=bounds.http,
            h11_max_incomplete_event_size=bounds.h11_max_incomplete_event_size,
            timeout_keep_alive=bounds.timeout_keep_alive,
            limit_concurrency=bounds.limit_concurrency,
            timeout_graceful_shutdown=bounds.timeout_graceful_shutdown,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.app = app

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("gateway server thread died during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("gateway did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@contextlib.contextmanager
def running_gateway(cfg: GatewayFixture, **app_kwargs: object) -> Iterator[ServerThread]:
    server = ServerThread(cfg, **app_kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sign_and_post(
    cfg: GatewayFixture,
    participant: str,
    body: bytes,
    media_type: str,
    *,
    client: httpx.Client | None = None,
    created: int | None = None,
    nonce: str | None = None,
    path: str = "/v1/messages",
) -> httpx.Response:
    headers = cfg.signed_headers(
        participant, body, media_type, path=path, created=created, nonce=nonce
    )
    c = client or httpx.Client()
    try:
        return c.post(cfg.url + path, content=body, headers=headers)
    finally:
        if client is None:
            c.close()


def poll(predicate: object, timeout: float = 10.0, interval: float = 0.05) -> object:
    """Call ``predicate`` until it returns a truthy value or the deadline passes."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def new_message_id() -> str:
    return str(uuid.uuid4())


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def audited_refusals(cfg: GatewayFixture) -> list[tuple[str, str | None]]:
    """(outcome, path) of every `refused` audit event in the gateway's SQLite log."""
    import sqlite3

    with sqlite3.connect(cfg.directory / "gateway.db") as conn:
        rows = conn.execute(
            "SELECT outcome, json_extract(leaf, '$.details.path') FROM events "
            "WHERE kind = 'refused' ORDER BY idx"
        ).fetchall()
    conn.close()
    return [(str(o), p) for o, p in rows]
