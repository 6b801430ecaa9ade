"""`make bench` / `make bench-quick`: run every benchmark, each in its own process, and print
its figures (each benchmark prints its own baseline from the same run and the ratio).

    python -m bench.run [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> (full arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "translate": ([], ["--quick"]),
    "signatures": ([], ["--quick"]),
    "pipeline": ([], ["--messages", "300", "--runs", "2"]),
    "http": ([], ["--requests", "800", "--runs", "2"]),
    "storage": ([], ["--quick"]),
    "delivery": ([], ["--quick"]),
    "merkle": (["--big"], ["--quick"]),
    "audit": (["--entries", "1000000"], ["--entries", "20000"]),
    "replay": (["--count", "10000"], ["--count", "300"]),
    "console": (["--events", "1000000"], ["--events", "20000"]),
    "postgres": ([], ["--requests", "500", "--runs", "1"]),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    failed: list[str] = []
    for name, (full, quick) in BENCHES.items():
        if args.only and name not in args.only:
            continue
        if name == "postgres" and "GATEWAY_TEST_POSTGRES_URL" not in os.environ:
            print(f"== {name}: skipped (set GATEWAY_TEST_POSTGRES_URL to run it)")
            continue
        cmd = [sys.executable, "-m", f"bench.bench_{name}", *(quick if args.quick else full)]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=REPO, env=env, check=False)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
