"""Benchmark translation in process: CPU µs per operation each way, beside the cost of only
parsing and validating the same bytes.

    .venv/bin/python -m bench.bench_translate            # 7 runs of 1000 per case
    .venv/bin/python -m bench.bench_translate --quick    # 5 runs of 150 per case (a few s)

Figures are CPU time of this process (`time.process_time`) per operation, the median over
the runs, so that other load on the machine changes them less than wall time would.

- "translate" is what the gateway does per message and target schema: decode the sender's
  bytes to the canonical notice, complete its references (`with_references`, minting the
  other side's identifier) and encode for the other side (`adapters.translate.translate`).
- "gccpol encode, N recipient(s)" is `encode_each` (what the ingress calls once per target
  schema) of the red notice, references already completed, for N message ids.
- Beside them, in the same run and on the same bytes: decode alone, and for XML the
  hardened parse plus XSD validation alone (no wire model, no canonical mapping).
The cases alternate within each run so that they see the same machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.translate import outbound_message, translate, with_references
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
    decoded = INTERPOL.decode(red)
    notice = with_references(decoded.notice, {}, ("gccpol", "interpol"))
    outbound = outbound_message(
        decoded,
        notice,
        message_id=str(uuid.uuid4()),
        sender="gateway",
        sent_at=decoded.sent_at,
    )
    one = [str(uuid.uuid4())]
    two = [str(uuid.uuid4()), str(uuid.uuid4())]
    return [
        Case("interpol decode", lambda: INTERPOL.decode(red)),
        Case("gccpol encode, 1 recipient", lambda: GCCPOL.encode_each(outbound, one)),
        Case("gccpol encode, 2 recipients", lambda: GCCPOL.encode_each(outbound, two)),
        Case("interpol -> gccpol translate", lambda: translate(INTERPOL.decode(red), "gccpol")),
        Case("gccpol decode", lambda: GCCPOL.decode(missing)),
        Case("gccpol parse + XSD", parse_and_xsd),
        Case("gccpol -> interpol translate", lambda: translate(GCCPOL.decode(missing), "interpol")),
    ]


def _cpu_us(work: Callable[[], object], n: int) -> float:
    """CPU µs per call of ``work`` over ``n`` calls."""
    t0 = time.process_time()
    for _ in range(n):
        work()
    return (time.process_time() - t0) / n * 1e6


def measure(runs: int, n: int) -> dict[str, list[float]]:
    """CPU µs per operation of each case, one value per run."""
    cases = _cases()
    for case in cases:  # warm caches (code tables, XSD, calendar lookups)
        _cpu_us(case.work, max(10, n // 10))
    samples: dict[str, list[float]] = {c.name: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            samples[case.name].append(_cpu_us(case.work, n))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of 150 per case")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("-n", type=int, default=None, help="operations per run and case")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 7)
    n = args.n or (150 if args.quick else 1000)
    samples = measure(runs, n)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"translation in process: CPU µs per operation, median of {runs} runs of {n} each")
    for name, us in medians.items():
        low, high = min(samples[name]), max(samples[name])
        print(f"  {name:30s} {us:8.1f} µs   ({low:.0f}-{high:.0f})  {1e6 / us:8.0f} /s per core")
    pairs = (
        ("interpol -> gccpol", "interpol -> gccpol translate", "interpol decode"),
        ("gccpol -> interpol", "gccpol -> interpol translate", "gccpol decode"),
        ("gccpol decode", "gccpol decode", "gccpol parse + XSD"),
    )
    for label, whole, part in pairs:
        print(f"  {label}: costs {medians[whole] / medians[part]:.2f}x {part} of the same bytes")
    extra = medians["gccpol encode, 2 recipients"] - medians["gccpol encode, 1 recipient"]
    print(f"  gccpol encode: a second recipient adds {extra:.1f} µs")


if __name__ == "__main__":
    main()
