"""Storage fixtures shared by every backend's tests (builders: tests/storage_builders.py).

`site` is parametrised by backend: the SQLite backend on a real file in tmp_path, and the
PostgreSQL backend (marked `postgres`) in a schema of its own, created for the test and
dropped after it, in the database GATEWAY_TEST_POSTGRES_URL names (tests.pg). Every test
written against `storage` / `site` runs on both.

Use from a test module:

    pytest_plugins = ["tests.storage_fixtures"]

(imported as a plugin, not with `from … import`, so pytest registers it once.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.storage import Storage, open_storage
from tests import pg

__all__ = ["StorageSite", "anyio_backend", "site", "storage"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class StorageSite:
    """Where a test's database lives; `open()` may be called again to reopen it."""

    backend: str
    url: str
    path: Path | None = None
    opened: list[Storage] = field(default_factory=list)

    async def open(self) -> Storage:
        storage = open_storage(self.url)
        await storage.open()
        self.opened.append(storage)
        return storage


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageSite]:
    backend: str = request.param
    if backend == "postgres":
        async with pg.fresh_schema() as url:
            place = StorageSite(backend=backend, url=url)
            yield place
            for storage in place.opened:
                await storage.close()
        return
    path = tmp_path / "db" / "gateway.db"
    place = StorageSite(backend=backend, url=f"sqlite:///{path}", path=path)
    yield place
    for storage in place.opened:
        await storage.close()


@pytest.fixture
async def storage(site: StorageSite) -> Storage:
    return await site.open()
