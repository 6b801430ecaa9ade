"""Console sessions: an opaque random id in a cookie, everything else kept server-side.

The cookie holds 256 random bits and nothing else; the store keys sessions by the id's
SHA-256, so a memory dump does not hand out live cookies. Sessions live in this process's
memory: a restart (or another worker behind the load balancer) logs everyone out, which
the operators' guide states (docs/console.md). A session ends after ``idle`` without a
request, after ``lifetime`` in any case, at logout, or as soon as its operator's token is
no longer in the configuration (checked on every request against the configuration in
force, so revoking a token in operators.toml and reloading ends its sessions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gateway.operators import Operator

__all__ = ["Session", "SessionStore"]

IDLE = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=12)
MAX_SESSIONS = 10_000


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    key: str  # SHA-256 of the cookie's id (hex): the id itself is not kept
    operator: str
    token_sha256: str  # which token logged in: the session ends when it is removed
    csrf_token: str  # per-session, echoed by every state-changing form
    created_at: dt.datetime
    last_seen: dt.datetime

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(self.csrf_token, sent)


class SessionStore:
    """In-memory sessions with idle and absolute expiry; at most ``limit`` at once (the
    oldest is dropped first)."""

    def __init__(
        self,
        *,
        idle: dt.timedelta = IDLE,
        lifetime: dt.timedelta = LIFETIME,
        limit: int = MAX_SESSIONS,
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.limit = limit
        self._sessions: dict[str, Session] = {}  # insertion order = creation order
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, operator: Operator, now: dt.datetime) -> tuple[str, Session]:
        """A new session for ``operator``: returns (cookie value, session)."""
        session_id = secrets.token_urlsafe(32)
        session = Session(
            key=_digest(session_id),
            operator=operator.name,
            token_sha256=operator.token_sha256,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
        )
        with self._lock:
            self._purge(now)
            while len(self._sessions) >= self.limit:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session.key] = session
        return session_id, session

    def resolve(
        self, session_id: str | None, now: dt.datetime, operators: Iterable[Operator]
    ) -> tuple[Session, Operator] | None:
        """The live session a cookie names and its operator as configured now; touches it."""
        if not session_id or len(session_id) > 100:
            return None
        key = _digest(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[key]
                return None
            operator = next(
                (
                    op
                    for op in operators
                    if op.name == session.operator
                    and hmac.compare_digest(op.token_sha256, session.token_sha256)
                ),
                None,
            )
            if operator is None:  # token removed or operator renamed: the session ends
                del self._sessions[key]
                return None
            session = replace(session, last_seen=now)
            self._sessions[key] = session
        return session, operator

    def drop(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            return self._sessions.pop(_digest(session_id), None)

    def _expired(self, session: Session, now: dt.datetime) -> bool:
        return now - session.last_seen > self.idle or now - session.created_at > self.lifetime

    def _purge(self, now: dt.datetime) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]
