"""The SQLite migration runner: `schema_version` records each applied file, in order.

Files live in `gateway/storage/migrations/sqlite/` as `NNNN_name.sql`. Each is applied in
one `BEGIN IMMEDIATE … COMMIT`, and the version is re-read after the lock is taken, so two
processes opening a fresh database at once apply every file exactly once.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "apply_migrations", "bundled_migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The SQLite migrations shipped with the package, ordered by version."""
    folder = resources.files("gateway.storage.migrations.sqlite")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"storage: SQLite migrations must be numbered 1..n; found {versions}")
    return found


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
