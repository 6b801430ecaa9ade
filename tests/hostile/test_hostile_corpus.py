"""Every hostile request gets a 4xx problem body and one refused audit event, and nothing
else changes: no message, no stored body, no nonce, no delivery (api.md; docs/security.md).

The real app is served by uvicorn with the parser limits `gateway serve` uses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.harness import GatewayFixture, running_gateway, write_config
from tests.hostile.corpus import Case, all_cases
from tests.hostile.wire import encode_request, request_headers, send_raw

pytestmark = pytest.mark.integration

CASES = all_cases()

# Hundreds of unsigned requests in a few seconds must not meet the abuse limits here;
# tests/integration/test_abuse_limits.py covers those.
GENEROUS_LIMITS = """[limits]
sender_rate_per_second = 0
unauthenticated_rate_per_second = 0
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFixture]:
    cfg = write_config(tmp_path_factory.mktemp("hostile"))
    toml = cfg.directory / "gateway.toml"
    toml.write_text(toml.read_text("utf-8").replace("[limits]\n", GENEROUS_LIMITS), "utf-8")
    yield from _served(cfg)


def _served(cfg: GatewayFixture) -> Iterator[GatewayFixture]:
    # gateway serve's HTTP stack: h11 with its bounds and the head deadline (tests.harness)
    with running_gateway(cfg, start_delivery=False):
        yield cfg


def db(cfg: GatewayFixture) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(cfg.directory) / 'gateway.db'}?mode=ro", uri=True)


def last_events(cfg: GatewayFixture, after: int) -> list[tuple[int, str, str]]:
    with db(cfg) as conn:
        rows = conn.execute(
            "SELECT idx, kind, outcome FROM events WHERE idx > ? ORDER BY idx", (after,)
        ).fetchall()
    conn.close()
    return [(int(i), str(k), str(o)) for i, k, o in rows]


def top_index(cfg: GatewayFixture) -> int:
    with db(cfg) as conn:
        (value,) = conn.execute("SELECT coalesce(max(idx), -1) FROM events").fetchone()
    conn.close()
    return int(value)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_is_refused_and_audited(gw: GatewayFixture, case: Case) -> None:
    before = top_index(gw)
    raw = encode_request(request_headers(gw, case), case.body)
    answer = send_raw(gw.port, raw)
    new = last_events(gw, before)
    if case.layer == "server":
        # The HTTP parser refuses it; the app never sees it, so nothing is audited.
        assert answer.status is None or 400 <= answer.status < 500, answer
        assert new == []
        return
    assert answer.status is not None, f"no answer: {answer.body[:200]!r}"
    if case.expect is not None:
        assert answer.status in case.expect, (answer.status, answer.body[:300])
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type") == "application/problem+json"
    problem = orjson.loads(answer.body)
    assert problem["status"] == answer.status
    assert problem["type"].startswith("urn:gateway:problem:")
    assert problem["title"] and problem["detail"]
    slug = problem["type"].removeprefix("urn:gateway:problem:")
    assert [(kind, outcome) for _, kind, outcome in new] == [("refused", slug)], new


def test_nothing_but_refusals_was_recorded(gw: GatewayFixture) -> None:
    """Runs after the corpus (file order): no message, nonce, delivery or reference. (The
    refused bodies themselves are kept beside their refused events, for forensics.)"""
    with db(gw) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("messages", "nonces", "deliveries", "notice_references")
        }
        unreferenced = conn.execute(
            "SELECT count(*) FROM bodies WHERE sha256 NOT IN (SELECT json_extract(leaf, "
            "'$.body_sha256.received') FROM events WHERE kind = 'refused')"
        ).fetchone()[0]
        kinds = dict(conn.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    conn.close()
    assert counts == dict.fromkeys(counts, 0)
    assert unreferenced == 0
    app_cases = sum(1 for c in CASES if c.layer == "app")
    assert kinds.get("refused") == app_cases
    assert set(kinds) <= {"refused", "config.loaded", "config_loaded"}, kinds
