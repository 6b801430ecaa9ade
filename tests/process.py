"""`python -m gateway serve --config DIR` as a real child process, for tests that kill it
(test_crash) or read what it logs (test_service_endpoints)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import GatewayFixture

ROOT = Path(__file__).resolve().parents[1]


class GatewayProcess:
    def __init__(self, cfg: GatewayFixture, log_path: Path) -> None:
        self.cfg = cfg
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(self.cfg.directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.process.returncode} during start-up: "
                    + self.log_path.read_text("utf-8", "replace")[-2000:]
                )
            try:
                if httpx.get(self.cfg.url + "/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway not ready within {timeout} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a power cut, an OOM kill)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process is not None else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise AssertionError(
                "gateway serve did not stop within 20 s of SIGTERM (killed): its graceful "
                "shutdown hangs; log tail:\n" + self.log_path.read_text("utf-8", "replace")[-2000:]
            ) from None
