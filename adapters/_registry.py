"""The adapter protocol and the registry of adapters by schema name and media type.

A third system is one new module that defines an object satisfying `Adapter` and adds it
to `_ADAPTERS` below; nothing in the gateway changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from schemas.canonical import CanonicalMessage, Loss, Notice


@dataclass(frozen=True, slots=True)
class Encoded:
    body: bytes
    losses: tuple[Loss, ...]


class Adapter(Protocol):
    """decode(bytes) → canonical; encode(canonical) → bytes + losses."""

    @property
    def schema(self) -> str:
        """Schema name used in configuration (``interpol``, ``gccpol``)."""
        ...

    @property
    def media_type(self) -> str:
        """The Content-Type this schema travels as."""
        ...

    @property
    def reference_system(self) -> str:
        """The name under which this side's identifiers appear in `Notice.references`."""
        ...

    def decode(self, body: bytes) -> CanonicalMessage:
        """Parse and validate wire bytes. Raises MalformedMessage or SchemaViolations."""
        ...

    def encode(self, message: CanonicalMessage) -> Encoded:
        """Render for this schema. The notice must carry this side's reference (see
        `mint_reference`). Raises TranslationRefused."""
        ...

    def encode_each(
        self, message: CanonicalMessage, message_ids: Sequence[str]
    ) -> tuple[Encoded, ...]:
        """``encode(message)`` once per id in ``message_ids``, each copy carrying that
        ``message_id`` (recipients of one schema get the same translation under their own
        delivery id): what does not depend on the id is translated once. Raises
        TranslationRefused as `encode` would."""
        ...

    def mint_reference(self, notice: Notice) -> str:
        """A new identifier in this side's format for a notice that has none yet.

        Deterministic in the notice's other references, so minting twice for the same
        origin notice gives the same identifier."""
        ...


class UnknownSchema(LookupError):
    pass


def _load() -> dict[str, Adapter]:
    from adapters.gccpol import ADAPTER as GCCPOL
    from adapters.interpol import ADAPTER as INTERPOL

    return {a.schema: a for a in (INTERPOL, GCCPOL)}


@cache
def _all() -> dict[str, Adapter]:
    return _load()


def adapter_for_schema(schema: str) -> Adapter:
    try:
        return _all()[schema]
    except KeyError:
        raise UnknownSchema(f"no adapter for schema {schema!r}; known: {sorted(_all())}") from None


def adapter_for_media_type(media_type: str) -> Adapter:
    """The adapter whose media type equals ``media_type`` (parameters such as charset ignored)."""
    bare = media_type.split(";", 1)[0].strip().lower()
    for adapter in _all().values():
        if adapter.media_type == bare:
            return adapter
    raise UnknownSchema(f"no adapter for media type {bare!r}")


def schema_names() -> list[str]:
    return sorted(_all())
