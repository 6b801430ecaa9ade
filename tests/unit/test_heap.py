"""The serving process's collector settings (gateway.heap): applied by the app `gateway
serve` builds, once started; not by apps built for tests and tools. Each case runs in a
fresh interpreter, so this test process's collector is never touched."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from gateway import heap
from tests.harness import write_config


def _run(code: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_settle_freezes_the_start_up_heap_and_still_collects_cycles(tmp_path: Path) -> None:
    out = _run(
        """
        import gc, json, weakref
        from gateway.heap import settle_for_serving
        before = (gc.get_freeze_count(), gc.get_threshold())
        settle_for_serving()
        frozen = gc.get_freeze_count()

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after start-up
        probe = weakref.ref(a)
        del a, b
        gc.collect()
        print(json.dumps({"before": before, "frozen": frozen,
                          "threshold": gc.get_threshold(), "cycle_freed": probe() is None}))
        """,
        tmp_path,
    )
    assert out["before"] == [0, [700, 10, 10]]
    assert isinstance(out["frozen"], int) and out["frozen"] > 1000  # modules, classes, ...
    assert out["threshold"] == [heap.GEN0_THRESHOLD, heap.GEN1_THRESHOLD, heap.GEN2_THRESHOLD]
    assert out["cycle_freed"] is True


def test_gateway_serve_app_settles_its_heap_once_started_and_test_apps_do_not(
    tmp_path: Path,
) -> None:
    cfg = write_config(tmp_path / "config")
    out = _run(
        f"""
        import asyncio, gc, json, os
        from pathlib import Path
        from gateway.app import app_from_environment, create_app

        async def started(app):
            async with app.router.lifespan_context(app):
                return gc.get_freeze_count(), gc.get_threshold()

        plain = asyncio.run(started(create_app(Path({str(cfg.directory)!r}),
                                               start_delivery=False)))
        os.environ["GATEWAY_CONFIG"] = {str(cfg.directory)!r}
        served = asyncio.run(started(app_from_environment()))
        print(json.dumps({{"plain": plain, "served": served}}))
        """,
        tmp_path,
    )
    assert out["plain"] == [0, [700, 10, 10]]
    served = out["served"]
    assert isinstance(served, list) and served[0] > 1000
    assert served[1] == [heap.GEN0_THRESHOLD, heap.GEN1_THRESHOLD, heap.GEN2_THRESHOLD]
