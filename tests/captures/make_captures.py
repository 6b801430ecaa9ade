"""Generate the golden replay captures in tests/captures/ (docs/replay.md).

    .venv/bin/python tests/captures/make_captures.py

Runs the real gateway app in process (clock virtualised, so the captures carry fixed
arrival times) on throwaway keys, posts each scenario's requests signed like a participant
would, lets the delivery worker deliver to a loopback receiver (one recipient's endpoint is
closed: its delivery dead-letters), then writes the capture with the real command:
`gateway audit export --capture`. The captures carry public keys only; the private keys
die with the temporary folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.app import create_app  # noqa: E402
from gateway.replay import VirtualClock  # noqa: E402
from gateway.signatures import sign_request  # noqa: E402
from gateway.storage.base import DeliveryState  # noqa: E402
from tests.harness import GatewayFixture, free_port, write_config  # noqa: E402
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red  # noqa: E402

OUT = Path(__file__).resolve().parent
START = dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=7)
DEAD = "qa-moi"  # its endpoint is a closed port: its deliveries dead-letter


class _Inbox(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def inbox() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inbox"
    finally:
        server.shutdown()


@dataclass(frozen=True, slots=True)
class Post:
    """One request of a scenario."""

    participant: str
    body: bytes
    media_type: str
    sign_with: Ed25519PrivateKey | None = None  # else the participant's own key
    created_offset: int = 0  # seconds added to the arrival time (stale signatures)
    repeat_of: int | None = None  # resend the exact headers of an earlier post (replay)


Scenario = Callable[[GatewayFixture], list[Post]]


def demo(cfg: GatewayFixture) -> list[Post]:
    red = interpol_red(sender="ncb-fr", entity_id="2026/48213", nationalities=["SA"])
    return [
        Post("ncb-fr", red, INTERPOL),  # → gccpol-hub + sa-psd
        Post("ae-moi", gcc_missing(sender="ae-moi"), GCCPOL),  # → ipsg
        Post(
            "ae-moi",
            gcc_missing(sender="ae-moi", alert_id="GCC-ARE-1448-000124", handling_code="H2"),
            GCCPOL,
        ),  # refused for ipsg: caveat:handling-code:H2
        Post(
            "ncb-fr",
            interpol_red(sender="ncb-fr", entity_id="2026/48214", nationalities=["SA"]),
            INTERPOL,
            sign_with=Ed25519PrivateKey.generate(),
        ),  # forged signature → 401
        Post("ncb-fr", red, INTERPOL, repeat_of=0),  # replayed nonce → 401
        Post(
            "ncb-fr",
            interpol_red(sender="ncb-fr", entity_id="2026/48213", kind="notice.cancel"),
            INTERPOL,
        ),  # cancel → the earlier recipients
    ]


def awkward(cfg: GatewayFixture) -> list[Post]:
    return [
        Post(
            "ncb-fr",
            interpol_red(
                sender="ncb-fr",
                entity_id="2026/50001",
                nationalities=["SA"],
                date_of_birth="1980/05",
            ),
            INTERPOL,
        ),  # partial date (month)
        Post(
            "ncb-fr",
            interpol_red(
                sender="ncb-fr", entity_id="2026/50002", nationalities=["AE"], date_of_birth="1975"
            ),
            INTERPOL,
        ),  # partial date (year)
        Post(
            "ncb-de",
            interpol_red(
                sender="ncb-de",
                entity_id="2026/50003",
                nationalities=["KW"],
                forename="MOHAMMED BIN ABDULLAH BIN SAAD BIN FAHAD",
                name="AL",
            ),
            INTERPOL,
        ),  # names that do not split into first / father / grandfather / family
        Post(
            "ncb-fr",
            interpol_red(
                sender="ncb-fr",
                entity_id="2026/50004",
                nationalities=["SA"],
                caveats={
                    "restricted_to_country_ids": ["SA"],
                    "excluded_country_ids": [],
                    "tlp": "TLP:AMBER",
                },
            ),
            INTERPOL,
        ),  # restricted to SA: sa-psd only
        Post(
            "ncb-fr",
            interpol_red(
                sender="ncb-fr",
                entity_id="2026/50005",
                nationalities=["SA"],
                caveats={
                    "restricted_to_country_ids": [],
                    "excluded_country_ids": ["SA"],
                    "tlp": "TLP:AMBER",
                },
            ),
            INTERPOL,
        ),  # SA excluded: sa-psd refused
        Post(
            "ae-moi",
            gcc_missing(sender="ae-moi", alert_id="GCC-ARE-1448-000200", classification="SECRET"),
            GCCPOL,
        ),  # classification: refused for ipsg
        Post(
            "ncb-fr",
            interpol_red(sender="ncb-fr", entity_id="2026/50001", kind="notice.cancel"),
            INTERPOL,
        ),  # cancel of the partial-date notice
        Post(
            "ncb-fr",
            interpol_red(sender="ncb-fr", entity_id="2026/50006", nationalities=["QA"]),
            INTERPOL,
        ),  # → qa-moi, whose endpoint is closed: a dead letter
        Post(
            "ncb-fr",
            interpol_red(sender="ncb-fr", entity_id="2026/50007", nationalities=["SA"]),
            INTERPOL,
            created_offset=-900,
        ),  # signature created 900 s before arrival: stale
        Post("ncb-fr", b'{"message_id": 1}', INTERPOL),  # schema violation → 422
        Post("ncb-fr", b"<not-json/>", "text/plain"),  # unknown content type → 415
    ]


async def record(cfg: GatewayFixture, posts: list[Post]) -> None:
    clock = VirtualClock(START)
    app = create_app(cfg.directory, clock=clock)
    sent: list[dict[str, str]] = []
    async with app.router.lifespan_context(app):
        gw = app.state.gateway
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=cfg.url) as client:
            for i, post in enumerate(posts):
                clock.now = START + i * STEP
                if post.repeat_of is not None:
                    headers = sent[post.repeat_of]
                else:
                    headers = {"content-type": post.media_type}
                    headers |= sign_request(
                        "POST",
                        cfg.authority,
                        "/v1/messages",
                        headers,
                        post.body,
                        key=post.sign_with or cfg.keys[post.participant],
                        keyid=cfg.keyid(post.participant),
                        created=int(clock.now.timestamp()) + post.created_offset,
                        nonce=f"golden-{i:04d}",
                    )
                sent.append(headers)
                response = await client.post("/v1/messages", content=post.body, headers=headers)
                print(f"  {i}: {response.status_code} {response.text[:100]}")
        deadline = time.monotonic() + 30
        while await gw.storage.list_deliveries(DeliveryState.PENDING, 10):
            if time.monotonic() > deadline:
                raise TimeoutError("deliveries did not settle within 30 s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.2)  # let the sequencer sign a checkpoint over everything


def generate(name: str, scenario: Scenario) -> Path:
    with tempfile.TemporaryDirectory() as tmp, inbox() as url:
        endpoints = {
            pid: url
            for pid in ("ipsg", "ncb-fr", "ncb-de", "gccpol-hub", "ae-moi", "sa-psd", "bh-moi")
        }
        endpoints |= {"kw-moi": url, "om-rop": url, DEAD: f"http://127.0.0.1:{free_port()}/x"}
        cfg = write_config(Path(tmp) / "config", endpoints=endpoints)
        toml = cfg.directory / "gateway.toml"
        toml.write_text(
            toml.read_text("utf-8").replace("max_attempts = 4", "max_attempts = 1"), "utf-8"
        )
        print(f"{name}:")
        asyncio.run(record(cfg, scenario(cfg)))
        out = OUT / f"{name}.jsonl"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway",
                "audit",
                "export",
                "--capture",
                "--config",
                str(cfg.directory),
                "--output",
                str(out),
            ],
            check=True,
            cwd=ROOT,
        )
    header = json.loads(out.read_text("utf-8").splitlines()[0])
    assert "PRIVATE" not in out.read_text("utf-8"), "a capture must not hold a private key"
    print(f"  wrote {out.relative_to(ROOT)}: {header['requests']} requests")
    return out


if __name__ == "__main__":
    generate("demo", demo)
    generate("awkward", awkward)
