"""Audit events as the timeline shows them: one line a person reads per event, taken from
the signed leaf itself (not from the search columns beside it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.storage.base import StoredEvent

__all__ = ["EventLine", "event_line"]

# Outcomes that mean something went wrong, for the row's visual cue (text says it too).
_BAD_KINDS = frozenset({"refused", "delivery_failed", "dead_lettered"})


@dataclass(frozen=True, slots=True)
class EventLine:
    index: int
    at: str  # RFC 3339 UTC, as in the leaf
    kind: str
    actor: str  # "participant ncb-fr", "operator alice", "gateway gateway"
    message_id: str | None
    participant: str | None
    outcome: str
    summary: str
    bad: bool
    leaf: dict[str, Any]


def _recipients(details: dict[str, Any]) -> str:
    out = []
    for r in details.get("recipients", []):
        if isinstance(r, dict):
            out.append(f"{r.get('participant')}: {r.get('outcome')} by {r.get('reason')}")
    return "; ".join(out) or "no candidate recipient"


def _summary(kind: str, d: dict[str, Any]) -> str:
    if kind == "received":
        return f"{d.get('kind', '?')} in {d.get('schema', '?')} signed by {d.get('keyid', '?')}"
    if kind == "refused":
        field = f" (field {d['field']})" if "field" in d else ""
        return f"{d.get('status', '?')} {d.get('check', '?')}{field}: {d.get('detail', '')}"
    if kind == "translated":
        return (
            f"for {d.get('recipient', '?')} in {d.get('schema', '?')}, "
            f"{d.get('losses', 0)} field(s) lost"
        )
    if kind == "routed":
        return _recipients(d)
    if kind in ("delivery_attempted", "delivered", "delivery_failed"):
        status = d.get("status")
        said = f"HTTP {status}" if status is not None else (d.get("error") or "no answer")
        signed = d.get("answer_signature")
        answer = f", answer signature {signed.get('status')}" if isinstance(signed, dict) else ""
        return f"to {d.get('recipient', '?')}, attempt {d.get('attempt', '?')}: {said}{answer}"
    if kind == "dead_lettered":
        reason = d.get("reason") or d.get("error") or ""
        return f"to {d.get('recipient', '?')} given up{': ' + reason if reason else ''}"
    if kind == "redelivery_requested":
        return (
            f"{d.get('request', '?')} to {d.get('recipient', '?')} (was {d.get('previous_state')})"
        )
    if kind == "payload_viewed":
        return f"bodies read through {d.get('endpoint', '?')}"
    if kind == "operator_login":
        return f"via {d.get('via', '?')}" + (f": {d['detail']}" if "detail" in d else "")
    if kind == "config_loaded":
        return "configuration " + ("refused" if d.get("refused") else "loaded")
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items()) if not isinstance(v, dict | list))


def event_line(ev: StoredEvent) -> EventLine:
    leaf: dict[str, Any] = orjson.loads(ev.leaf)
    actor = leaf.get("actor") or {}
    details = leaf.get("details")
    return EventLine(
        index=ev.index,
        at=str(leaf.get("at", "")),
        kind=ev.kind,
        actor=f"{actor.get('type', '?')} {actor.get('id', '?')}",
        message_id=leaf.get("message_id"),
        participant=ev.participant,
        outcome=str(leaf.get("outcome", "")),
        summary=_summary(ev.kind, details if isinstance(details, dict) else {}),
        bad=ev.kind in _BAD_KINDS,
        leaf=leaf,
    )
