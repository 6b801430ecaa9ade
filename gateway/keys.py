"""Participant verification keys as the gateway knows them (config.md, signatures.md §Keys)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NewType

KeyID = NewType("KeyID", str)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One Ed25519 public key of one participant."""

    keyid: KeyID
    participant: str
    public_key: bytes  # raw 32-byte Ed25519 public key
    not_before: dt.datetime | None = None  # timezone-aware UTC
    not_after: dt.datetime | None = None
    revoked: bool = False
