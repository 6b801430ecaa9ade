"""A real `gateway serve` stops promptly on SIGTERM right after start-up, and leaves its log
checkpointed. (The race that made the sequencer's stop wait forever, a wake-up meeting the
cancellation, is reproduced deterministically in tests/unit/test_sequencer.py; through a
real process the window is too narrow to hit on purpose. `GatewayProcess.stop` now fails
any test whose gateway does not stop within 20 s of SIGTERM, instead of killing it quietly.)"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.harness import free_port, write_config
from tests.process import GatewayProcess

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("round_", range(3))
def test_sigterm_right_after_start_up_stops_cleanly(tmp_path: Path, round_: int) -> None:
    cfg = write_config(tmp_path / "config", port=free_port())
    gateway = GatewayProcess(cfg, tmp_path / "gateway.log")
    gateway.start()
    started = time.monotonic()
    code = gateway.stop()  # raises if it does not exit within 20 s (then killed)
    elapsed = time.monotonic() - started
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught
    assert code in (0, -signal.SIGTERM), gateway.log_path.read_text("utf-8", "replace")[-2000:]
    assert elapsed < 10, f"shutdown took {elapsed:.1f} s"
    db = sqlite3.connect(cfg.directory / "gateway.db")
    try:
        (events,) = db.execute("SELECT count(*) FROM events").fetchone()
        (checkpointed,) = db.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
    finally:
        db.close()
    assert events >= 1  # the start-up's config-loaded event
    assert checkpointed == events  # the last sequencer round ran on the way out
