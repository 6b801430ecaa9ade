"""The SQLite migration runner: `schema_version` records each applied file, in order.

Files live in `gateway/storage/migrations/sqlite/` as `NNNN_name.sql`. Each is applied in
one `BEGIN IMMEDIATE … COMMIT`, and the version is re-read after the lock is taken, so two
processes opening a fresh database at once apply every file exactly once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from gateway.storage.migrations import Migration
from gateway.storage.migrations import bundled_migrations as _bundled

__all__ = ["Migration", "apply_migrations", "bundled_migrations"]


def bundled_migrations() -> list[Migration]:
    """The sqlite migrations shipped with the package, ordered by version."""
    return _bundled("sqlite")


def _statements(sql: str) -> list[str]:
    # executescript() would COMMIT on its own; split so each file runs inside our transaction.
    out: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                out.append(pending)
            pending = ""
    if pending.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()
    ):
        raise ValueError(f"storage: unterminated SQL statement in migration: {pending[:80]!r}")
    return out


def _current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def apply_migrations(
    conn: sqlite3.Connection, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    wanted = bundled_migrations() if migrations is None else migrations
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied: list[int] = []
    for migration in wanted:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _current_version(conn) >= migration.version:
                conn.execute("COMMIT")
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, dt.datetime.now(dt.UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    newest = _current_version(conn)
    if wanted and newest > wanted[-1].version:
        raise RuntimeError(
            f"storage: database schema is version {newest}, newer than this gateway "
            f"knows ({wanted[-1].version}); upgrade the gateway"
        )
    return applied
