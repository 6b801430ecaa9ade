"""Replay throughput (docs/replay.md): messages a second that `gateway replay` replays.

    .venv/bin/python bench/bench_replay.py [--count 10000] [--capture FILE]

Generates a capture of COUNT requests first (the real gateway in process, its clock
virtualised, then `audit export --capture`; this takes about as long as the replay), or
reuses FILE when it exists. Then replays it in process and prints the figure. Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.app import create_app  # noqa: E402
from gateway.capture import read_capture  # noqa: E402
from gateway.commands.audit_cmd import _export_capture  # noqa: E402
from gateway.commands.replay import replay_capture  # noqa: E402
from gateway.replay import VirtualClock  # noqa: E402
from tests.harness import GatewayFixture, write_config  # noqa: E402
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red  # noqa: E402

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
GCC = ["SA", "AE", "KW", "BH", "OM", "QA"]


def _request(i: int) -> tuple[str, bytes, str]:
    """A mix like the demo: mostly red notices to the GCC, some GCC alerts, some refusals."""
    if i % 10 == 9:
        return "ae-moi", gcc_missing(sender="ae-moi", alert_id=f"GCC-ARE-1448-{i:06d}"), GCCPOL
    if i % 25 == 24:
        return "ncb-fr", b'{"message_id": 1}', INTERPOL  # 422
    nationality = GCC[i % len(GCC)]
    body = interpol_red(sender="ncb-fr", entity_id=f"2026/{i + 1}", nationalities=[nationality])
    return "ncb-fr", body, INTERPOL


async def _record(cfg: GatewayFixture, count: int) -> None:
    clock = VirtualClock(START)
    app = create_app(cfg.directory, clock=clock, start_delivery=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=cfg.url) as client:
            for i in range(count):
                clock.now = START + dt.timedelta(milliseconds=100 * i)
                pid, body, media_type = _request(i)
                headers = cfg.signed_headers(
                    pid,
                    body,
                    media_type,
                    created=int(clock.now.timestamp()),
                    nonce=secrets.token_urlsafe(12),
                )
                response = await client.post("/v1/messages", content=body, headers=headers)
                if response.status_code not in {202, 422}:
                    raise RuntimeError(f"request {i}: {response.status_code} {response.text}")
                if i and i % 1000 == 0:
                    print(f"  recorded {i}/{count}", file=sys.stderr)


def generate(path: Path, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(
            Path(tmp) / "config",
            extra_gateway="worker = false\n",
        )
        toml = cfg.directory / "gateway.toml"
        toml.write_text(
            toml.read_text("utf-8").replace(
                "clock_skew_seconds = 300",
                "clock_skew_seconds = 300\nsender_rate_per_second = 0\n"
                "unauthenticated_rate_per_second = 0",
            ),
            "utf-8",
        )
        started = time.perf_counter()
        asyncio.run(_record(cfg, count))
        print(
            f"recorded {count} requests in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
        print(asyncio.run(_export_capture(cfg.directory, path)), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--capture",
        type=Path,
        help="the recorded exchange to replay (made if absent; default: one per --count "
        "in the temporary directory, kept for the next run)",
    )
    args = parser.parse_args()
    if args.capture is None:  # one file per size: a quick run's capture is not a full one's
        args.capture = Path(tempfile.gettempdir()) / f"bench-replay-capture-{args.count}.jsonl"
    if not args.capture.exists():
        generate(args.capture, args.count)
    started = time.perf_counter()
    capture = read_capture(args.capture)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    report = asyncio.run(replay_capture(capture, show_progress=True))
    elapsed = time.perf_counter() - started
    n = len(capture.requests)
    print(f"read {n} requests in {read_s:.2f} s ({n / read_s:,.0f}/s)")
    print(
        f"replayed {n} requests in {elapsed:.1f} s: {n / elapsed:,.0f} messages/s "
        f"({report.count('same')} same, {report.count('changed')} changed, "
        f"{report.count('skipped')} skipped)"
    )


if __name__ == "__main__":
    main()
