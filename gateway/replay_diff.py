"""What changed between a captured outcome and its replay (docs/replay.md, "Differences").

Pure: two `Outcome`s in, a `MessageDiff` out. Compared: the status and the refusal (check,
field, detail), the routing, each recipient's outcome and reason, each translation's digest
(and, when both bodies are at hand, the fields of the decoded canonical messages) and its
loss report. Not compared: delivery ids and audit indices (new on every run), the rules
digest (reported once per replay), delivery outcomes (the recipients are not replayed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters import AdapterError, adapter_for_media_type
from gateway.capture import Outcome, RecipientResult, Translation

__all__ = ["Change", "FieldChange", "MessageDiff", "compare_outcomes", "field_changes"]

MAX_FIELD_CHANGES = 40


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # e.g. "notice.subject.names[0].family"
    expected: Any
    got: Any

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "got": self.got}


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # status | check | field | detail | routing | recipient | translation | losses
    subject: str  # the recipient it is about, or ""
    expected: Any
    got: Any
    fields: tuple[FieldChange, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "what": self.what,
            "subject": self.subject,
            "expected": self.expected,
            "got": self.got,
        }
        if self.fields:
            out["fields"] = [f.as_json() for f in self.fields]
        return out


@dataclass(frozen=True, slots=True)
class MessageDiff:
    seq: int
    label: str  # "<sender> <message id>" or the refusal's check
    verdict: str  # same | changed | skipped
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "label": self.label,
            "verdict": self.verdict,
            "changes": [c.as_json() for c in self.changes],
            "notes": list(self.notes),
        }


def compare_outcomes(expected: Outcome, got: Outcome) -> tuple[Change, ...]:
    changes: list[Change] = []
    if expected.status != got.status:
        changes.append(Change("status", "", expected.status, got.status))
    for name in ("check", "field", "detail"):
        want, have = getattr(expected, name), getattr(got, name)
        if want != have and not (name == "detail" and expected.check != got.check):
            changes.append(Change(name, "", want, have))
    if expected.routing != got.routing:
        changes.append(Change("routing", "", expected.routing, got.routing))
    changes.extend(_recipient_changes(expected.recipients, got.recipients))
    changes.extend(_translation_changes(expected.translations, got.translations))
    return tuple(changes)


def _describe(r: RecipientResult | None) -> str | None:
    if r is None:
        return None
    text = f"{r.outcome} ({r.reason})"
    return f"{text}, {r.losses} losses" if r.outcome == "routed" else text


def _recipient_changes(
    expected: list[RecipientResult], got: list[RecipientResult]
) -> Iterator[Change]:
    want = {r.participant: r for r in expected}
    have = {r.participant: r for r in got}
    for pid in sorted(want.keys() | have.keys()):
        a, b = want.get(pid), have.get(pid)
        if a == b:
            continue
        if a is not None and b is not None and _describe(a) == _describe(b):
            yield Change("recipient", pid, a.detail, b.detail)  # same decision, new words
        else:
            yield Change("recipient", pid, _describe(a), _describe(b))


def _translation_changes(expected: list[Translation], got: list[Translation]) -> Iterator[Change]:
    want = {t.recipient: t for t in expected}
    have = {t.recipient: t for t in got}
    for pid in sorted(want.keys() | have.keys()):
        a, b = want.get(pid), have.get(pid)
        if a is None or b is None:
            yield Change(
                "translation",
                pid,
                None if a is None else a.body_sha256,
                None if b is None else b.body_sha256,
            )
            continue
        if a.body_sha256 != b.body_sha256:
            yield Change("translation", pid, a.body_sha256, b.body_sha256, _body_fields(a, b))
        losses_a = [x.model_dump(mode="json") for x in a.losses]
        losses_b = [x.model_dump(mode="json") for x in b.losses]
        if losses_a != losses_b:
            yield Change("losses", pid, losses_a, losses_b)


def _body_fields(a: Translation, b: Translation) -> tuple[FieldChange, ...]:
    """Field-level changes of the decoded canonical messages, when both bodies are here."""
    body_a, body_b = a.body(), b.body()
    if body_a is None or body_b is None:
        return ()
    try:
        decoded_a = adapter_for_media_type(a.media_type).decode(body_a)
        decoded_b = adapter_for_media_type(b.media_type).decode(body_b)
    except (AdapterError, LookupError):
        return (FieldChange("(body)", "not decodable", "not decodable"),)
    return field_changes(decoded_a.model_dump(mode="json"), decoded_b.model_dump(mode="json"))


def field_changes(expected: Any, got: Any) -> tuple[FieldChange, ...]:
    out: list[FieldChange] = []
    _walk("", expected, got, out)
    return tuple(out[:MAX_FIELD_CHANGES])


def _walk(path: str, a: Any, b: Any, out: list[FieldChange]) -> None:
    if a == b:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            _walk(f"{path}.{key}" if path else str(key), a.get(key), b.get(key), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _walk(
                f"{path}[{i}]",
                a[i] if i < len(a) else None,
                b[i] if i < len(b) else None,
                out,
            )
        return
    out.append(FieldChange(path or "(root)", a, b))
