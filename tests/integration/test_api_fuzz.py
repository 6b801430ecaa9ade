"""Schemathesis against the running gateway's own /openapi.json: no 5xx, and every answer
(status, content type, headers, body) conforms to the document. POST /v1/messages is signed
by a hook (schemathesis_hooks.py), so fuzzed bodies reach the decoders. Bounded in time."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import pem_private, running_gateway, write_config

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "100"))
TIME_BOUND_SECONDS = 60.0


def schemathesis_cli() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1":
            pytest.fail("schemathesis is not installed (pip install -e '.[dev]')")
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


def test_api_fuzz_finds_no_5xx_and_no_answer_outside_the_document(tmp_path: Path) -> None:
    cli = schemathesis_cli()
    cfg = write_config(tmp_path / "gw")
    toml = cfg.directory / "gateway.toml"
    toml.write_text(
        toml.read_text("utf-8").replace(
            "[limits]\n",
            "[limits]\nsender_rate_per_second = 0\nunauthenticated_rate_per_second = 0\n",
        ),
        "utf-8",
    )
    key_file = tmp_path / "fuzz-key.pem"
    key_file.write_bytes(pem_private(cfg.keys["ipsg"]))
    key_file.chmod(0o600)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "GATEWAY_FUZZ_KEY": str(key_file),
        "GATEWAY_FUZZ_KEYID": cfg.keyid("ipsg"),
        "GATEWAY_FUZZ_AUTHORITY": cfg.authority,
        "NO_COLOR": "1",
    }
    with running_gateway(cfg, start_delivery=False):
        docs = httpx.get(cfg.url + "/docs")
        assert docs.status_code == 200 and "/v1/messages" in docs.text
        started = time.monotonic()
        run = subprocess.run(
            [
                cli,
                "run",
                cfg.url + "/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                str(MAX_EXAMPLES),
                "--phases",
                "examples,coverage,fuzzing",
                "--header",
                f"Authorization: Bearer {cfg.tokens['admin']}",
                # The console is HTML for browsers (session cookie, CSRF-protected forms),
                # documented from its routes; it has its own tests.
                "--exclude-tag",
                "console",
                "--seed",
                "20261129",
                "--request-timeout",
                "10",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIME_BOUND_SECONDS * 2,
            check=False,
        )
        elapsed = time.monotonic() - started
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-8000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counts is not None, report[-4000:]
    generated, passed = int(counts.group(1)), int(counts.group(2))
    assert generated == passed and generated >= 19 * 20, report[-4000:]
    assert "failed" not in report.split("Test cases:")[-1].splitlines()[1], report[-4000:]
    assert elapsed < TIME_BOUND_SECONDS, f"the fuzz run took {elapsed:.1f} s"
    # The signing hook worked: fuzzed bodies got past verification to the decoders.
    with sqlite3.connect(cfg.directory / "gateway.db") as conn:
        decoded = dict(
            conn.execute(
                "SELECT outcome, count(*) FROM events WHERE kind = 'refused' "
                "AND participant = 'ipsg' GROUP BY outcome"
            ).fetchall()
        )
    conn.close()
    assert decoded.get("body-malformed", 0) + decoded.get("schema-violation", 0) > 0, decoded
    print(f"schemathesis: {generated} test cases, all passed, in {elapsed:.1f} s; {decoded}")
