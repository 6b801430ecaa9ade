"""Schema migrations, one folder per backend; files are applied in order of their number.

Each backend's runner (`sqlite_migrations`, `postgres_migrations`) applies the files that
`bundled_migrations(backend)` finds here, recording each in a `schema_version` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "bundled_migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(backend: str) -> list[Migration]:
    """The migrations shipped for ``backend`` (``sqlite`` | ``postgres``), ordered by version."""
    folder = resources.files(f"gateway.storage.migrations.{backend}")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"storage: {backend} migrations must be numbered 1..n; found {versions}")
    return found
