"""CPU µs per operation of the INTERPOL adapter, the translation glue and routing, in process.

    .venv/bin/python -m bench.bench_interpol            # 7 runs of 2000 per case
    .venv/bin/python -m bench.bench_interpol --quick    # 5 runs of 300 per case (a few s)

What the ingress does per message on the INTERPOL side, one stage at a time:

- "decode red": `decode_with_losses` of tests/data's red notice (the same bytes every time);
- "decode red, fresh dates": the same notice with a new sent_at and birth date each time,
  so that the remembered date parses (schemas/interpol.py) only help within one message,
  as with real traffic;
- "encode gcc missing": `encode_message` of tests/data's GCC missing-person alert, decoded
  and given its references, i.e. the GCC -> INTERPOL encode;
- "encode gcc missing, 2 ids": `encode_each` for two recipients (translated once);
- "route red" / "route gcc": `facts_from_message` + `route` on the test configuration;
- "with_references red": merging references and minting the GCC one.

Figures are CPU time of this process (`time.process_time`) per operation, the median over
the runs; the cases alternate within each run so that they see the same machine load.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.interpol import decode_with_losses, encode_message
from adapters.translate import outbound_message, with_references
from bench.bench_config import bench_config
from gateway.config import load_config
from gateway.routing import facts_from_message, route

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
IDS = ("9f1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11", "af1c3a52-8d0e-4d55-9a3b-2b1f0c7e9a11")


def _cases(config_dir: Path) -> dict[str, Callable[[], object]]:
    red = (DATA / "interpol-red-publish.json").read_bytes()
    missing = GCCPOL.decode((DATA / "gccpol-missing-new.xml").read_bytes())
    schemas = {"interpol", "gccpol"}
    outbound = outbound_message(
        missing,
        with_references(missing.notice, {}, schemas),
        message_id=IDS[0],
        sender="gateway",
        sent_at=missing.sent_at,
    )
    decoded = INTERPOL.decode(red)
    config = load_config(bench_config(config_dir).directory, require_signing_key=False)
    # More distinct messages than the parse caches hold (1024), visited in turn: every
    # date and date-time is new to the caches when its message is decoded.
    stamps = (f"2026-11-20T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z" for i in range(4096))
    births = (f"{1930 + i % 80}/{1 + i // 80 % 12:02d}/{1 + i % 28:02d}" for i in range(4096))
    assert b"2026-11-20T08:15:00Z" in red and b"1980/05/13" in red
    pool = [
        red.replace(b"2026-11-20T08:15:00Z", stamp.encode()).replace(b"1980/05/13", day.encode())
        for stamp, day in zip(stamps, births, strict=True)
    ]
    bodies = itertools.cycle(pool)

    def fresh_red() -> object:
        return decode_with_losses(next(bodies))

    return {
        "decode red": lambda: decode_with_losses(red),
        "decode red, fresh dates": fresh_red,
        "encode gcc missing": lambda: encode_message(outbound),
        "encode gcc missing, 2 ids": lambda: INTERPOL.encode_each(outbound, IDS),
        "route red": lambda: route(facts_from_message(decoded), config),
        "route gcc": lambda: route(facts_from_message(missing), config),
        "with_references red": lambda: with_references(decoded.notice, {}, schemas),
    }


def measure(runs: int, n: int) -> dict[str, float]:
    """Median CPU µs per operation of each case."""
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp) / "config")
    for work in cases.values():  # warm imports, code tables, caches
        for _ in range(max(10, n // 20)):
            work()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, work in cases.items():
            start = time.process_time()
            for _ in range(n):
                work()
            samples[name].append((time.process_time() - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of 300 per case")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("-n", type=int, default=None, help="operations per run and case")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 7)
    n = args.n or (300 if args.quick else 2000)
    print(f"INTERPOL side in process, CPU µs per operation, median of {runs} runs of {n}")
    for name, micros in measure(runs, n).items():
        print(f"  {name:28s} {micros:8.1f} µs")


if __name__ == "__main__":
    main()
