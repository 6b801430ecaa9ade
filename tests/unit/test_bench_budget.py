"""The performance-budget table of `make bench` (bench/run.py, bench/figures.py)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from bench import figures as budget
from bench import run


def fig(key: str, ratio: float, op: budget.Op = ">=", target: float = 0.5) -> budget.Figure:
    return budget.Figure(
        key=key,
        label=f"label of {key}",
        value=ratio * 100,
        unit="msg/s",
        baseline_label="bare | endpoint",
        baseline=100.0,
        ratio=ratio,
        op=op,
        target=target,
        detail=f"detail of {key}",
    )


def test_met_follows_the_direction_of_the_target() -> None:
    assert fig("a", 0.5).met and not fig("a", 0.49).met
    assert fig("b", 4.0, "<=", 4.0).met and not fig("b", 4.1, "<=", 4.0).met


def test_figures_round_trip_through_json(tmp_path: Path) -> None:
    figs = [fig("http.rate", 0.2), fig("memory.peak", 1.1, "<=", 1.5)]
    budget.write(tmp_path / "f.json", figs)
    assert budget.read(tmp_path / "f.json") == figs


def test_table_is_in_the_issue_order_and_says_what_is_missed() -> None:
    figs = sorted(
        [fig("zz.other", 1.0), fig("audit.verify", 0.1), fig("http.rate", 0.7)], key=budget.sort_key
    )
    assert [f.key for f in figs] == ["http.rate", "audit.verify", "zz.other"]
    text = run.render_text(figs)
    lines = text.splitlines()
    assert lines[0].split()[0] == "figure"
    assert "NO" in lines[3] and "yes" in lines[2]
    assert "detail of audit.verify" in text


def test_markdown_block_replaces_itself_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nhand-written\n")
    result = {"at": "2026-11-29T00:00:00+00:00", "commit": "abc", "seconds": 1.0}
    run.update_doc(doc, run.render_markdown([fig("http.rate", 0.2)], result))
    run.update_doc(doc, run.render_markdown([fig("http.rate", 0.3)], result))
    text = doc.read_text()
    assert text.count(run.BEGIN) == 1 and text.count(run.END) == 1
    assert "hand-written" in text
    assert "| 0.3 |" in text and "| 0.2 |" not in text
    assert "bare \\| endpoint" in text  # a pipe in a cell does not break the table


def test_plot_is_well_formed_svg_with_a_bar_per_figure() -> None:
    figs = [fig("http.rate", 0.05), fig("http.p99", 12.0, "<=", 4.0), fig("x", 0.0)]
    root = etree.fromstring(run.render_svg(figs).encode())
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill") != "white"]
    assert len(bars) == 3
    assert run.progress(figs[1]) == 4.0 / 12.0
