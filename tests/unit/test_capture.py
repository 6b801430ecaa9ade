"""The capture format (gateway.capture), the request records beside events (storage), and
the outcome comparison (gateway.replay_diff)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import orjson
import pytest

from gateway.capture import (
    CaptureError,
    Outcome,
    RecipientResult,
    Translation,
    kept_headers,
    read_capture,
    request_row,
)
from gateway.replay_diff import compare_outcomes, field_changes
from gateway.storage.base import BodyRow, EventRow, Storage, Transaction

pytest_plugins = ["tests.storage_fixtures"]  # the `storage` fixture, every backend

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
GOLDEN = sorted(CAPTURES.glob("*.jsonl"))
AT = dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _write(tmp_path: Path, lines: list[bytes]) -> Path:
    out = tmp_path / "capture.jsonl"
    out.write_bytes(b"".join(lines))
    return out


def test_golden_captures_exist_and_read() -> None:
    assert {p.name for p in GOLDEN} >= {"demo.jsonl", "awkward.jsonl"}
    for path in GOLDEN:
        capture = read_capture(path)
        assert capture.header.requests == len(capture.requests) > 0
        assert [r.seq for r in capture.requests] == list(range(1, len(capture.requests) + 1))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_golden_captures_hold_no_private_key(path: Path) -> None:
    text = path.read_text("utf-8")
    assert "PRIVATE KEY" not in text
    header = json.loads(text.splitlines()[0])
    for participant in header["participants"]:
        for key in participant["keys"]:
            assert set(key) <= {"keyid", "public_key_b64", "not_before", "not_after", "revoked"}
            assert len(base64.b64decode(key["public_key_b64"])) == 32


def test_truncated_capture_names_the_cut_line(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    cut = _write(tmp_path, [*lines[:-1], lines[-1][:40]])
    with pytest.raises(CaptureError) as err:
        read_capture(cut)
    assert err.value.line == len(lines)
    assert "truncated" in err.value.reason


def test_missing_lines_are_a_truncated_capture(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    short = _write(tmp_path, lines[:-1])
    with pytest.raises(CaptureError, match=r"announces 6 requests, the file has 5: truncated"):
        read_capture(short)


def test_corrupted_body_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    row = orjson.loads(lines[2])
    body = bytearray(base64.b64decode(row["body_b64"]))
    body[10] ^= 0x01
    row["body_b64"] = base64.b64encode(bytes(body)).decode()
    lines[2] = orjson.dumps(row) + b"\n"
    with pytest.raises(CaptureError) as err:
        read_capture(_write(tmp_path, lines))
    assert err.value.line == 3
    assert "corrupted" in err.value.reason


def test_garbage_line_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    lines[4] = b"{not json\n"
    with pytest.raises(CaptureError, match=r"capture.jsonl:5: not JSON"):
        read_capture(_write(tmp_path, lines))


def test_wrong_version_is_refused_on_line_1(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    header = orjson.loads(lines[0])
    header["version"] = 99
    lines[0] = orjson.dumps(header) + b"\n"
    with pytest.raises(CaptureError, match=r":1: capture version 99; this gateway reads version 1"):
        read_capture(_write(tmp_path, lines))


def test_another_format_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [b'{"format": "gateway-audit-export", "version": 1}\n'])
    with pytest.raises(CaptureError, match="not a replay capture"):
        read_capture(path)


def test_missing_field_is_named(tmp_path: Path) -> None:
    lines = _lines(CAPTURES / "demo.jsonl")
    row = orjson.loads(lines[1])
    del row["received_at"]
    lines[1] = orjson.dumps(row) + b"\n"
    with pytest.raises(CaptureError, match=r":2: bad request line: received_at: Field required"):
        read_capture(_write(tmp_path, lines))


def test_kept_headers_are_the_signed_ones() -> None:
    headers = {
        "content-type": "application/json",
        "content-digest": "sha-256=:x:",
        "signature-input": 'sig1=("@method" "@path" "content-type" "x-extra");created=1',
        "signature": "sig1=:y:",
        "x-extra": "kept: it is signed",
        "authorization": "Bearer not-kept",
        "user-agent": "not kept",
    }
    assert set(kept_headers(headers)) == {
        "content-type",
        "content-digest",
        "signature-input",
        "signature",
        "x-extra",
    }


@pytest.mark.anyio
async def test_request_record_is_stored_beside_its_event(storage: Storage) -> None:
    body = b'{"a": 1}'
    digest = hashlib.sha256(body).hexdigest()
    tx = Transaction(
        events=[
            EventRow(leaf=b'{"x":1}', kind="config_loaded", at=AT),
            EventRow(leaf=b'{"x":2}', kind="refused", at=AT, outcome="schema-violation"),
        ],
        bodies=[BodyRow(sha256=digest, body=body, media_type="application/json")],
        request=request_row(
            event_pos=1,
            method="POST",
            authority="gw.example:443",
            path="/v1/messages",
            headers={"content-type": "application/json", "authorization": "Bearer t"},
            body_sha256=digest,
        ),
    )
    result = await storage.commit(tx)
    found = await storage.requests_between(0, 10)
    assert list(found) == [result.event_indices[1]]
    stored = found[result.event_indices[1]]
    assert (stored.method, stored.authority, stored.path) == (
        "POST",
        "gw.example:443",
        "/v1/messages",
    )
    assert orjson.loads(stored.headers) == {"content-type": "application/json"}
    assert stored.body_sha256 == digest
    assert await storage.requests_between(result.event_indices[1] + 1, 100) == {}


@pytest.mark.anyio
async def test_request_record_with_a_bad_event_position_is_refused(storage: Storage) -> None:
    tx = Transaction(
        events=[EventRow(leaf=b"{}", kind="refused", at=AT)],
        request=request_row(
            event_pos=3, method="POST", authority="a", path="/", headers={}, body_sha256=None
        ),
    )
    with pytest.raises(ValueError, match=r"request.event_pos is 3; expected 0..0"):
        await storage.commit(tx)


def _routed(*pids: str) -> list[RecipientResult]:
    return [
        RecipientResult(participant=p, outcome="routed", reason="rule:r", detail="d") for p in pids
    ]


def test_same_outcomes_have_no_change() -> None:
    outcome = Outcome(status=202, routing="routed", recipients=_routed("a", "b"))
    assert compare_outcomes(outcome, outcome) == ()


def test_a_lost_recipient_and_a_new_status_are_named() -> None:
    expected = Outcome(status=202, routing="routed", recipients=_routed("a", "b"))
    got = Outcome(status=202, routing="routed", recipients=_routed("a"))
    [change] = compare_outcomes(expected, got)
    assert (change.what, change.subject, change.expected, change.got) == (
        "recipient",
        "b",
        "routed (rule:r), 0 losses",
        None,
    )
    refused = Outcome(status=401, check="signature-invalid")
    whats = [c.what for c in compare_outcomes(expected, refused)]
    assert whats[:2] == ["status", "check"]


def test_translation_digest_change_without_bodies_has_no_field_list() -> None:
    a = Translation(recipient="x", media_type="application/json", body_sha256="1" * 64)
    b = Translation(recipient="x", media_type="application/json", body_sha256="2" * 64)
    [change] = compare_outcomes(
        Outcome(status=202, translations=[a]), Outcome(status=202, translations=[b])
    )
    assert change.what == "translation" and change.fields == ()


def test_field_changes_walk_nested_values() -> None:
    changes = field_changes(
        {"notice": {"names": [{"family": "A"}, {"family": "B"}], "sex": "M"}},
        {"notice": {"names": [{"family": "A"}], "sex": "F"}},
    )
    assert [(c.path, c.expected, c.got) for c in changes] == [
        ("notice.names[1]", {"family": "B"}, None),
        ("notice.sex", "M", "F"),
    ]
