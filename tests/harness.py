"""Test harness: a fresh configuration folder with generated keys, and the real gateway
served by uvicorn on a loopback port in a background thread."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
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
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "keys").mkdir(exist_ok=True)
    port = port or free_port()
    gateway_key = Ed25519PrivateKey.generate()
    gw_pem = directory / "keys" / "gateway.pem"
    gw_pem.write_bytes(pem_private(gateway_key))
    gw_pem.chmod(0o600)
    (directory / "gateway.toml").write_text(
        f"""[gateway]
id = "gateway"
listen = "127.0.0.1:{port}"
public_authority = "127.0.0.1:{port}"
signing_key = "keys/gateway.pem"
signing_keyid = "gateway-2026"
audit_origin = "gateway.test/audit"

[storage]
url = "sqlite:///{directory / "gateway.db"}"

[limits]
max_body_bytes = 1048576
clock_skew_seconds = 300

[delivery]
max_attempts = 4
max_age_seconds = 600
{extra_gateway}
""",
        "utf-8",
    )
    keys: dict[str, Ed25519PrivateKey] = {}
    parts: list[str] = []
    eps = dict(endpoints or {})
    for pid, schema, kind, country in ROSTER:
        key = Ed25519PrivateKey.generate()
        keys[pid] = key
        kinds = (
            '["notice.publish", "notice.update", "notice.cancel"]'
            if schema == "interpol"
            else '["NEW", "AMEND", "WITHDRAW"]'
        )
        if may_send and pid in may_send:
            kinds = "[" + ", ".join(f'"{k}"' for k in may_send[pid]) + "]"
        endpoint = eps.get(pid, f"http://127.0.0.1:{free_port()}/inbox")
        eps[pid] = endpoint
        lines = [
            "[[participant]]",
            f'id = "{pid}"',
            f'name = "{pid}"',
            f'schema = "{schema}"',
            f'kind = "{kind}"',
        ]
        if country:
            lines.append(f'country = "{country}"')
        if kind == "hub":
            lines.append(f"audience = {GCC!r}".replace("'", '"'))
        lines += [
            f'endpoint = "{endpoint}"',
            f"may_send = {kinds}",
            "",
            "[[participant.key]]",
            f'keyid = "{pid}-2026"',
            f'public_key_b64 = "{base64.b64encode(raw_public(key)).decode()}"',
            f"revoked = {'true' if pid in revoked else 'false'}",
            (key_extra or {}).get(pid, ""),
            "",
        ]
        parts.append("\n".join(lines))
    (directory / "participants.toml").write_text("\n".join(parts), "utf-8")
    (directory / "routing.toml").write_text(routing, "utf-8")
    tokens = {role: secrets.token_urlsafe(24) for role in ("auditor", "operator", "admin")}
    (directory / "operators.toml").write_text(
        "".join(
            f'[[operator]]\nname = "{role}-1"\nrole = "{role}"\n'
            f'token_sha256 = "{hashlib.sha256(tok.encode()).hexdigest()}"\n\n'
            for role, tok in tokens.items()
        ),
        "utf-8",
    )
    return GatewayFixture(directory, port, keys, gateway_key, tokens, eps)


class ServerThread:
    """The real app under uvicorn on loopback, in a thread; stops cleanly."""

    def __init__(self, cfg: GatewayFixture, **app_kwargs: object) -> None:
        import uvicorn

        from gateway.app import create_app

        app = create_app(cfg.directory, **app_kwargs)  # type: ignore[arg-type]
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=cfg.port, log_level="warning", lifespan="on"
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
    from gateway.signatures import sign_request

    headers = {"content-type": media_type}
    headers.update(
        sign_request(
            "POST",
            cfg.authority,
            path,
            headers,
            body,
            key=cfg.keys[participant],
            keyid=cfg.keyid(participant),
            created=created if created is not None else int(time.time()),
            nonce=nonce or secrets.token_urlsafe(16),
        )
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
