"""Slow clients against a real `gateway serve` process (docs/security.md, Slow clients):
a connection must bring a whole request head within 10 s of opening (or of its previous
response), data trickling in does not extend it; a body must arrive within
`[limits] body_timeout_seconds` of its head. Past either: a 408 problem and the connection
closed; a late body is audited like any refusal, and a late head is counted. Without
these, 1024 idle sockets (uvicorn's `limit_concurrency`) gave every client a 503, and one
slow body kept a graceful stop waiting for ever."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import orjson
import pytest

from gateway.serving import HEAD_TIMEOUT_SECONDS
from tests.harness import GatewayFixture, audited_refusals, free_port, write_config
from tests.process import GatewayProcess

pytestmark = pytest.mark.integration

LIMITS = """[limits]
body_timeout_seconds = 1
"""


def _started(tmp_path: Path, limits: str = LIMITS) -> tuple[GatewayFixture, GatewayProcess]:
    """A real `gateway serve` on a fresh configuration with these [limits]."""
    cfg = write_config(tmp_path / "config", port=free_port())
    toml = cfg.directory / "gateway.toml"
    toml.write_text(toml.read_text("utf-8").replace("[limits]\n", limits), "utf-8")
    gateway = GatewayProcess(cfg, tmp_path / "gateway.log")
    gateway.start()
    return cfg, gateway


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.settimeout(30)
    return s


def _read_until_closed(s: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes; and when it closed (monotonic)."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data, time.monotonic()
        data += chunk


def _problem(answer: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, orjson.loads(body)


def _trickle(s: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.is_set():
            return
        try:
            s.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(every)


def test_late_heads_and_bodies_get_408_and_the_connection_closes(tmp_path: Path) -> None:
    cfg, gateway = _started(tmp_path)
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def connect() -> socket.socket:
        sockets.append(_connect(cfg.port))
        return sockets[-1]

    try:
        opened = time.monotonic()
        idle = connect()  # sends nothing at all
        partial = connect()  # a head, a byte a second: never complete in time
        partial.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
        trickling = threading.Thread(
            target=_trickle, args=(partial, b"X-Padding: " + b"a" * 60, 0.5, stop), daemon=True
        )
        trickling.start()
        kept = connect()  # one good request, then a trickle of the next head
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = kept.recv(65536)
        answered = time.monotonic()
        assert first.startswith(b"HTTP/1.1 200"), first
        threading.Thread(
            target=_trickle,
            args=(kept, b"GET /healthz HTTP/1.1\r\nX-A: " + b"b" * 60, 0.5, stop),
            daemon=True,
        ).start()
        slow_body = connect()  # a whole head, then 1 byte of a 100-byte body
        slow_body.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
            b"application/vnd.interpol.notice+json\r\ncontent-length: 100\r\n\r\n{"
        )
        body_sent = time.monotonic()

        answer, closed = _read_until_closed(slow_body)
        status, headers, problem = _problem(answer)
        assert status == 408 and problem["type"] == "urn:gateway:problem:body-timeout", answer
        assert "1 bytes of the 100 declared" in str(problem["detail"])
        assert headers["connection"] == "close"
        assert 0.8 < closed - body_sent < 5

        for s, since in ((idle, opened), (partial, opened), (kept, answered)):
            answer, closed = _read_until_closed(s)
            status, headers, problem = _problem(answer)
            assert status == 408 and problem["type"] == "urn:gateway:problem:head-timeout"
            assert headers["connection"] == "close"
            # data trickling in (partial, kept) did not extend the deadline
            assert HEAD_TIMEOUT_SECONDS - 0.5 < closed - since < HEAD_TIMEOUT_SECONDS + 5
        stop.set()

        metrics = connect()
        metrics.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text, _ = _read_until_closed(metrics)
        assert b"\ngateway_http_head_timeouts_total 3.0" in text, text[-600:]
    finally:
        stop.set()
        for s in sockets:
            s.close()
        assert gateway.stop() in (0, -signal.SIGTERM)
    refused = audited_refusals(cfg)
    assert refused == [("body-timeout", "/v1/messages")]  # late heads are counted, not audited


def test_a_slow_body_does_not_hold_up_a_graceful_stop(tmp_path: Path) -> None:
    cfg, gateway = _started(tmp_path)
    stop = threading.Event()
    slow = _connect(cfg.port)
    slow.sendall(
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
        b"application/vnd.interpol.notice+json\r\ncontent-length: 1000\r\n\r\n{"
    )
    threading.Thread(target=_trickle, args=(slow, b"a" * 200, 0.2, stop), daemon=True).start()
    idle = _connect(cfg.port)
    time.sleep(0.3)
    started = time.monotonic()
    try:
        assert gateway.stop() in (0, -signal.SIGTERM)  # fails past 20 s
    finally:
        stop.set()
        slow.close()
        idle.close()
    assert time.monotonic() - started < 10


def test_a_client_gone_mid_body_is_logged_not_an_error(tmp_path: Path) -> None:
    """A body cut off by the client closing, and a malformed chunked body the server
    refuses and closes: the app sees the disconnect; nothing is recorded, one INFO line,
    no "Exception in ASGI application"."""
    cfg, gateway = _started(tmp_path, limits="[limits]\n")
    try:
        cut = _connect(cfg.port)
        cut.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
            b'application/vnd.interpol.notice+json\r\ncontent-length: 100\r\n\r\n{"a":'
        )
        time.sleep(0.3)
        cut.close()
        chunked = _connect(cfg.port)
        chunked.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
            b"application/vnd.interpol.notice+json\r\ntransfer-encoding: chunked\r\n\r\n"
            b"ZZ\r\nab\r\n0\r\n\r\n"
        )
        answer, _ = _read_until_closed(chunked)
        chunked.close()
        assert answer.startswith(b"HTTP/1.1 400"), answer
        deadline = time.monotonic() + 10
        log = gateway.log_path.read_text("utf-8")
        while log.count('"request-abandoned"') < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            log = gateway.log_path.read_text("utf-8")
    finally:
        assert gateway.stop() in (0, -signal.SIGTERM)
    log = gateway.log_path.read_text("utf-8")
    assert log.count('"request-abandoned"') == 2, log[-3000:]
    assert "Exception in ASGI application" not in log and "Traceback" not in log
    assert audited_refusals(cfg) == []
