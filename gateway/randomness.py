"""Random identifiers and nonces from the OS's CSPRNG, read a few KiB at a time.

`os.urandom` releases the GIL around its `getrandom` call; taking it back makes the event
loop wait while the storage writer thread runs Python (the "convoy" seen in
docs/performance.md: ~10 % of the main thread's wall time went to three such calls per
message). The bytes are the same `os.urandom` bytes, drawn ahead: 4 KiB serve 256
identifiers. A forked child drops what its parent drew (`os.register_at_fork`), so two
processes never hand out the same bytes.

For identifiers and nonces only (unique, unpredictable to a sender): secrets that guard
access (operator tokens, console sessions, keys) keep using `secrets` / `os.urandom`
directly, so no future secret ever sits in this buffer.
"""

from __future__ import annotations

import base64
import os
import threading
import uuid

__all__ = ["random_bytes", "random_nonce", "random_uuid"]

_CHUNK = 4096


class _Pool:
    __slots__ = ("_buffer", "_lock", "_offset")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, n: int) -> bytes:
        if n > _CHUNK // 4:
            return os.urandom(n)
        with self._lock:
            start = self._offset
            if start + n > len(self._buffer):
                self._buffer, start = os.urandom(_CHUNK), 0
            self._offset = start + n
            return self._buffer[start : start + n]

    def forget(self) -> None:
        # After fork: the child must not reuse bytes the parent may also hand out. A new
        # lock too, in case the fork happened while another thread held it.
        self._lock = threading.Lock()
        self._buffer, self._offset = b"", 0


_POOL = _Pool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from `os.urandom` (drawn ahead for small ``n``)."""
    return _POOL.take(n)


def random_uuid() -> uuid.UUID:
    """A version-4 UUID, as `uuid.uuid4()` makes it (122 random bits)."""
    return uuid.UUID(bytes=_POOL.take(16), version=4)


def random_nonce(nbytes: int = 16) -> str:
    """URL-safe base64 of ``nbytes`` random bytes, no padding (`secrets.token_urlsafe`)."""
    return base64.urlsafe_b64encode(_POOL.take(nbytes)).rstrip(b"=").decode("ascii")
