"""Real processes for the scale-out tests: `gateway serve` workers and `gateway sim`
recipients as subprocesses, and a TCP proxy on loopback that a test can cut and restore
(PostgreSQL "unreachable for a while")."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

from tests.harness import GatewayFixture, free_port, pem_private, poll

ROOT = Path(__file__).resolve().parents[2]

# Short retries and a short lease, so deliveries a killed worker had leased come back fast.
FAST_DELIVERY = {
    "GATEWAY_DELIVERY__BACKOFF_INITIAL_SECONDS": "0.05",
    "GATEWAY_DELIVERY__BACKOFF_MAX_SECONDS": "0.5",
    "GATEWAY_DELIVERY__TIMEOUT_SECONDS": "2",
    "GATEWAY_DELIVERY__LEASE_SECONDS": "5",
    "GATEWAY_DELIVERY__MAX_ATTEMPTS": "50",
    "GATEWAY_DELIVERY__MAX_AGE_SECONDS": "600",
}


def gateway_env(
    storage_url: str, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(FAST_DELIVERY)
    env["GATEWAY_STORAGE__URL"] = storage_url
    env["GATEWAY_GATEWAY__LISTEN"] = f"127.0.0.1:{port}"
    env["GATEWAY_AUDIT__CHECKPOINT_MAX_DELAY_SECONDS"] = "0.5"
    env["GATEWAY_LIMITS__SENDER_RATE_PER_SECOND"] = "0"  # the load is one sender
    env["GATEWAY_LIMITS__SENDER_CONCURRENCY"] = "256"
    env.update(extra or {})
    return env


class Process:
    """A child process with its output in a log file; killed if still running at the end."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=dict(env), stdout=self._out, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final checkpoint, leases left behind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


class Worker(Process):
    def __init__(
        self,
        name: str,
        cfg: GatewayFixture,
        storage_url: str,
        logs: Path,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(cfg.directory),
            "--log-level",
            "warning",
        ]
        super().__init__(name, argv, gateway_env(storage_url, self.port, extra), logs)

    def ready(self, timeout: float = 30.0) -> None:
        def answered() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            return False

        poll(answered, timeout=timeout, interval=0.1)


class Sim(Process):
    """`gateway sim NAME` with its key on disk and every delivery recorded (JSON lines)."""

    def __init__(self, name: str, cfg: GatewayFixture, port: int, logs: Path) -> None:
        key = logs / f"{name}.pem"
        key.write_bytes(pem_private(cfg.keys[name]))
        gw_key = logs / "gateway-public.pem"
        gw_key.write_bytes(
            cfg.gateway_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.record = logs / f"{name}.jsonl"
        self.port = port
        argv = [
            sys.executable,
            "-m",
            "gateway",
            "sim",
            name,
            "--config",
            str(cfg.directory),
            "--key",
            str(key),
            "--port",
            str(port),
            "--control-port",
            str(free_port()),
            "--gateway-key",
            str(gw_key),
            "--record",
            str(self.record),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        super().__init__(name, argv, env, logs)

    def ready(self, timeout: float = 30.0) -> None:
        def listening() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        poll(listening, timeout=timeout, interval=0.1)

    def received(self) -> set[str]:
        import orjson

        if not self.record.exists():
            return set()
        ids: set[str] = set()
        for line in self.record.read_bytes().splitlines():
            if line.strip():
                ids.add(str(orjson.loads(line)["message_id"]))
        return ids


@contextlib.contextmanager
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for p in reversed(started):
            p.stop()


class TcpProxy:
    """Loopback TCP proxy to ``upstream``. `cut()` closes every connection and stops
    listening (new connections are refused at once); `restore()` listens again, same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._open = False

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener = listener
            self._open = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    restore = start

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                if not self._open:
                    client.close()
                    server.close()
                    continue
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self._open = False
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    stop = cut


def wait_until(predicate: object, timeout: float, what: str) -> object:
    try:
        return poll(predicate, timeout=timeout, interval=0.2)
    except TimeoutError as exc:
        raise AssertionError(f"{what}: not within {timeout} s") from exc


def monotonic() -> float:
    return time.monotonic()
