"""The audit log checked by an independent implementation: Go's golang.org/x/mod/sumdb
note (C2SP signed notes) and tlog (RFC 6962/9162 trees and proofs), built by
tests/interop/go/setup.sh. Go must accept everything we produce and reject what we tamper."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.checkpoint import (
    Checkpoint,
    key_hash,
    open_checkpoint,
    sign_checkpoint,
    verifier_key,
)
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.audit.merkle import leaf_hash
from gateway.audit.tree import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    root_hash,
)

pytestmark = [pytest.mark.integration, pytest.mark.go]

GO_DIR = Path(__file__).resolve().parents[1] / "interop" / "go"
NAME = "audit.gateway.test"
SEED = hashlib.sha256(b"go interop key").digest()
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUB = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
VKEY = verifier_key(NAME, PUB)
SIZE = 300


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@pytest.fixture(scope="module")
def go_verify() -> Path:
    try:
        done = subprocess.run(
            [str(GO_DIR / "setup.sh")], capture_output=True, text=True, timeout=900, check=False
        )
        problem = None if done.returncode == 0 else done.stderr.strip() or done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    if problem is not None:
        reason = f"Go verifier unavailable (tests/interop/go/setup.sh failed): {problem}"
        if os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return GO_DIR / "bin" / "verify"


def run_go(binary: Path, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(binary)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def log() -> tuple[list[bytes], MemoryNodeStore]:
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    kinds = list(EventKind)
    leaves = [
        leaf_bytes(
            AuditEvent(
                kind=kinds[i % len(kinds)],
                at=start + dt.timedelta(milliseconds=37 * i),
                actor={"type": "participant", "id": f"NCB-{i % 7}"},
                message_id=f"msg-{i // 3}",
                outcome="ok",
                body_sha256={"received": hashlib.sha256(str(i).encode()).hexdigest()},
                details={"i": i},
            )
        )
        for i in range(SIZE)
    ]
    store = MemoryNodeStore()
    for n in range(0, SIZE, 17):  # appended in batches, as the sequencer does
        batch = [leaf_hash(x) for x in leaves[n : n + 17]]
        store.put_nodes(append_leaves(store, n, batch))
    return leaves, store


CHECKPOINT_SIZES = [1, 2, 3, 7, 8, 64, 100, 127, 128, 129, 257, SIZE]


def test_go_accepts_our_checkpoints_and_roots(
    go_verify: Path, log: tuple[list[bytes], MemoryNodeStore]
) -> None:
    leaves, store = log
    notes = [
        sign_checkpoint(Checkpoint(NAME, n, root_hash(store, n)), key_name=NAME, sign=KEY).decode()
        for n in CHECKPOINT_SIZES
    ]
    answer = run_go(
        go_verify,
        {
            "verifier_key": VKEY,
            "notes": notes,
            "leaves": [b64(x) for x in leaves],
            "roots": CHECKPOINT_SIZES,
        },
    )
    assert answer["roots"] == [b64(root_hash(store, n)) for n in CHECKPOINT_SIZES]
    for n, result in zip(CHECKPOINT_SIZES, answer["notes"], strict=True):
        assert result == {
            "result": "OK",
            "origin": NAME,
            "size": n,
            "root": b64(root_hash(store, n)),
        }


def test_go_signs_the_same_note_bytes(
    go_verify: Path, log: tuple[list[bytes], MemoryNodeStore]
) -> None:
    _, store = log
    cp = Checkpoint(NAME, SIZE, root_hash(store, SIZE))
    seed = b64(b"\x01" + SEED)
    skey = f"PRIVATE+KEY+{NAME}+{key_hash(NAME, PUB).hex()}+{seed}"
    answer = run_go(go_verify, {"sign": {"signer_key": skey, "text": cp.body().decode()}})
    ours = sign_checkpoint(cp, key_name=NAME, sign=KEY)
    assert answer["signed"].encode() == ours  # Ed25519 is deterministic
    assert open_checkpoint(answer["signed"], VKEY) == cp


def test_go_rejects_tampered_notes(
    go_verify: Path, log: tuple[list[bytes], MemoryNodeStore]
) -> None:
    _, store = log
    good = sign_checkpoint(Checkpoint(NAME, 100, root_hash(store, 100)), key_name=NAME, sign=KEY)
    text, sig = good.split(b"\n\n")
    sig_b64 = sig.split(b" ")[2].rstrip(b"\n")
    raw = bytearray(base64.b64decode(sig_b64))
    raw[10] ^= 1
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    tampered = {
        "size changed": good.replace(b"\n100\n", b"\n101\n", 1),
        "root changed": good.replace(text.split(b"\n")[2], b64(root_hash(store, 99)).encode()),
        "signature flipped": good.replace(sig_b64, base64.b64encode(bytes(raw))),
        "signed by another key": sign_checkpoint(
            Checkpoint(NAME, 100, root_hash(store, 100)), key_name=NAME, sign=other
        ),
        "no blank line": good.replace(b"\n\n", b"\n"),
    }
    answer = run_go(
        go_verify, {"verifier_key": VKEY, "notes": [n.decode() for n in tampered.values()]}
    )
    for what, result in zip(tampered, answer["notes"], strict=True):
        assert result["result"].startswith("error:"), what
    assert "invalid signature" in answer["notes"][0]["result"]
    assert "malformed note" in answer["notes"][4]["result"]


def _pairs(rng: random.Random) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    inclusion = [(i, SIZE) for i in range(SIZE)]  # every leaf of the full tree
    inclusion += [(i, n) for n in (1, 2, 3, 5, 8, 13, 64, 65, 129, 255) for i in range(n)]
    inclusion += [(i, n) for n in rng.sample(range(1, SIZE), 40) for i in rng.sample(range(n), 1)]
    consistency = [(m, n) for n in (1, 2, 3, 8, 13, 64, 65, 100) for m in range(1, n + 1)]
    consistency += [(m, SIZE) for m in range(1, SIZE + 1)]
    for _ in range(200):
        m, n = sorted(rng.sample(range(1, SIZE + 1), 2))
        consistency.append((m, n))
    return inclusion, consistency


def test_go_checks_our_proofs(go_verify: Path, log: tuple[list[bytes], MemoryNodeStore]) -> None:
    leaves, store = log
    inclusion, consistency = _pairs(random.Random(9162))
    request = {
        "inclusion": [
            {
                "index": i,
                "tree_size": n,
                "leaf": b64(leaves[i]),
                "root": b64(root_hash(store, n)),
                "proof": [b64(h) for h in inclusion_proof(store, i, n)],
            }
            for i, n in inclusion
        ],
        "consistency": [
            {
                "old_size": m,
                "tree_size": n,
                "old_root": b64(root_hash(store, m)),
                "new_root": b64(root_hash(store, n)),
                "proof": [b64(h) for h in consistency_proof(store, m, n)],
            }
            for m, n in consistency
        ],
    }
    answer = run_go(go_verify, request)
    assert len(inclusion) > 500 and len(consistency) > 500
    assert answer["inclusion"] == ["OK"] * len(inclusion)
    assert answer["consistency"] == ["OK"] * len(consistency)


def test_go_rejects_wrong_proofs(go_verify: Path, log: tuple[list[bytes], MemoryNodeStore]) -> None:
    leaves, store = log
    root = b64(root_hash(store, SIZE))
    proof = [b64(h) for h in inclusion_proof(store, 41, SIZE)]
    zero = b64(bytes(32))
    bad_inclusion = [
        {"index": 41, "tree_size": SIZE, "leaf": b64(leaves[42]), "root": root, "proof": proof},
        {"index": 42, "tree_size": SIZE, "leaf": b64(leaves[41]), "root": root, "proof": proof},
        {
            "index": 41,
            "tree_size": SIZE,
            "leaf": b64(leaves[41]),
            "root": root,
            "proof": [zero, *proof[1:]],
        },
        {
            "index": 41,
            "tree_size": SIZE,
            "leaf": b64(leaves[41]),
            "root": root,
            "proof": proof[:-1],
        },
        {"index": 41, "tree_size": 200, "leaf": b64(leaves[41]), "root": root, "proof": proof},
    ]
    cproof = [b64(h) for h in consistency_proof(store, 100, SIZE)]
    old = b64(root_hash(store, 100))
    bad_consistency = [
        {
            "old_size": 100,
            "tree_size": SIZE,
            "old_root": old,
            "new_root": root,
            "proof": [*cproof[:-1], zero],
        },
        {
            "old_size": 100,
            "tree_size": SIZE,
            "old_root": b64(root_hash(store, 99)),
            "new_root": root,
            "proof": cproof,
        },
        {"old_size": 101, "tree_size": SIZE, "old_root": old, "new_root": root, "proof": cproof},
        {
            "old_size": 100,
            "tree_size": SIZE,
            "old_root": old,
            "new_root": root,
            "proof": cproof[1:],
        },
    ]
    answer = run_go(go_verify, {"inclusion": bad_inclusion, "consistency": bad_consistency})
    assert all(r.startswith("error:") for r in answer["inclusion"]), answer["inclusion"]
    assert all(r.startswith("error:") for r in answer["consistency"]), answer["consistency"]
    assert len(answer["inclusion"]) == len(bad_inclusion)
    assert len(answer["consistency"]) == len(bad_consistency)
