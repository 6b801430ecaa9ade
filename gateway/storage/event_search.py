"""The audit-event search both backends run: one query builder, one cursor rule.

``before`` (an index cursor) gives newest first; passing ``after`` — even ``None``, meaning
from the start — without ``before`` gives oldest first. ``since`` is inclusive, ``until``
exclusive. Every filter is an equality or range on an indexed ``(column, idx)`` pair, so a
page costs O(page) however long the log is.
"""

from __future__ import annotations

from typing import Final

from gateway.storage.base import EventFilter
from gateway.storage.sqlite_rows import EVENT_COLUMNS, to_us


class Unset:
    """Marks a cursor argument the caller did not pass."""


UNSET: Final = Unset()


def event_search_sql(
    flt: EventFilter,
    limit: int,
    before: int | Unset | None,
    after: int | Unset | None,
    *,
    mark: str,
) -> tuple[str, tuple[object, ...]]:
    """The SELECT and its parameters; ``mark`` is the driver's placeholder (``?`` / ``%s``)."""
    newest = not (isinstance(before, Unset) and not isinstance(after, Unset))
    clauses: list[str] = []
    params: list[object] = []
    for column, value in (
        ("message_id", flt.message_id),
        ("participant", flt.participant),
        ("kind", flt.kind),
        ("outcome", flt.outcome),
    ):
        if value is not None:
            clauses.append(f"{column} = {mark}")
            params.append(value)
    if flt.since is not None:
        clauses.append(f"at >= {mark}")
        params.append(to_us(flt.since, "since"))
    if flt.until is not None:
        clauses.append(f"at < {mark}")
        params.append(to_us(flt.until, "until"))
    if isinstance(before, int):
        clauses.append(f"idx < {mark}")
        params.append(before)
    if isinstance(after, int):
        clauses.append(f"idx > {mark}")
        params.append(after)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "DESC" if newest else "ASC"
    sql = f"SELECT {EVENT_COLUMNS} FROM events {where} ORDER BY idx {order} LIMIT {mark}"
    return sql, (*params, limit)
