"""Server-rendered charts: the geometry of simple bar charts, computed here (pure), drawn
as inline SVG by the templates (no JavaScript, no chart library; colours come from the
stylesheet by series class, so the CSP needs no inline styles).

Each chart also carries its numbers as rows, which the page offers as a table: the chart
is a picture of a table, not the only way to read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "ranking", "time_series"]

WIDTH = 640
HEIGHT = 200
MARGIN_LEFT = 44
MARGIN_BOTTOM = 24
MARGIN_TOP = 10


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # CSS class suffix and legend key
    title: str  # tooltip and accessible text: "12:00–13:00 UTC: 5 delivered"


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x (labels under the axis) or y (gridlines)
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    description: str  # one sentence a screen reader reads for the whole picture
    width: int
    height: int
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (series, name)
    columns: tuple[str, ...]  # the table's header
    rows: tuple[tuple[str, ...], ...]  # the table's rows
    plot_left: float
    plot_bottom: float
    horizontal: bool = False

    @property
    def empty(self) -> bool:
        return not any(b.height > 0 or b.width > 0 for b in self.bars)


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _y_ticks(top: int, plot_top: float, plot_bottom: float) -> tuple[Tick, ...]:
    span = plot_bottom - plot_top
    return tuple(
        Tick(plot_bottom - span * f, str(round(top * f)) if top * f == int(top * f) else "")
        for f in (0.0, 0.5, 1.0)
    )


def time_series(
    title: str,
    counts: Sequence[Mapping[str, int]],  # one mapping per bucket: series -> count
    series: Sequence[tuple[str, str]],  # (series key, name) in drawing order
    *,
    start: dt.datetime,
    bucket: dt.timedelta,
    label_every: int = 4,
) -> Chart:
    """Grouped bars: one group per time bucket, one bar per series."""
    plot_left, plot_bottom = float(MARGIN_LEFT), float(HEIGHT - MARGIN_BOTTOM)
    plot_width = WIDTH - MARGIN_LEFT - 8
    top = _nice_max(max((c.get(k, 0) for c in counts for k, _ in series), default=0))
    group = plot_width / max(len(counts), 1)
    bar_w = max(group * 0.8 / max(len(series), 1), 1.0)
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    rows: list[tuple[str, ...]] = []
    names = dict(series)
    for i, bucket_counts in enumerate(counts):
        begin = start + bucket * i
        span = f"{begin:%H:%M}–{begin + bucket:%H:%M} UTC"
        for j, (key, _) in enumerate(series):
            n = bucket_counts.get(key, 0)
            h = (plot_bottom - MARGIN_TOP) * n / top
            bars.append(
                Bar(
                    x=plot_left + group * i + group * 0.1 + bar_w * j,
                    y=plot_bottom - h,
                    width=bar_w,
                    height=h,
                    series=key,
                    title=f"{span}: {n} {names[key]}",
                )
            )
        if i % label_every == 0:
            x_ticks.append(Tick(plot_left + group * i + group / 2, f"{begin:%H:%M}"))
        rows.append((span, *(str(bucket_counts.get(k, 0)) for k, _ in series)))
    totals = ", ".join(f"{sum(c.get(k, 0) for c in counts)} {name}" for k, name in series)
    return Chart(
        title=title,
        description=f"{title}: {totals} from {start:%Y-%m-%d %H:%M} UTC, "
        f"in {len(counts)} buckets of {int(bucket.total_seconds() // 60)} minutes",
        width=WIDTH,
        height=HEIGHT,
        bars=tuple(bars),
        x_ticks=tuple(x_ticks),
        y_ticks=_y_ticks(top, MARGIN_TOP, plot_bottom),
        legend=tuple(series),
        columns=("time", *(name for _, name in series)),
        rows=tuple(rows),
        plot_left=plot_left,
        plot_bottom=plot_bottom,
    )


def ranking(title: str, items: Sequence[tuple[str, int]], *, series: str, limit: int = 10) -> Chart:
    """Horizontal bars, largest first: e.g. refusals by reason."""
    ordered = sorted(items, key=lambda item: (-item[1], item[0]))[:limit]
    row_h = 22.0
    label_w = 230.0
    height = int(MARGIN_TOP * 2 + row_h * max(len(ordered), 1))
    top = _nice_max(max((n for _, n in ordered), default=0))
    plot_width = WIDTH - label_w - 60
    bars = tuple(
        Bar(
            x=label_w,
            y=MARGIN_TOP + row_h * i + 3,
            width=plot_width * n / top,
            height=row_h - 6,
            series=series,
            title=f"{label}: {n}",
        )
        for i, (label, n) in enumerate(ordered)
    )
    ticks = tuple(
        Tick(MARGIN_TOP + row_h * i + row_h / 2, label) for i, (label, _) in enumerate(ordered)
    )
    total = sum(n for _, n in items)
    return Chart(
        title=title,
        description=f"{title}: {total} in all, {len(items)} distinct",
        width=WIDTH,
        height=height,
        bars=bars,
        x_ticks=(),
        y_ticks=ticks,
        legend=((series, "count"),),
        columns=("reason", "count"),
        rows=tuple((label, str(n)) for label, n in ordered),
        plot_left=label_w,
        plot_bottom=float(height - MARGIN_TOP),
        horizontal=True,
    )
