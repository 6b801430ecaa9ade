"""The PostgreSQL the tests use: GATEWAY_TEST_POSTGRES_URL, one fresh schema per test.

Without the variable a test that needs PostgreSQL skips with the reason, unless
GATEWAY_TEST_REQUIRE_ALL=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import quote

import psycopg
import pytest

__all__ = ["base_url", "fresh_schema", "fresh_schema_sync", "schema_url"]


def base_url() -> str:
    """The server's URL, or skip (fail under GATEWAY_TEST_REQUIRE_ALL=1)."""
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "")
    if not url:
        reason = "PostgreSQL tests need GATEWAY_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        if os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"{reason}; GATEWAY_TEST_REQUIRE_ALL=1 forbids skipping")
        pytest.skip(reason)
    return url


def schema_url(url: str, schema: str) -> str:
    """``url`` with every table in ``schema`` (libpq ``options=-csearch_path=…``)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema_sync(prefix: str = "gwtest") -> Iterator[str]:
    """Create a schema of its own, yield a URL that uses it, drop it afterwards."""
    url = base_url()
    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@asynccontextmanager
async def fresh_schema(prefix: str = "gwtest") -> AsyncIterator[str]:
    url = base_url()
    schema = f"{prefix}_{secrets.token_hex(6)}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(url, schema)
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
