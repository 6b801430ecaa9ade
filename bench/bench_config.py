"""The test configuration (tests.harness.write_config) with the per-sender limits lifted.

A benchmark is one sender flooding the gateway on purpose; the rate limiter's 429s
(docs/security.md) would measure the limiter, not the pipeline.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import GatewayFixture, write_config

UNLIMITED = "sender_rate_per_second = 0\nsender_concurrency = 4096\n"


def bench_config(directory: Path, *, extra_gateway: str = "worker = false\n") -> GatewayFixture:
    cfg = write_config(directory, extra_gateway=extra_gateway)
    toml = cfg.directory / "gateway.toml"
    text = toml.read_text("utf-8")
    if "[limits]\n" not in text:
        raise RuntimeError(f"{toml}: expected a [limits] table to lift the limits in")
    toml.write_text(text.replace("[limits]\n", "[limits]\n" + UNLIMITED, 1), "utf-8")
    return cfg
