"""How the gateway is served, and the per-request work of its HTTP layer that was made
cheaper (issue "Benchmarks"): the bare benchmark endpoint runs on exactly the server
settings of `gateway serve`; the cheaper paths give the same results as before."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from typer import Typer
from typer.testing import CliRunner

from bench import bare_app
from gateway import logs, observe
from gateway.commands import serve as serve_cmd
from gateway.metrics import Metrics
from gateway.serving import BoundedH11Protocol
from gateway.structured_fields import serialize_bare_item
from tests.harness import write_config


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run and the logging set-up replaced by recorders (nothing is served)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setattr(
        logs, "configure_logging", lambda level="INFO": calls.append({"level": level})
    )
    return calls


def test_bare_endpoint_runs_on_the_server_settings_of_gateway_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path / "config")
    monkeypatch.setenv("GATEWAY_CONFIG", "unchanged-after-the-test")
    calls = _captured(monkeypatch)
    cli = Typer()
    serve_cmd.register(cli)
    args = ["--config", str(cfg.directory), "--log-level", "warning"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(sys, "argv", ["bare_app", *args, "--port", "40999"])
    bare_app.main()

    gw_level, gw, bare_level, bare = calls
    assert gw_level == bare_level == {"level": "WARNING"}
    assert (gw.pop("app"), gw.pop("factory")) == (serve_cmd.GATEWAY_APP, True)
    assert (bare.pop("app"), bare.pop("factory")) == ("bench.bare_app:app", False)
    assert (gw.pop("port"), bare.pop("port")) == (cfg.port, 40999)
    assert gw == bare  # everything else: host, parser, bounds, loop, logging, workers
    bounds = serve_cmd.parser_limits(32_768)
    assert gw["http"] is BoundedH11Protocol and gw["host"] == "127.0.0.1" and gw["workers"] == 1
    assert gw["timeout_graceful_shutdown"] == bounds.timeout_graceful_shutdown
    assert gw["h11_max_incomplete_event_size"] >= bounds.h11_max_incomplete_event_size
    assert gw["limit_concurrency"] == bounds.limit_concurrency
    assert gw["timeout_keep_alive"] == bounds.timeout_keep_alive
    assert gw["access_log"] is False and gw["server_header"] is False


def test_server_options_follow_the_configured_limits(tmp_path: Path) -> None:
    from gateway.config import load_config

    cfg = write_config(tmp_path / "config")
    config = load_config(cfg.directory, require_signing_key=True)
    opts = serve_cmd.server_options(config, workers=3, listen="[::1]:9000")
    limit = config.settings.limits.max_header_bytes
    assert opts["h11_max_incomplete_event_size"] == max(65_536, 2 * limit)
    assert (opts["host"], opts["port"], opts["workers"]) == ("::1", 9000, 3)


def test_bare_endpoint_reads_the_body_and_answers_202() -> None:
    async def exchange() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=bare_app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return (
                await client.post("/v1/messages", content=b"x" * 5000),
                await client.get("/healthz"),
            )

    posted, health = asyncio.run(exchange())
    assert posted.status_code == 202 and posted.json() == {"accepted": True}
    assert health.status_code == 200


def test_string_check_is_exactly_printable_ascii() -> None:
    """serialize_bare_item's one-pass check refuses exactly what %x20-7E does not allow."""
    codepoints = [*range(0x3000), 0xD7FF, 0xE000, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF]
    for cp in codepoints:
        allowed = 0x20 <= cp <= 0x7E
        text = f"ab{chr(cp)}cd"
        if allowed:
            assert serialize_bare_item(text).startswith('"')
        else:
            with pytest.raises(ValueError, match="outside %x20-7E"):
                serialize_bare_item(text)
    assert serialize_bare_item("") == '""'
    assert serialize_bare_item('a"b\\c') == '"a\\"b\\\\c"'


def test_latency_is_observed_on_the_route_series() -> None:
    metrics = Metrics()
    for seconds in (0.001, 0.2, 0.3):
        metrics.observe_latency("/v1/messages", seconds)
    metrics.latency.labels("/v1/messages").observe(0.4)  # the same child
    metrics.observe_latency("unmatched", 0.01)
    get = metrics.registry.get_sample_value
    assert get("gateway_request_seconds_count", {"route": "/v1/messages"}) == 4
    assert get("gateway_request_seconds_sum", {"route": "/v1/messages"}) == pytest.approx(0.901)
    assert get("gateway_request_seconds_count", {"route": "unmatched"}) == 1


