"""The console's reading pages: the audit timeline, one event, one message's life."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from gateway.audit.events import EventKind
from gateway.console.event_view import EventLine, event_line
from gateway.console.notice_view import NoticeView, notice_view
from gateway.console.web import Console, Visit
from gateway.errors import BadRequest, NotFound
from gateway.message_life import BodyView, read_message_life
from gateway.operators import Role
from gateway.storage.base import Delivery, EventFilter

__all__ = ["routes"]

PAGE_SIZE = 50
FILTERS = ("message_id", "participant", "kind", "outcome", "since", "until")


# ---- the timeline ------------------------------------------------------------------------


def _time(raw: str, name: str) -> dt.datetime:
    """A filter time: RFC 3339, or a browser's datetime-local value read as UTC."""
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "console-filter-invalid",
            f"{name} must be a time such as 2026-03-01T12:00 (UTC), got {raw!r}",
            field=name,
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _cursor(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(
            "console-cursor-invalid", f"{name} must be an audit index, got {raw!r}", field=name
        )
    return int(raw)


def event_filter(query: dict[str, str]) -> EventFilter:
    kind = query.get("kind") or None
    if kind is not None and kind not in {k.value for k in EventKind}:
        raise BadRequest(
            "console-filter-invalid", f"kind {kind!r} is not an audit event kind", field="kind"
        )
    return EventFilter(
        message_id=query.get("message_id") or None,
        participant=query.get("participant") or None,
        kind=kind,
        outcome=query.get("outcome") or None,
        since=_time(query["since"], "since") if query.get("since") else None,
        until=_time(query["until"], "until") if query.get("until") else None,
    )


@dataclass(frozen=True, slots=True)
class TimelinePage:
    lines: list[EventLine]
    older: int | None  # cursor for the next page back in time
    newer: int | None  # cursor for the page forward in time


async def timeline_page(visit: Visit, flt: EventFilter, query: dict[str, str]) -> TimelinePage:
    """Keyset paging on the audit index (storage.search_events): each page costs
    O(page) however long the log, newest first."""
    before = _cursor(query.get("before"), "before")
    after = _cursor(query.get("after"), "after")
    storage = visit.gw.storage
    if after is not None:
        rows = list(reversed(await storage.search_events(flt, PAGE_SIZE + 1, after=after)))
        newer_exists = len(rows) > PAGE_SIZE
        rows = rows[-PAGE_SIZE:] if newer_exists else rows
        older_exists = True
    else:
        rows = await storage.search_events(flt, PAGE_SIZE + 1, before=before)
        older_exists = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        newer_exists = before is not None
    lines = [event_line(r) for r in rows]
    return TimelinePage(
        lines=lines,
        older=lines[-1].index if lines and older_exists else None,
        newer=lines[0].index if lines and newer_exists else None,
    )


async def timeline(visit: Visit) -> Response:
    query = {k: v.strip() for k, v in visit.request.query_params.items()}
    filters = {k: query.get(k, "") for k in FILTERS}
    kinds = [k.value for k in EventKind]
    try:
        flt = event_filter(query)
        page = await timeline_page(visit, flt, query)
    except BadRequest as exc:
        return visit.render(
            "timeline.html", 400, filters=filters, kinds=kinds, page=None, error=exc.detail
        )
    return visit.render("timeline.html", filters=filters, kinds=kinds, page=page, error=None)


async def event_page(visit: Visit) -> Response:
    raw = visit.request.path_params["index"]
    index = _cursor(raw, "index")
    assert index is not None
    rows = await visit.gw.storage.get_events(index, index + 1)
    if not rows:
        raise NotFound("event-unknown", f"the audit log has no entry {index}")
    line = event_line(rows[0])
    pretty = orjson.dumps(line.leaf, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return visit.render("event.html", line=line, leaf_json=pretty.decode("utf-8"))


# ---- one message's life ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BodyPanel:
    title: str
    body: BodyView
    view: NoticeView
    text: str | None  # the body as text for reading (JSON indented)


def _panel(body: BodyView) -> BodyPanel:
    text: str | None = None
    if body.body is not None:
        text = body.body.decode("utf-8", "replace")
        if (body.media_type or "").endswith("json"):
            with contextlib.suppress(orjson.JSONDecodeError):
                text = orjson.dumps(orjson.loads(body.body), option=orjson.OPT_INDENT_2).decode()
    role, _, recipient = body.role.partition(":")
    title = "Original" if role == "original" else f"Translation for {recipient}"
    return BodyPanel(title, body, notice_view(body.body, body.media_type), text)


def _routing(events: list[EventLine]) -> list[dict[str, Any]]:
    """Who got the message and why: the signed ``routed`` event's recipients."""
    for line in events:
        if line.kind == "routed":
            found = line.leaf.get("details", {}).get("recipients", [])
            return [
                {
                    "participant": r.get("participant", "?"),
                    "outcome": r.get("outcome", "?"),
                    "reason": r.get("reason", "?"),
                    "detail": r.get("detail", ""),
                    "losses": r.get("losses"),
                }
                for r in found
                if isinstance(r, dict)
            ]
    return []


def _losses(delivery: Delivery) -> list[dict[str, Any]]:
    losses = orjson.loads(delivery.losses)
    return [x for x in losses if isinstance(x, dict)] if isinstance(losses, list) else []


async def message_page(visit: Visit) -> Response:
    message_id = visit.request.path_params["message_id"]
    life = await read_message_life(
        visit.gw.storage,
        visit.gw.clock,
        message_id,
        viewer=visit.operator.name,
        endpoint="GET /console/messages/{message_id}",
    )
    lines = [event_line(e) for e in life.events]
    deliveries = [
        {
            "d": d,
            "losses": _losses(d),
            "attempts": [
                {
                    "a": a,
                    "answer": a.answer.decode("utf-8", "replace") if a.answer else None,
                }
                for a in life.attempts[d.delivery_id]
            ],
        }
        for d in life.deliveries
    ]
    outcomes = [orjson.loads(m.outcome) for m in life.messages]
    return visit.render(
        "message.html",
        message_id=message_id,
        life=life,
        outcomes=outcomes,
        panels=[_panel(b) for b in life.bodies],
        routing=_routing(lines),
        deliveries=deliveries,
        events=lines,
    )


def routes(console: Console) -> list[Route]:
    return [
        Route("/timeline", console.page(Role.AUDITOR, timeline), methods=["GET"]),
        Route("/events/{index}", console.page(Role.AUDITOR, event_page), methods=["GET"]),
        Route("/messages/{message_id}", console.page(Role.AUDITOR, message_page), methods=["GET"]),
    ]
