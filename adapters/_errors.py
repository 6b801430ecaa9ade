"""Errors raised by adapters. Every one names the field (a path) and the reason.

    AdapterError
    ├── MalformedMessage      the bytes are not well-formed JSON / XML, or are hostile
    │                         (DOCTYPE, entities, too large, too deep)       → HTTP 400
    ├── SchemaViolations      well-formed, but violates the schema; carries every
    │                         violation with its path                        → HTTP 422
    └── TranslationRefused    the canonical notice cannot be expressed for the target
                              schema without being wrong (schemas.md, refusals)

The gateway turns these into RFC 9457 problem bodies in one place; adapters know nothing
of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    path: str  # e.g. "notice.date_of_birth" or "/Message/Alert/Header/AlertID"
    reason: str


class AdapterError(Exception):
    """Base of every error an adapter raises."""


class MalformedMessage(AdapterError):
    def __init__(self, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class SchemaViolations(AdapterError):
    def __init__(self, violations: list[Violation] | tuple[Violation, ...]) -> None:
        if not violations:
            raise ValueError("SchemaViolations needs at least one violation")
        self.violations = tuple(violations)
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        super().__init__(f"{first.path}: {first.reason}{more}")


class TranslationRefused(AdapterError):
    """The translation would be wrong or unlawful; ``code`` is a stable reason code.

    Codes: ``no-counterpart``, ``missing-judicial-data``, ``required-field-unavailable``,
    ``date-outside-hijri-range``, ``sex-not-applicable``, ``unknown-country``.
    """

    def __init__(self, code: str, field: str, reason: str) -> None:
        self.code = code
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason} [{code}]")
