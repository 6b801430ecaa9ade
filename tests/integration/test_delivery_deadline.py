"""A recipient that answers one byte at a time passes every per-read timeout; the delivery
worker's whole-exchange deadline (2 × [delivery] timeout_seconds) still ends the attempt."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import free_port, poll, running_gateway, sign_and_post, write_config
from tests.messages import INTERPOL, interpol_red

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def dripping_recipient(port: int, interval: float = 0.1) -> Iterator[list[int]]:
    """Accepts, reads the request head, then sends a 200 head and one body byte per
    ``interval`` of a body that never ends. Yields the list of connections served."""
    stop = threading.Event()
    served: list[int] = []
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.1)

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(interval):
                    conn.sendall(b"x")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            served.append(1)
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_dripping_recipient_is_cut_off_by_the_total_deadline(tmp_path: Path) -> None:
    port = free_port()
    endpoints = {"gccpol-hub": f"http://127.0.0.1:{port}/inbox"}
    cfg = write_config(tmp_path, endpoints=endpoints, extra_gateway="timeout_seconds = 0.5\n")
    with dripping_recipient(port) as served, running_gateway(cfg), httpx.Client() as client:
        r = sign_and_post(cfg, "ipsg", interpol_red(nationalities=["SA"]), INTERPOL, client=client)
        assert r.status_code == 202, r.text
        mid = r.json()["message_id"]

        def hub_attempt_errors() -> list[str]:
            life = client.get(f"{cfg.url}/v1/messages/{mid}", headers=cfg.auth("auditor"))
            return [
                a["error"]
                for d in life.json()["deliveries"]
                if d["recipient"] == "gccpol-hub"
                for a in d["attempt_log"]
                if a["error"]
            ]

        errors = poll(hub_attempt_errors, timeout=20)
        assert served
    assert isinstance(errors, list)
    assert "no complete answer within 1 s" in errors[0], errors
