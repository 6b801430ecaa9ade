"""The PostgreSQL migration runner: `schema_version` records each applied file, in order.

Files live in `gateway/storage/migrations/postgres/` as `NNNN_name.sql`. Every pending file
is applied in one transaction that first takes a transaction-level advisory lock (derived
from the schema), and the version is re-read under it: several workers starting at once
against a fresh database apply every file exactly once.
"""

from __future__ import annotations

import psycopg

from gateway.storage.migrations import Migration
from gateway.storage.migrations import bundled_migrations as _bundled

__all__ = ["Migration", "apply_migrations", "bundled_migrations"]


def bundled_migrations() -> list[Migration]:
    """The postgres migrations shipped with the package, ordered by version."""
    return _bundled("postgres")


async def apply_migrations(
    conn: psycopg.AsyncConnection[tuple[object, ...]],
    lock_key: int,
    migrations: list[Migration] | None = None,
) -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    ``conn`` must be in autocommit mode; ``lock_key`` is the schema's migration lock.
    """
    wanted = bundled_migrations() if migrations is None else migrations
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row is not None else 0  # type: ignore[call-overload]
        for migration in wanted:
            if migration.version <= current:
                continue
            # No parameters: sent with the simple query protocol, several statements at once.
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
            current = migration.version
    if wanted and current > wanted[-1].version:
        raise RuntimeError(
            f"storage: database schema is version {current}, newer than this gateway "
            f"knows ({wanted[-1].version}); upgrade the gateway"
        )
    return applied