def _accepted(metrics: Metrics) -> None:
    gw = SimpleNamespace(metrics=metrics)
    message = SimpleNamespace(
        message_id="m-1", sender="ipsg", kind=SimpleNamespace(value="publish")
    )
    signed = SimpleNamespace(keyid="ipsg-2026", participant="ipsg")
    receipt = orjson.dumps(
        {
            "body_sha256": "a" * 64,
            "audit_index": 7,
            "routing": "rules",
            "recipients": [
                {"participant": "gccpol-hub", "outcome": "routed"},
                {"participant": "sa-psd", "outcome": "refused"},
            ],
        }
    )
    observe.accepted(gw, message, "interpol", signed, receipt, repeat=False)  # type: ignore[arg-type]


def test_accepted_is_counted_at_any_level_and_logged_from_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    with caplog.at_level(logging.WARNING, logger="gateway.ingress"):
        _accepted(metrics)
    assert not caplog.records
    with caplog.at_level(logging.INFO, logger="gateway.ingress"):
        _accepted(metrics)
    (record,) = caplog.records
    fields = record.fields  # type: ignore[attr-defined]
    assert record.getMessage() == "message-accepted"
    assert fields["routed_to"] == ["gccpol-hub"] and fields["refused_for"] == ["sa-psd"]
    assert fields["audit_index"] == 7 and fields["status"] == 202
    count = metrics.registry.get_sample_value(
        "gateway_messages_received_total", {"schema": "interpol", "kind": "publish"}
    )
    assert count == 2


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        logging._srcfile,
        logging.logThreads,
        logging.logProcesses,
        logging.logMultiprocessing,
    )
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    loggers = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    try:
        yield
    finally:
        (
            root.handlers[:],
            level,
            logging._srcfile,
            logging.logThreads,
            logging.logProcesses,
            logging.logMultiprocessing,
        ) = saved
        root.setLevel(level)
        for n, (handlers, propagate) in loggers.items():
            logging.getLogger(n).handlers[:] = handlers
            logging.getLogger(n).propagate = propagate


def test_json_lines_keep_their_fields_without_caller_thread_or_process(
    restored_logging: None,
) -> None:
    logs.configure_logging("INFO")
    out = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    log = logging.getLogger("gateway.test")
    log.info("message-accepted", extra={"fields": {"message_id": "m-1"}, "other": 3})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    first, second = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert set(first) == {"ts", "level", "logger", "event", "message_id", "other"}
    assert (first["level"], first["logger"], first["event"]) == (
        "info",
        "gateway.test",
        "message-accepted",
    )
    assert first["ts"].endswith("+00:00") and first["message_id"] == "m-1"
    assert second["event"] == "failed" and "RuntimeError: boom" in second["exc"]


def test_operator_integers_are_ascii_digits_only(tmp_path: Path) -> None:
    """ "²".isdigit() is True and int("²") raises: it was a 500 (found by the API fuzz run);
    every such parameter is now a 400 problem."""
    from gateway.api.operators import decimal_digits
    from tests.harness import running_gateway

    assert decimal_digits("0") and decimal_digits("123456789012345678")
    for bad in ("²", "٣", "1²", "", "-1", "1.0", " 1", "1234567890123456789"):
        assert not decimal_digits(bad), bad
    cfg = write_config(tmp_path / "config")
    with running_gateway(cfg), httpx.Client(base_url=cfg.url, timeout=10) as client:
        auditor = cfg.auth("auditor")
        for path, params in (
            ("/v1/audit/proof/inclusion", {"index": "²", "tree_size": "1"}),
            ("/v1/audit/proof/inclusion", {"index": "0", "tree_size": "٣"}),
            ("/v1/audit/entries/²", {}),
            ("/v1/audit/events", {"cursor": "²"}),
            ("/v1/audit/events", {"cursor": "9" * 5000}),
        ):
            r = client.get(path, params=params, headers=auditor)
            assert r.status_code == 400, (path, params, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json")
