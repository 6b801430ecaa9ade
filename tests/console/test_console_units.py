"""The console's pure parts: sessions, charts, Arabic/bidi rendering, both calendars,
event summaries, and the storage query behind the charts (on every backend)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.console.charts import ranking, time_series
from gateway.console.notice_view import bidi_markup, dates, notice_view
from gateway.console.operations import overview_charts
from gateway.console.sessions import SessionStore
from gateway.operators import Operator, Role, token_digest
from gateway.storage import EventRow, Storage, Transaction
from schemas.canonical import PartialDate
from tests.messages import GCCPOL, gcc_missing

pytest_plugins = ["tests.storage_fixtures"]

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ALICE = Operator("alice", Role.OPERATOR, token_digest("alice-token"))
BOB = Operator("bob", Role.AUDITOR, token_digest("bob-token"))


# ---- sessions ----------------------------------------------------------------------------


def test_a_session_is_found_by_its_cookie_and_names_its_operator() -> None:
    store = SessionStore()
    cookie, session = store.create(ALICE, T0)
    assert len(cookie) >= 43 and cookie not in session.key  # only the digest is kept
    found = store.resolve(cookie, T0 + dt.timedelta(minutes=5), [BOB, ALICE])
    assert found is not None and found[1] == ALICE
    assert store.resolve("forged", T0, [ALICE]) is None
    assert session.csrf_matches(session.csrf_token) and not session.csrf_matches("x")
    assert not session.csrf_matches(None)


def test_sessions_expire_when_idle_and_after_their_lifetime() -> None:
    store = SessionStore(idle=dt.timedelta(minutes=30), lifetime=dt.timedelta(hours=2))
    cookie, _ = store.create(ALICE, T0)
    assert store.resolve(cookie, T0 + dt.timedelta(minutes=31), [ALICE]) is None
    cookie, _ = store.create(ALICE, T0)
    at = T0
    for _ in range(4):  # active every 25 minutes: idle never reached
        at += dt.timedelta(minutes=25)
        assert store.resolve(cookie, at, [ALICE]) is not None
    assert store.resolve(cookie, T0 + dt.timedelta(hours=2, minutes=1), [ALICE]) is None


def test_a_session_ends_when_its_token_leaves_the_configuration() -> None:
    store = SessionStore()
    cookie, _ = store.create(ALICE, T0)
    rotated = Operator("alice", Role.OPERATOR, token_digest("new-token"))
    assert store.resolve(cookie, T0, [rotated]) is None
    assert store.resolve(cookie, T0, [ALICE]) is None  # gone for good


def test_a_role_change_takes_effect_at_once() -> None:
    store = SessionStore()
    cookie, _ = store.create(ALICE, T0)
    demoted = Operator("alice", Role.AUDITOR, ALICE.token_sha256)
    found = store.resolve(cookie, T0, [demoted])
    assert found is not None and found[1].role is Role.AUDITOR


def test_the_store_is_bounded_and_drops_the_oldest() -> None:
    store = SessionStore(limit=3)
    cookies = [store.create(ALICE, T0)[0] for _ in range(4)]
    assert len(store) == 3
    assert store.resolve(cookies[0], T0, [ALICE]) is None
    assert store.resolve(cookies[3], T0, [ALICE]) is not None


# ---- charts ------------------------------------------------------------------------------


def test_time_series_bars_are_proportional_and_carry_their_numbers() -> None:
    counts = [{"a": 2, "b": 0}, {"a": 4, "b": 1}, {}]
    chart = time_series(
        "T", counts, [("a", "alpha"), ("b", "beta")], start=T0, bucket=dt.timedelta(hours=1)
    )
    a_bars = [b for b in chart.bars if b.series == "a"]
    assert len(chart.bars) == 6
    assert a_bars[1].height == pytest.approx(2 * a_bars[0].height)
    assert a_bars[0].y + a_bars[0].height == pytest.approx(chart.plot_bottom)
    assert a_bars[1].title == "13:00–14:00 UTC: 4 alpha"
    assert chart.rows[1] == ("13:00–14:00 UTC", "4", "1")
    assert "6 alpha, 1 beta" in chart.description
    assert [t.text for t in chart.y_ticks] == ["0", "", "5"]  # 4 rounds up to 5


def test_ranking_orders_by_count_and_an_empty_chart_says_so() -> None:
    chart = ranking("R", [("b", 1), ("a", 3), ("c", 3)], series="refused")
    assert [r[0] for r in chart.rows] == ["a", "c", "b"]
    assert chart.bars[0].width == pytest.approx(chart.bars[1].width)
    assert chart.bars[2].width < chart.bars[0].width
    assert ranking("R", [], series="refused").empty


def test_overview_buckets_refusals_by_reason() -> None:
    from gateway.storage.base import EventCount

    counts = [
        EventCount(23, "received", "accepted", 3),
        EventCount(23, "refused", "signature-missing", 2),
        EventCount(22, "refused", "schema-violation", 1),
        EventCount(5, "delivered", "verified", 7),
    ]
    view = overview_charts(counts, T0)
    assert view.messages.rows[23][1:] == ("3", "2")
    assert view.deliveries.rows[5][1] == "7"
    assert dict(view.refusals.rows) == {"signature-missing": "2", "schema-violation": "1"}


# ---- Arabic, both calendars, notices -----------------------------------------------------


def test_bidi_markup_escapes_everything_and_marks_arabic_runs() -> None:
    out = str(bidi_markup('<Name lang="ar">مريم خالد</Name> & <script>x</script>'))
    assert '<span lang="ar" dir="rtl">مريم خالد</span>' in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&lt;Name lang=&#34;ar&#34;&gt;" in out and "&amp;" in out
    assert str(bidi_markup("no arabic")) == "no arabic"


def test_dates_are_shown_in_both_calendars() -> None:
    day = dates(PartialDate(year=1991, month=3, day=4))
    assert [v.text for v in day] == ["1991-03-04", "1411-08-18 AH"]
    month = dates(PartialDate(year=1991, month=3))
    assert month[0].text == "1991-03" and month[1].text == "1411-08-15 – 1411-09-15 AH"
    outside = dates(PartialDate(year=1900))
    assert outside[1].text == "—" and "outside" in (outside[1].note or "")


def test_notice_view_reads_a_gcc_alert_with_arabic_fields() -> None:
    view = notice_view(gcc_missing(), GCCPOL)
    assert view.error is None and view.schema == "gccpol"
    names = {f.label: f.values for f in view.fields}["Names"]
    arabic = [v for v in names if v.rtl]
    assert arabic and arabic[0].lang == "ar" and arabic[0].text.startswith("مريم")
    assert notice_view(b"<broken", GCCPOL).error is not None
    assert "erased" in (notice_view(None, None).error or "")


# ---- the storage query behind the charts -------------------------------------------------


def _row(kind: EventKind, at: dt.datetime, outcome: str) -> EventRow:
    ev = AuditEvent(kind=kind, at=at, actor={"type": "gateway", "id": "gw"}, outcome=outcome)
    return EventRow(leaf=leaf_bytes(ev), kind=kind.value, at=at, outcome=outcome)


@pytest.mark.anyio
async def test_event_counts_buckets_by_time_kind_and_outcome(storage: Storage) -> None:
    rows = [
        _row(EventKind.REFUSED, T0 + dt.timedelta(minutes=5), "signature-missing"),
        _row(EventKind.REFUSED, T0 + dt.timedelta(minutes=50), "signature-missing"),
        _row(EventKind.REFUSED, T0 + dt.timedelta(minutes=70), "schema-violation"),
        _row(EventKind.RECEIVED, T0 + dt.timedelta(minutes=70), "accepted"),
        _row(EventKind.CONFIG_LOADED, T0 + dt.timedelta(minutes=70), "loaded"),  # not asked
        _row(EventKind.RECEIVED, T0 + dt.timedelta(hours=3), "accepted"),  # after the window
        _row(EventKind.RECEIVED, T0 - dt.timedelta(seconds=1), "accepted"),  # before it
    ]
    await storage.commit(Transaction(events=rows))
    counts = await storage.event_counts(
        T0, T0 + dt.timedelta(hours=2), dt.timedelta(hours=1), ["refused", "received"]
    )
    got = sorted((c.bucket, c.kind, c.outcome, c.count) for c in counts)
    assert got == [
        (0, "refused", "signature-missing", 2),
        (1, "received", "accepted", 1),
        (1, "refused", "schema-violation", 1),
    ]
    assert await storage.event_counts(T0, T0, dt.timedelta(hours=1), []) == []
