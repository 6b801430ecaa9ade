"""The console's operations pages: the overview with its charts, dead letters (with retry
and redelivery for the ``operator`` role) and the state of the audit log."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.console.charts import Chart, ranking, time_series
from gateway.console.web import Console, Visit
from gateway.delivery import Requeue, redeliver, retry_dead_letter
from gateway.operators import Role
from gateway.runtime import Gateway
from gateway.storage.base import DeliveryState, EventCount

__all__ = ["routes"]

WINDOW = dt.timedelta(hours=24)
BUCKET = dt.timedelta(hours=1)
CHART_CACHE_SECONDS = 15.0  # the counts scan a day of the time index: not on every view
DEAD_PAGE = 50
CHART_KINDS = ("received", "refused", "delivered", "delivery_failed", "dead_lettered")


# ---- overview ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    since: dt.datetime
    messages: Chart
    deliveries: Chart
    refusals: Chart


def overview_charts(counts: list[EventCount], since: dt.datetime) -> Overview:
    n = WINDOW // BUCKET
    per_bucket: list[dict[str, int]] = [defaultdict(int) for _ in range(n)]
    reasons: dict[str, int] = defaultdict(int)
    for c in counts:
        if 0 <= c.bucket < n:
            per_bucket[c.bucket][c.kind] += c.count
        if c.kind == "refused":
            reasons[c.outcome] += c.count
    return Overview(
        since=since,
        messages=time_series(
            "Messages per hour",
            per_bucket,
            [("received", "accepted"), ("refused", "refused")],
            start=since,
            bucket=BUCKET,
        ),
        deliveries=time_series(
            "Deliveries per hour",
            per_bucket,
            [
                ("delivered", "delivered"),
                ("delivery_failed", "failed attempts"),
                ("dead_lettered", "dead-lettered"),
            ],
            start=since,
            bucket=BUCKET,
        ),
        refusals=ranking(
            "Refusals by reason, last 24 hours", list(reasons.items()), series="refused"
        ),
    )


async def _overview(console: Console, gw: Gateway) -> Overview:
    now = gw.clock()
    # Buckets aligned on the hour, the current hour last.
    end = now.replace(minute=0, second=0, microsecond=0) + BUCKET
    since = end - WINDOW
    key = ("overview", int(since.timestamp()))
    cached = console.chart_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < CHART_CACHE_SECONDS:
        counts: list[EventCount] = cached[1]
    else:
        counts = await gw.storage.event_counts(since, end, BUCKET, CHART_KINDS)
        console.chart_cache.clear()
        console.chart_cache[key] = (time.monotonic(), counts)
    return overview_charts(counts, since)


async def _log_state(visit: Visit) -> dict[str, Any]:
    gw = visit.gw
    checkpoint = await gw.storage.latest_checkpoint()
    now = gw.clock()
    visit.console.checker.start_if_stale(gw.storage, gw.audit_verifier_key())
    return {
        "checkpoint": checkpoint,
        "checkpoint_age": (now - checkpoint.signed_at).total_seconds() if checkpoint else None,
        "event_count": await gw.storage.event_count(),
        "integrated": await gw.storage.tree_size(),
        "check": visit.console.checker.last,
        "checking": visit.console.checker.running,
        "checked_so_far": visit.console.checker.progress,
        "now": now,
    }


async def overview(visit: Visit) -> Response:
    dead = await visit.gw.storage.list_deliveries(DeliveryState.DEAD, 101)
    return visit.render(
        "overview.html",
        charts=await _overview(visit.console, visit.gw),
        dead_count=len(dead),
        **await _log_state(visit),
    )


# ---- dead letters ------------------------------------------------------------------------


async def dead_letters(visit: Visit) -> Response:
    after = visit.request.query_params.get("after") or None
    rows = await visit.gw.storage.list_deliveries(DeliveryState.DEAD, DEAD_PAGE + 1, after=after)
    more = len(rows) > DEAD_PAGE
    rows = rows[:DEAD_PAGE]
    return visit.render(
        "dead_letters.html",
        deliveries=rows,
        next_after=rows[-1].delivery_id if more and rows else None,
        first_page=after is None,
    )


async def _apply(visit: Visit, requeue: Requeue, back: str) -> Response:
    await visit.gw.storage.commit(requeue.transaction)
    visit.gw.after_commit(delivered=True)
    notice = "requeued" if requeue.requeued else "skipped"
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}notice={notice}", 303)


def _back(visit: Visit, default: str) -> str:
    """Where a form returns to: the console page it names, else ``default``."""
    back = visit.form.get("back", "")
    return back if back.startswith("/console/") and not back.startswith("//") else default


async def retry(visit: Visit) -> Response:
    delivery_id = visit.request.path_params["delivery_id"]
    requeue = await retry_dead_letter(
        visit.gw.storage, delivery_id, visit.operator.name, visit.gw.clock
    )
    return await _apply(visit, requeue, _back(visit, "/console/dead-letters"))


async def redeliver_message(visit: Visit) -> Response:
    message_id = visit.request.path_params["message_id"]
    recipient = visit.form.get("recipient") or None
    requeue = await redeliver(
        visit.gw.storage, message_id, recipient, visit.operator.name, visit.gw.clock
    )
    return await _apply(visit, requeue, f"/console/messages/{quote(message_id, safe='')}")


# ---- the audit log -----------------------------------------------------------------------


async def log_status(visit: Visit) -> Response:
    return visit.render("log.html", **await _log_state(visit))


async def verify_now(visit: Visit) -> Response:
    started = visit.console.checker.start(
        visit.gw.storage, visit.gw.audit_verifier_key(), visit.operator.name
    )
    notice = "verify-started" if started else "verify-running"
    return RedirectResponse(f"/console/log?notice={notice}", 303)


def routes(console: Console) -> list[Route]:
    return [
        Route("/", console.page(Role.AUDITOR, overview), methods=["GET"]),
        Route("/dead-letters", console.page(Role.AUDITOR, dead_letters), methods=["GET"]),
        Route(
            "/deliveries/{delivery_id}/retry",
            console.page(Role.OPERATOR, retry, form=True),
            methods=["POST"],
        ),
        Route(
            "/messages/{message_id}/redeliver",
            console.page(Role.OPERATOR, redeliver_message, form=True),
            methods=["POST"],
        ),
        Route("/log", console.page(Role.AUDITOR, log_status), methods=["GET"]),
        Route("/log/verify", console.page(Role.AUDITOR, verify_now, form=True), methods=["POST"]),
    ]
