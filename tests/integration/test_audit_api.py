"""The audit log through the real server: checkpoints, proofs (checked by our verifier and
by Go's sumdb), entries, search, a message's life, and `gateway audit verify|export|erase`
catching every kind of tampering done by hand with sqlite3."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.audit.checkpoint import open_checkpoint
from gateway.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.harness import GatewayFixture, poll, running_gateway, sign_and_post, write_config
from tests.integration.test_audit_go import go_verify, run_go  # noqa: F401
from tests.messages import GCCPOL, INTERPOL, gcc_missing, interpol_red

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def checkpoint(client: httpx.Client, gw: GatewayFixture) -> tuple[str, Any]:
    note = client.get("/v1/audit/checkpoint", headers=gw.auth("auditor")).text
    key = client.get("/v1/audit/key", headers=gw.auth("auditor")).text.strip()
    return note, open_checkpoint(note.encode(), key)


def wait_for_checkpoint(client: httpx.Client, gw: GatewayFixture, size: int) -> tuple[str, Any]:
    def covered() -> tuple[str, Any] | None:
        r = client.get("/v1/audit/checkpoint", headers=gw.auth("auditor"))
        if r.status_code != 200:
            return None
        note, cp = checkpoint(client, gw)
        return (note, cp) if cp.size >= size else None

    found = poll(covered, timeout=10)
    assert isinstance(found, tuple)
    return found


def event_count(client: httpx.Client, gw: GatewayFixture) -> int:
    r = client.get("/v1/audit/events", params={"limit": 1}, headers=gw.auth("auditor"))
    return int(r.json()["events"][0]["index"]) + 1


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFixture]:
    cfg = write_config(tmp_path_factory.mktemp("audit") / "config")
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        for _ in range(5):
            assert sign_and_post(cfg, "ipsg", interpol_red(), INTERPOL, client=c).status_code == 202
            assert sign_and_post(cfg, "ae-moi", gcc_missing(), GCCPOL, client=c).status_code == 202
        yield cfg


@pytest.fixture
def client(gw: GatewayFixture) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gw.url, timeout=10) as c:
        yield c


def test_checkpoint_covers_every_event_within_the_bound(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    r = sign_and_post(gw, "ipsg", interpol_red(), INTERPOL, client=client)
    index = r.json()["audit_index"]
    _, cp = wait_for_checkpoint(client, gw, index + 1)
    assert cp.origin == "gateway.test/audit"


def test_inclusion_proofs_verify_for_every_entry(gw: GatewayFixture, client: httpx.Client) -> None:
    _, cp = wait_for_checkpoint(client, gw, event_count(client, gw))
    for index in range(cp.size):
        entry = client.get(f"/v1/audit/entries/{index}", headers=gw.auth("auditor")).json()
        leaf = base64.b64decode(entry["leaf_b64"])
        proof = client.get(
            "/v1/audit/proof/inclusion",
            params={"index": index, "tree_size": cp.size},
            headers=gw.auth("auditor"),
        ).json()
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        verify_inclusion(leaf_hash(leaf), index, cp.size, hashes, cp.root_hash)


def test_consistency_between_checkpoints(gw: GatewayFixture, client: httpx.Client) -> None:
    _, old = wait_for_checkpoint(client, gw, event_count(client, gw))
    sign_and_post(gw, "ae-moi", gcc_missing(), GCCPOL, client=client)
    _, new = wait_for_checkpoint(client, gw, old.size + 3)
    proof = client.get(
        "/v1/audit/proof/consistency",
        params={"old_size": old.size, "tree_size": new.size},
        headers=gw.auth("auditor"),
    ).json()
    verify_consistency(
        old.size,
        new.size,
        old.root_hash,
        new.root_hash,
        [base64.b64decode(h) for h in proof["proof"]],
    )


@pytest.mark.go
def test_go_verifies_the_live_logs_checkpoint_and_proofs(
    gw: GatewayFixture,
    client: httpx.Client,
    go_verify: Path,  # noqa: F811
) -> None:
    note1, old = wait_for_checkpoint(client, gw, event_count(client, gw))
    sign_and_post(gw, "ipsg", interpol_red(), INTERPOL, client=client)
    note2, new = wait_for_checkpoint(client, gw, old.size + 3)
    key = client.get("/v1/audit/key", headers=gw.auth("auditor")).text.strip()
    leaves: list[str] = []
    inclusion: list[dict[str, Any]] = []
    for index in range(new.size):
        entry = client.get(f"/v1/audit/entries/{index}", headers=gw.auth("auditor")).json()
        leaves.append(entry["leaf_b64"])
        proof = client.get(
            "/v1/audit/proof/inclusion",
            params={"index": index, "tree_size": new.size},
            headers=gw.auth("auditor"),
        ).json()["proof"]
        inclusion.append(
            {
                "index": index,
                "tree_size": new.size,
                "leaf": entry["leaf_b64"],
                "root": base64.b64encode(new.root_hash).decode(),
                "proof": proof,
            }
        )
    consistency = client.get(
        "/v1/audit/proof/consistency",
        params={"old_size": old.size, "tree_size": new.size},
        headers=gw.auth("auditor"),
    ).json()["proof"]
    answer = run_go(
        go_verify,
        {
            "verifier_key": key,
            "notes": [note1, note2],
            "leaves": leaves,
            "roots": [old.size, new.size],
            "inclusion": inclusion,
            "consistency": [
                {
                    "old_size": old.size,
                    "tree_size": new.size,
                    "old_root": base64.b64encode(old.root_hash).decode(),
                    "new_root": base64.b64encode(new.root_hash).decode(),
                    "proof": consistency,
                }
            ],
        },
    )
    assert [n["result"] for n in answer["notes"]] == ["OK", "OK"]
    assert answer["roots"] == [
        base64.b64encode(old.root_hash).decode(),
        base64.b64encode(new.root_hash).decode(),
    ]
    assert set(answer["inclusion"]) == {"OK"}
    assert answer["consistency"] == ["OK"]


@pytest.mark.parametrize(
    ("path", "params", "slug"),
    [
        ("/v1/audit/entries/999999", {}, "index-out-of-range"),
        ("/v1/audit/entries/-1", {}, "index-invalid"),
        ("/v1/audit/proof/inclusion", {"index": 0, "tree_size": 10**9}, "tree-size-out-of-range"),
        ("/v1/audit/proof/inclusion", {"index": 10**6, "tree_size": 3}, "index-out-of-range"),
        ("/v1/audit/proof/inclusion", {"index": "x"}, "query-parameter-invalid"),
        ("/v1/audit/proof/consistency", {"old_size": 5, "tree_size": 4}, "old-size-out-of-range"),
        (
            "/v1/audit/proof/consistency",
            {"old_size": 1, "tree_size": 10**9},
            "tree-size-out-of-range",
        ),
        ("/v1/audit/proof/consistency", {}, "query-parameter-missing"),
        ("/v1/audit/events", {"since": "yesterday"}, "query-parameter-invalid"),
        ("/v1/audit/events", {"cursor": "abc"}, "cursor-invalid"),
    ],
)
def test_out_of_range_requests_are_400_problems(
    gw: GatewayFixture, client: httpx.Client, path: str, params: dict[str, Any], slug: str
) -> None:
    r = client.get(path, params=params, headers=gw.auth("auditor"))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == f"urn:gateway:problem:{slug}"


def test_event_search_filters_and_pages(gw: GatewayFixture, client: httpx.Client) -> None:
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"kind": "received", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/audit/events", params=params, headers=gw.auth("auditor")).json()
        assert all(e["event"]["kind"] == "received" for e in page["events"])
        seen += [e["index"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)  # newest first
    assert len(seen) == len(set(seen)) >= 10
    oldest = client.get(
        "/v1/audit/events",
        params={"participant": "ae-moi", "kind": "received", "order": "oldest", "limit": 2},
        headers=gw.auth("auditor"),
    ).json()["events"]
    assert [e["event"]["actor"]["id"] for e in oldest] == ["ae-moi", "ae-moi"]
    assert oldest[0]["index"] < oldest[1]["index"]


def test_message_life_is_shown_and_reading_it_is_audited(
    gw: GatewayFixture, client: httpx.Client
) -> None:
    receipt = sign_and_post(gw, "ipsg", interpol_red(), INTERPOL, client=client).json()
    mid = receipt["message_id"]
    life = client.get(f"/v1/messages/{mid}", headers=gw.auth("auditor"))
    assert life.status_code == 200
    data = life.json()
    roles = {b["role"] for b in data["bodies"]}
    assert roles == {"original", "translation:gccpol-hub", "translation:sa-psd"}
    xml = next(b for b in data["bodies"] if b["role"] == "translation:sa-psd")["body"]
    assert "<gcc:Hijri>" in xml and "القحطاني" in xml
    assert {d["recipient"] for d in data["deliveries"]} == {"gccpol-hub", "sa-psd"}
    assert any(d["losses"] for d in data["deliveries"])
    kinds = [e["event"]["kind"] for e in data["events"]]
    assert kinds[:1] == ["received"] and "routed" in kinds
    viewed = client.get(
        "/v1/audit/events",
        params={"kind": "payload_viewed", "message_id": mid},
        headers=gw.auth("auditor"),
    ).json()["events"]
    assert viewed and viewed[0]["event"]["actor"] == {"type": "operator", "id": "auditor-1"}
    missing = client.get("/v1/messages/no-such-id", headers=gw.auth("auditor"))
    assert missing.status_code == 404


# ---- offline verification and tampering ----------------------------------------------------


@pytest.fixture
def stopped_log(tmp_path: Path) -> GatewayFixture:
    cfg = write_config(tmp_path / "config")
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        for _ in range(4):
            sign_and_post(cfg, "ipsg", interpol_red(), INTERPOL, client=c)
            sign_and_post(cfg, "ae-moi", gcc_missing(), GCCPOL, client=c)
    return cfg  # the server stopped: the sequencer checkpointed everything on the way out


def db(cfg: GatewayFixture) -> sqlite3.Connection:
    return sqlite3.connect(cfg.directory / "gateway.db", isolation_level=None)


def test_untouched_log_verifies(stopped_log: GatewayFixture) -> None:
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode == 0, done.stderr
    assert "verifies" in done.stdout


def test_nodes_option_checks_the_stored_tree(stopped_log: GatewayFixture) -> None:
    done = gateway_cli("audit", "verify", "--nodes", "--config", str(stopped_log.directory))
    assert done.returncode == 0, done.stderr
    assert "audit log verifies" in done.stdout and "tree verifies" in done.stdout
    with db(stopped_log) as conn:
        (size,) = conn.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
        assert size >= 8  # at least the nodes of level 3 exist
        conn.execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1")
    plain = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert plain.returncode == 0, plain.stderr  # the entries and checkpoints are intact
    deep = gateway_cli("audit", "verify", "--nodes", "--config", str(stopped_log.directory))
    assert deep.returncode == 2
    assert "tree node (level 2, index 1) over entries 4..7 differs" in deep.stderr


def test_nodes_option_refuses_an_export(stopped_log: GatewayFixture, tmp_path: Path) -> None:
    out = tmp_path / "log.export"
    assert (
        gateway_cli(
            "audit", "export", "--output", str(out), "--config", str(stopped_log.directory)
        ).returncode
        == 0
    )
    done = gateway_cli("audit", "verify", str(out), "--nodes")
    assert done.returncode != 0
    assert "an export has none" in done.stderr


def test_changed_entry_is_named(stopped_log: GatewayFixture) -> None:
    with db(stopped_log) as conn:
        leaf = conn.execute("SELECT leaf FROM events WHERE idx = 5").fetchone()[0]
        conn.execute(
            "UPDATE events SET leaf = ? WHERE idx = 5", (leaf.replace(b'"v":1', b'"v":2'),)
        )
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode != 0
    assert "entry 5" in done.stderr


def test_changed_entry_and_its_node_are_caught_by_the_checkpoint(
    stopped_log: GatewayFixture,
) -> None:
    with db(stopped_log) as conn:
        leaf = conn.execute("SELECT leaf FROM events WHERE idx = 5").fetchone()[0]
        new = leaf.replace(b'"v":1', b'"v":2')
        conn.execute("UPDATE events SET leaf = ? WHERE idx = 5", (new,))
        conn.execute("UPDATE nodes SET hash = ? WHERE level = 0 AND idx = 5", (leaf_hash(new),))
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode != 0
    assert "do not match the signed checkpoint" in done.stderr


def test_removed_entry_is_named(stopped_log: GatewayFixture) -> None:
    with db(stopped_log) as conn:
        conn.execute("DELETE FROM events WHERE idx = 7")
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode != 0
    assert "entry 7 is missing" in done.stderr


def test_reordered_entries_are_named(stopped_log: GatewayFixture) -> None:
    with db(stopped_log) as conn:
        a = conn.execute("SELECT leaf FROM events WHERE idx = 3").fetchone()[0]
        b = conn.execute("SELECT leaf FROM events WHERE idx = 4").fetchone()[0]
        conn.execute("UPDATE events SET leaf = ? WHERE idx = 3", (b,))
        conn.execute("UPDATE events SET leaf = ? WHERE idx = 4", (a,))
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode != 0
    assert "entry 3" in done.stderr


def test_changed_search_column_is_named(stopped_log: GatewayFixture) -> None:
    with db(stopped_log) as conn:
        conn.execute("UPDATE events SET outcome = 'nothing-to-see' WHERE idx = 2")
    done = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert done.returncode != 0
    assert "entry 2" in done.stderr and "outcome" in done.stderr


def test_export_verifies_elsewhere_and_tampering_is_caught(
    stopped_log: GatewayFixture, tmp_path: Path
) -> None:
    out = tmp_path / "log.jsonl"
    done = gateway_cli(
        "audit", "export", "--config", str(stopped_log.directory), "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    ok = gateway_cli("audit", "verify", str(out))
    assert ok.returncode == 0, ok.stderr
    lines = out.read_text().splitlines()
    lines[4] = lines[4].replace(lines[4][-12:-3], "AAAAAAAAA")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    refused = gateway_cli("audit", "verify", str(bad))
    assert refused.returncode != 0
    # Trusting another key than the one the export carries fails on the signature.
    other = gateway_cli("audit", "verify", str(out), "--key", "other+00000000+AQ" + "A" * 42 + "=")
    assert other.returncode != 0


def test_erasing_bodies_keeps_every_proof(stopped_log: GatewayFixture) -> None:
    done = gateway_cli(
        "audit", "erase", "--config", str(stopped_log.directory), "--before", "2999-01-01"
    )
    assert done.returncode == 0, done.stderr
    with db(stopped_log) as conn:
        left = conn.execute("SELECT count(*) FROM bodies WHERE body IS NOT NULL").fetchone()[0]
    # Bodies still needed by pending deliveries stay; every other one is gone.
    with db(stopped_log) as conn:
        pending = conn.execute(
            "SELECT count(DISTINCT body_sha256) FROM deliveries WHERE state = 'pending'"
        ).fetchone()[0]
    assert left <= pending
    with running_gateway(stopped_log, start_delivery=False):
        pass  # a restart checkpoints the erase event
    ok = gateway_cli("audit", "verify", "--config", str(stopped_log.directory))
    assert ok.returncode == 0, ok.stderr


def test_events_committed_without_a_checkpoint_are_covered_after_a_crash(tmp_path: Path) -> None:
    """A crash between commit and checkpoint: the next start's checkpoint covers them."""
    from gateway.audit.events import EventKind
    from gateway.config import load_config
    from gateway.ingress import event
    from gateway.runtime import utc_now
    from gateway.storage import open_storage
    from gateway.storage.base import Transaction

    cfg = write_config(tmp_path / "config")
    config = load_config(cfg.directory)

    async def commit_without_sequencer() -> int:
        storage = open_storage(config.storage_url)
        await storage.open()
        try:
            rows = [
                event(
                    EventKind.OPERATOR_LOGIN,
                    utc_now(),
                    actor_type="operator",
                    actor="admin-1",
                    message_id=None,
                    outcome="ok",
                )
                for _ in range(5)
            ]
            result = await storage.commit(Transaction(events=rows))
            assert await storage.latest_checkpoint() is None
            return result.event_indices[-1]
        finally:
            await storage.close()

    last = asyncio.run(commit_without_sequencer())
    with running_gateway(cfg, start_delivery=False), httpx.Client(base_url=cfg.url) as c:
        _, cp = wait_for_checkpoint(c, cfg, last + 1)
        assert cp.size >= last + 1
