"""`gateway demo` end to end, as `make demo` runs it: a subprocess, plain output (no tty)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.process import ROOT

pytestmark = pytest.mark.integration


def test_demo_passes_and_shows_every_step() -> None:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    for line in (
        "Summary: 8/8 steps as expected",
        "DEMO PASSED",
        # 1: the red notice as Arabic-first XML with both calendars, and its loss report
        '<gcc:Name script="Arab"><gcc:FirstName>محمد</gcc:FirstName>',
        "<gcc:Hijri>1400-06-28</gcc:Hijri><gcc:Gregorian>1980-05-13</gcc:Gregorian>",
        "Loss report for sa-psd",
        # 2-3: the GCC alert as a yellow notice; the H2 alert refused for INTERPOL
        "ipsg received a yellow notice: MARYAM",
        "refused for ipsg: caveat:handling-code:H2",
        # 4-5: forged and replayed requests, with their problem bodies
        "type: urn:gateway:problem:signature-invalid",
        "type: urn:gateway:problem:signature-replayed",
        # 6-7: down then up; the cancel follows the publish
        "qa-moi received it: delivered on attempt",
        "WITHDRAW reached gccpol-hub + sa-psd",
        # 8: the audit log and its checkpoint
        "audit log verifies:",
        "— gateway.test/audit ",
        'gateway_messages_received_total{kind="publish",schema="interpol"}',
    ):
        assert line in out, f"{line!r} missing from the demo output:\n{out[-3000:]}"
    assert "FAIL" not in out
    assert "\x1b[" not in out  # plain text when not on a terminal
