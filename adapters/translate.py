"""Translating one canonical message for another side: the gateway's path, as pure functions.

spec/schemas.md, "Translation between the two": a notice goes to the target schema through the
canonical model; what the target cannot carry exactly is the loss report, what it may not
carry at all is a `TranslationRefused`. Before encoding, the notice must carry the target
side's own identifier: a known one (the gateway's stored mapping) or one minted
deterministically by that side's adapter (`with_references`). The gateway's ingress, the
``gateway translate`` command, the round-trip properties and the benchmark all go through
the functions below, so what they show is what the gateway delivers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from adapters._registry import Encoded, adapter_for_schema, schema_names
from schemas.canonical import CanonicalMessage, Notice, Reference

__all__ = ["outbound_message", "translate", "with_references"]


def with_references(notice: Notice, known: Mapping[str, str], schemas: Iterable[str]) -> Notice:
    """The notice carrying every side's identifier: known ones, else freshly minted.

    ``known`` maps a reference system (``GCCPOL``) to the identifier the gateway already
    holds for this notice; it wins over what the message states. Every schema in
    ``schemas`` whose reference system is still missing gets one from its adapter's
    `mint_reference`, computed from the references known before any minting (so the
    order of ``schemas`` does not matter). References are sorted by system.
    Raises TranslationRefused when an identifier cannot be minted (no country, a date
    outside the Hijri table).
    """
    refs: dict[str, Reference] = {
        system: Reference(system=system, id=ref) for system, ref in known.items()
    }
    for ref in notice.references:
        refs.setdefault(ref.system, ref)
    merged = _sorted_references(refs)
    draft: Notice | None = None  # what minting reads; made when something is minted
    for schema in sorted(set(schemas)):
        adapter = adapter_for_schema(schema)
        if adapter.reference_system not in refs:
            if draft is None:
                draft = _with(notice, merged)
            system = adapter.reference_system
            refs[system] = Reference(system=system, id=adapter.mint_reference(draft))
    if len(refs) != len(merged):
        merged = _sorted_references(refs)
    return _with(notice, merged)


def _with(notice: Notice, references: tuple[Reference, ...]) -> Notice:
    """``notice`` with ``references``; itself when they are already its own (frozen)."""
    if references == notice.references:
        return notice
    return notice.model_copy(update={"references": references})


def _sorted_references(refs: Mapping[str, Reference]) -> tuple[Reference, ...]:
    return tuple(refs[system] for system in sorted(refs))


def outbound_message(
    message: CanonicalMessage,
    notice: Notice,
    *,
    message_id: str,
    sender: str,
    sent_at: dt.datetime,
) -> CanonicalMessage:
    """The message the gateway sends on: its own id, sender and time, the origin's notice
    (with references) and kind. The origin's provenance is not copied: delivery attaches
    the gateway's own (gateway.delivery)."""
    return CanonicalMessage(
        message_id=message_id,
        kind=message.kind,
        sent_at=sent_at,
        sender=sender,
        source_schema=message.source_schema,
        notice=notice,
    )


def translate(
    message: CanonicalMessage,
    target_schema: str,
    *,
    known_references: Mapping[str, str] | None = None,
    schemas: Iterable[str] | None = None,
    message_id: str | None = None,
    sender: str | None = None,
    sent_at: dt.datetime | None = None,
) -> Encoded:
    """``message`` in ``target_schema``'s wire form, with its loss report.

    References are completed as the gateway does (`with_references`) for ``schemas``
    (default: every registered schema, which is what a gateway configured with
    participants on every side mints). ``message_id``, ``sender`` and ``sent_at`` default to
    the message's own. Raises UnknownSchema for a schema with no adapter and
    TranslationRefused when the target may not carry the notice.
    """
    target = adapter_for_schema(target_schema)
    notice = with_references(
        message.notice,
        known_references or {},
        schema_names() if schemas is None else schemas,
    )
    outbound = outbound_message(
        message,
        notice,
        message_id=message.message_id if message_id is None else message_id,
        sender=message.sender if sender is None else sender,
        sent_at=message.sent_at if sent_at is None else sent_at,
    )
    return target.encode(outbound)
