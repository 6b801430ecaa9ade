"""The figures of the performance budget (issue "Benchmarks"), as every benchmark reports them.

A benchmark that measures a budgeted figure builds `Figure`s and calls `write(path, figures)`
when it is given `--json PATH`; `bench.run` collects them into one table, `bench/results/`
and `docs/performance.md`. A figure always carries its baseline *from the same run*, the
ratio the target is stated on, and the target itself, so the table can say whether it is met.
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Op = Literal[">=", "<="]


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # stable id, e.g. "http.rate"; the table is ordered by ORDER below
    label: str  # what was measured, e.g. "end-to-end msg/s through HTTP"
    value: float
    unit: str  # of value and baseline, e.g. "msg/s", "µs", "MiB"
    baseline_label: str  # what the baseline is, e.g. "bare endpoint, same server"
    baseline: float
    ratio: float  # the quantity the target is stated on (usually value / baseline)
    op: Op
    target: float
    detail: str = ""  # anything else worth one line: p50s, runs, sizes
    samples: list[float] = field(default_factory=list)  # the per-run values behind `value`

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.op == ">=" else self.ratio <= self.target


# The order of the table; figures with other keys follow, sorted.
ORDER = (
    "http.rate",
    "http.p99",
    "pipeline.interpol",
    "pipeline.gccpol",
    "delivery.rate",
    "storage.append",
    "storage.append64",
    "audit.proof",
    "audit.verify",
    "memory.peak",
)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def write(path: Path | None, figures: Sequence[Figure]) -> None:
    """Write the figures as JSON to `path` (nothing when None)."""
    if path is None:
        return
    path.write_text(json.dumps([asdict(f) for f in figures], indent=2, ensure_ascii=False))


def read(path: Path) -> list[Figure]:
    return [Figure(**raw) for raw in json.loads(path.read_text())]


def sort_key(f: Figure) -> tuple[int, str]:
    return (ORDER.index(f.key) if f.key in ORDER else len(ORDER), f.key)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    import os

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "system": platform.system(),
    }


def fmt(x: float) -> str:
    """A figure for a table: 3 significant digits, thousands separated."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"
