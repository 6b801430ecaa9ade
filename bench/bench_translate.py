"""Benchmark translation in process: notices per second each way, beside the cost of only
parsing and validating the same bytes.

    PYTHONPATH=. .venv/bin/python bench/bench_translate.py            # 7 runs of 2000
    PYTHONPATH=. .venv/bin/python bench/bench_translate.py --quick    # 3 runs of 300

"translate" is what the gateway does per message and target schema: decode the sender's
bytes to the canonical notice, complete its references (`with_references`, minting the
other side's identifier) and encode for the other side (`adapters.translate.translate`).
Beside it, in the same run and on the same bytes: decode alone, and for XML the hardened
parse plus XSD validation alone (no wire model, no canonical mapping). Each figure is the
median over the runs; the ratio is translate cost / decode cost.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.translate import translate
from adapters.xml_parser import parse_untrusted_xml
from schemas import gccpol as wire

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    work: Callable[[], object]


def _cases() -> list[Case]:
    red = (DATA / "interpol-red-publish.json").read_bytes()
    missing = (DATA / "gccpol-missing-new.xml").read_bytes()
    xsd = wire.alert_xsd()

    def parse_and_xsd() -> bool:
        return bool(xsd.validate(parse_untrusted_xml(missing).getroot()))

    assert parse_and_xsd(), "the GCC sample must pass the XSD"
    return [
        Case("interpol -> gccpol  translate", lambda: translate(INTERPOL.decode(red), "gccpol")),
        Case("interpol            decode", lambda: INTERPOL.decode(red)),
        Case(
            "gccpol -> interpol  translate", lambda: translate(GCCPOL.decode(missing), "interpol")
        ),
        Case("gccpol              decode", lambda: GCCPOL.decode(missing)),
        Case("gccpol              parse + XSD", parse_and_xsd),
    ]


def _rate(work: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        work()
    return n / (time.perf_counter() - t0)


def measure(runs: int, n: int) -> dict[str, float]:
    """Median notices per second of each case; the cases alternate within each run so
    that they see the same machine load."""
    cases = _cases()
    for case in cases:  # warm caches (code tables, XSD, calendar lookups)
        _rate(case.work, max(10, n // 20))
    rates: dict[str, list[float]] = {c.name: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            rates[case.name].append(_rate(case.work, n))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of 300 messages")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("-n", type=int, default=None, help="messages per run and case")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    n = args.n or (300 if args.quick else 2000)
    medians = measure(runs, n)
    print(f"translation in process, median of {runs} runs of {n} messages each")
    for name, rate in medians.items():
        print(f"  {name:32s} {rate:9.0f} /s  {1e6 / rate:8.1f} µs")
    pairs = (
        ("interpol -> gccpol", "interpol -> gccpol  translate", "interpol            decode"),
        ("gccpol -> interpol", "gccpol -> interpol  translate", "gccpol              decode"),
        ("gccpol -> interpol", "gccpol -> interpol  translate", "gccpol              parse + XSD"),
    )
    for label, whole, part in pairs:
        what = part.split(maxsplit=1)[1].strip()
        ratio = medians[part] / medians[whole]
        print(f"  {label}: translate costs {ratio:.2f}x {what} of the same bytes")


if __name__ == "__main__":
    main()
