"""`make bench` / `make bench-quick`: run every benchmark, each in its own process, then print
the performance budget (issue "Benchmarks"): every figure, its baseline from the same run, the
ratio and whether the target is met.

    python -m bench.run [--quick] [--only NAME ...] [--no-docs]

Each benchmark prints its own figures as it goes; those with a budgeted figure also write
them as JSON (`bench/figures.py`). At the end the runner writes `bench/results/full.json`
(or `quick.json`) and, for a full run, regenerates the table and the plot in
`docs/performance.md` and `docs/performance.svg`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import figures as budget

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"
PLOT = REPO / "docs" / "performance.svg"
BEGIN, END = "<!-- bench:table:begin -->", "<!-- bench:table:end -->"

# name -> (full arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "http": ([], ["--requests", "800", "--runs", "2"]),
    "pipeline": ([], ["--messages", "300", "--runs", "2"]),
    "delivery": ([], ["--quick"]),
    "storage": ([], ["--quick"]),
    "audit": (["--entries", "1000000", "--big"], ["--entries", "100000"]),
    "memory": (["--log-messages", "1000000"], ["--quick"]),
    "translate": ([], ["--quick"]),
    "signatures": ([], ["--quick"]),
    "merkle": (["--big"], ["--quick"]),
    "replay": (["--count", "10000"], ["--count", "300"]),
    "console": (["--events", "1000000"], ["--events", "20000"]),
    "postgres": ([], ["--requests", "500", "--runs", "1"]),
}
# benchmarks that write budgeted figures (they take --json PATH)
BUDGETED = {"http", "pipeline", "delivery", "storage", "audit", "memory"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    ap.add_argument("--only", nargs="*", default=None, help="run only these benchmarks")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.*")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    failed: list[str] = []
    figures: list[budget.Figure] = []
    commands: dict[str, str] = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name, (full, quick) in BENCHES.items():
            if args.only and name not in args.only:
                continue
            if name == "postgres" and "GATEWAY_TEST_POSTGRES_URL" not in os.environ:
                print(f"== {name}: skipped (set GATEWAY_TEST_POSTGRES_URL to run it)")
                continue
            bench_args = quick if args.quick else full
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, "-m", f"bench.bench_{name}", *bench_args]
            commands[name] = "python " + " ".join(cmd[1:])
            if name in BUDGETED:
                cmd += ["--json", str(out)]
            print(f"== {name}: {commands[name]}", flush=True)
            started = time.monotonic()
            done = subprocess.run(cmd, cwd=REPO, env=env, check=False)
            print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
            if done.returncode != 0:
                failed.append(name)
            elif name in BUDGETED:
                if out.exists():
                    figures.extend(budget.read(out))
                else:
                    failed.append(f"{name} (wrote no figures)")
    elapsed = time.monotonic() - began
    figures.sort(key=budget.sort_key)
    print()
    print(render_text(figures))
    print(
        f"\n{len(figures)} figures, {sum(f.met for f in figures)} targets met, "
        f"{elapsed:.0f} s in all ({'quick' if args.quick else 'full'} mode)"
    )
    if figures:
        result = {
            "mode": "quick" if args.quick else "full",
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": _commit(),
            "machine": budget.machine(),
            "seconds": round(elapsed, 1),
            "commands": commands,
            "failed": failed,
            "figures": [asdict(f) | {"met": f.met} for f in figures],
        }
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / ("quick.json" if args.quick else "full.json")
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(REPO)}")
        if not args.quick and not args.no_docs and not args.only:
            update_doc(DOC, render_markdown(figures, result))
            PLOT.write_text(render_svg(figures))
            print(f"wrote {DOC.relative_to(REPO)} and {PLOT.relative_to(REPO)}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _target(f: budget.Figure) -> str:
    return f"{'≥' if f.op == '>=' else '≤'} {budget.fmt(f.target)}"


def rows(figures: list[budget.Figure]) -> list[list[str]]:
    out = []
    for f in figures:
        out.append(
            [
                f.label,
                f"{budget.fmt(f.value)} {f.unit}",
                f"{budget.fmt(f.baseline)} {f.unit} ({f.baseline_label})",
                budget.fmt(f.ratio),
                _target(f),
                "yes" if f.met else "NO",
            ]
        )
    return out


HEAD = ["figure", "value", "baseline (same run)", "ratio", "target", "met"]


def render_text(figures: list[budget.Figure]) -> str:
    table = [HEAD, *rows(figures)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEAD))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for f in figures:
        if f.detail:
            lines.append(f"  {f.key}: {f.detail}")
    return "\n".join(lines)


def render_markdown(figures: list[budget.Figure], result: dict[str, object]) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [
        BEGIN,
        f"Generated by `make bench` on {result['at']} at commit `{result['commit']}` "
        f"({result['seconds']} s; Python {budget.machine()['python']}, "
        f"{budget.machine()['cpus']} CPUs). Raw figures: `bench/results/full.json`.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join(["---", "---:", "---:", "---:", "---", "---"]) + "|",
    ]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows(figures)]
    lines.append("")
    lines += [f"- `{f.key}`: {esc(f.detail)}" for f in figures if f.detail]
    lines += ["", "![ratio to target of every figure](performance.svg)", END]
    return "\n".join(lines)


def update_doc(doc: Path, block: str) -> None:
    """Replace the generated block of `doc` (between the markers), or append one."""
    text = doc.read_text() if doc.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## The budget, last full run\n\n" + block + "\n"
    doc.write_text(text)


def progress(f: budget.Figure) -> float:
    """How far the figure is toward its target: 1.0 is exactly met, above is better."""
    if f.ratio <= 0:
        return 0.0
    return f.ratio / f.target if f.op == ">=" else f.target / f.ratio


def render_svg(figures: list[budget.Figure]) -> str:
    """A horizontal bar per figure: its ratio as a share of its target, on a log scale
    from 1/100 to 10x, with the target line at 1."""
    import math

    left, width, bar, gap = 300, 420, 18, 8
    height = 40 + len(figures) * (bar + gap) + 30
    lo, hi = math.log10(0.01), math.log10(10)

    def x(v: float) -> float:
        v = min(max(v, 10**lo), 10**hi)
        return left + (math.log10(v) - lo) / (hi - lo) * width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-weight="bold">share of target reached '
        "(log scale; the line is the target)</text>",
    ]
    for tick in (0.01, 0.1, 1, 10):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="28" x2="{x(tick):.1f}" y2="{height - 25}" '
            f'stroke="{"black" if tick == 1 else "#ccc"}" '
            f'stroke-width="{2 if tick == 1 else 1}"/>'
        )
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle">{tick:g}x</text>'
        )
    for i, f in enumerate(figures):
        y = 36 + i * (bar + gap)
        p = progress(f)
        colour = "#2e7d32" if f.met else "#c62828"
        label = f.label if len(f.label) <= 46 else f.label[:45] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{_xml(label)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y}" width="{max(x(p) - left, 1):.1f}" height="{bar}" '
            f'fill="{colour}"/>'
        )
        caption = f"{budget.fmt(f.ratio)} ({_xml(_target(f))})"
        parts.append(f'<text x="{x(p) + 4:.1f}" y="{y + 13}">{caption}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    sys.exit(main())
