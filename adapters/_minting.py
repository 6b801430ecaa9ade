"""What every adapter's `mint_reference` derives its number from, so minting for the same
origin notice twice gives the same identifier on every side."""

from __future__ import annotations

import hashlib

from schemas.canonical import Notice


def reference_digest(notice: Notice) -> int:
    """SHA-256 of the notice's sorted ``system:id`` references joined by newlines."""
    lines = sorted(f"{r.system}:{r.id}" for r in notice.references)
    return int(hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(), 16)
