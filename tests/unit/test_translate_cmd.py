"""`gateway translate` (cli.md) run as a real process on the samples in tests/data/."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.translate import translate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
INTERPOL_SAMPLE = DATA / "interpol-red-publish.json"
GCCPOL_SAMPLE = DATA / "gccpol-missing-new.xml"
_COMMAND = (sys.executable, "-m", "gateway", "translate")


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*_COMMAND, *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )


def test_json_output_is_the_gateways_translation() -> None:
    done = _run("--from", "interpol", "--to", "gccpol", "--json", str(INTERPOL_SAMPLE))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = translate(INTERPOL.decode(INTERPOL_SAMPLE.read_bytes()), "gccpol")
    assert out["body"].encode("utf-8") == expected.body
    assert out["losses"] == [
        {"field": x.field, "source_value": x.source_value, "reason": x.reason}
        for x in expected.losses
    ]
    alert = GCCPOL.decode(out["body"].encode("utf-8"))  # what a GCC system would accept
    assert alert.notice.reference("INTERPOL") == "2026/48213"
    assert (
        alert.notice.reference(
            "GCCPOL",
        )
        is not None
    )  # minted as the gateway would


def test_plain_output_prints_the_body_then_one_line_per_loss() -> None:
    done = _run("--from", "interpol", "--to", "gccpol", str(INTERPOL_SAMPLE))
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")
    body, _, report = text.partition("</gcc:Message>\n")
    GCCPOL.decode((body + "</gcc:Message>\n").encode("utf-8"))
    lines = report.splitlines()
    assert lines[0] == f"losses: {len(lines) - 1}"
    assert (
        "loss: subject.names[Latn].given: name split by guess: the first word written as "
        "FirstName, the second as FatherName, the rest as GrandfatherName "
        "(was 'MOHAMMED ABDULLAH SAAD')"
    ) in lines


def test_stdin_gccpol_to_interpol() -> None:
    done = _run(
        "--from", "gccpol", "--to", "interpol", "--json", "-", stdin=GCCPOL_SAMPLE.read_bytes()
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    notice = INTERPOL.decode(out["body"].encode("utf-8")).notice
    assert notice.reference("GCCPOL") == "GCC-ARE-1448-000123"
    assert notice.reference("INTERPOL") is not None
    fields = {x["field"] for x in out["losses"]}
    assert "notice.evaluation.source_reliability" in fields


def test_a_refusal_exits_1_with_its_code_and_field() -> None:
    body = GCCPOL_SAMPLE.read_bytes().replace(b">H0<", b">H2<")
    done = _run("--from", "gccpol", "--to", "interpol", "-", stdin=body)
    assert done.returncode == 1
    assert done.stdout == b""
    lines = done.stderr.decode("utf-8").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "gateway: translate: refused [dissemination-downgrade] "
        "notice.dissemination.handling_codes[0]: handling code H2"
    )


def test_a_un_notice_has_no_gcc_counterpart() -> None:
    message = json.loads(INTERPOL_SAMPLE.read_bytes())
    message["notice"].update(notice_type="un", arrest_warrants=None)
    done = _run("--from", "interpol", "--to", "gccpol", "-", stdin=json.dumps(message).encode())
    assert done.returncode == 1
    assert b"refused [no-counterpart] notice.category" in done.stderr


def test_input_that_does_not_decode_exits_2_with_the_path() -> None:
    message = json.loads(INTERPOL_SAMPLE.read_bytes())
    message["notice"]["sex_id"] = "X"
    message["notice"]["height"] = 7
    done = _run("--from", "interpol", "--to", "gccpol", "-", stdin=json.dumps(message).encode())
    assert done.returncode == 2
    err = done.stderr.decode("utf-8")
    assert "notice.sex_id" in err and "notice.height" in err
    assert done.stdout == b""

    broken = _run("--from", "gccpol", "--to", "interpol", str(INTERPOL_SAMPLE))
    assert broken.returncode == 2
    assert b"is not a gccpol message" in broken.stderr


def test_unknown_schema_and_missing_file_exit_2() -> None:
    unknown = _run("--from", "customs", "--to", "gccpol", str(INTERPOL_SAMPLE))
    assert unknown.returncode == 2
    assert b"no adapter for schema 'customs'" in unknown.stderr
    missing = _run("--from", "interpol", "--to", "gccpol", str(DATA / "no-such-file.json"))
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr


def test_a_terminal_gets_a_rich_table() -> None:
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [*_COMMAND, "--from", "gccpol", "--to", "interpol", str(GCCPOL_SAMPLE)],
        stdout=terminal,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**env, "COLUMNS": "200", "TERM": "xterm"},
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "loss report (10)" in shown
    assert "evaluation codes not carried" in shown
    assert "losses: 10" not in shown  # the plain form is for pipes only
