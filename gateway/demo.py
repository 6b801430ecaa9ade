"""`gateway demo`: a scripted exchange between the ten simulated police systems through a
real gateway process, each step checked (docs/demo.md).

A fresh configuration with fresh keys is written to a temporary folder; `gateway serve`
runs on it as a child process (embedded SQLite); the simulators run in this process on
loopback. Every step states what it expects and what it got; the run passes only when
every step behaved as expected.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
from lxml import etree
from rich.console import Console
from rich.table import Table

from gateway import crypto
from gateway.audit_verify import VerificationFailed, verify_storage
from gateway.config import load_config
from gateway.demo_config import DEMO_DELIVERY, ROSTER, WrittenConfig, write_config_folder
from gateway.demo_messages import (
    GCC_MEDIA_TYPE,
    INTERPOL_MEDIA_TYPE,
    gcc_missing_alert,
    red_notice,
)
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import sign_request, verify_response
from gateway.simulators import GatewayKeys, Mode, Received, Simulator, SimulatorIdentity
from gateway.simulators.client import post_notice
from gateway.storage import open_storage

__all__ = ["DemoFailed", "StepResult", "run_demo"]

T = TypeVar("T")
_G = "{urn:gccpol:alert:1}"
_WAIT = 15.0  # seconds any one thing may take before the step fails


class DemoFailed(Exception):
    """A step did not behave as expected; the message says what was expected and got."""


@dataclass(frozen=True, slots=True)
class StepResult:
    title: str
    ok: bool
    detail: str


@dataclass
class _Env:
    written: WrittenConfig
    sims: dict[str, Simulator]
    client: httpx.AsyncClient
    gateway_public: bytes
    process: subprocess.Popen[bytes]
    log_path: Path
    entity_red: str = ""
    receipt_keyid: str = ""
    red_recipients: list[str] = field(default_factory=list)

    async def send(
        self,
        participant: str,
        body: bytes,
        media_type: str,
        *,
        key: crypto.PrivateKey | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """POST as ``participant``; a 202 receipt's signature is checked before returning."""
        status, headers, raw = await post_notice(
            self.written.url,
            body,
            media_type,
            participant=participant,
            key=key or self.written.keys[participant],
            keyid=self.written.keyid(participant),
            client=self.client,
        )
        if status == 202:
            self.receipt_keyid = self.receipt_signed(status, headers, raw)
        return status, headers, orjson.loads(raw) if raw else {}

    def receipt_signed(self, status: int, headers: dict[str, str], body: bytes) -> str:
        """signatures.md, Receipts: the gateway signs every receipt; check it as a sender."""
        gw = KeyRecord(KeyID("gateway-2026"), "gateway", self.gateway_public)
        signed = verify_response(
            status=status,
            headers=headers,
            body=body,
            now=int(time.time()),
            window_seconds=300,
            resolve_key=lambda k: gw if k == gw.keyid else None,
        )
        return signed.keyid

    async def status_of(self, message_id: str, sender: str) -> dict[str, Any]:
        """GET /v1/messages/{id}/status signed by the sender (api.md)."""
        path = f"/v1/messages/{message_id}/status"
        headers = sign_request(
            "GET",
            self.written.authority,
            path,
            {},
            b"",
            key=self.written.keys[sender],
            keyid=self.written.keyid(sender),
            created=int(time.time()),
            nonce=secrets.token_urlsafe(16),
            components=("@method", "@authority", "@path"),
        )
        response = await self.client.get(self.written.url + path, headers=headers)
        response.raise_for_status()
        found: dict[str, Any] = orjson.loads(response.content)
        return found

    async def operator_get(self, path: str, role: str = "auditor") -> httpx.Response:
        auth = {"authorization": f"Bearer {self.written.tokens[role]}"}
        return await self.client.get(self.written.url + path, headers=auth)


async def _until(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = _WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"expected {what} within {timeout:g} s; it did not happen")
        await asyncio.sleep(0.05)


def _expect(condition: bool, expected: str, got: object) -> None:
    if not condition:
        raise DemoFailed(f"expected {expected}; got {got}")


async def _delivered(env: _Env, recipient: str, origin_message_id: str) -> Received:
    async def found() -> Received | None:
        for item in env.sims[recipient].received:
            if item.provenance.get("origin_message_id") == origin_message_id:
                return item
        return None

    return await _until(found, f"{recipient} to receive the translation of {origin_message_id}")


# ---- the environment ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _environment(workdir: Path, console: Console) -> AsyncIterator[_Env]:
    ports = {spec.id: _port() for spec in ROSTER}
    written = write_config_folder(
        workdir / "config",
        endpoints={pid: f"http://127.0.0.1:{port}/inbox" for pid, port in ports.items()},
        delivery=DEMO_DELIVERY,
    )
    gateway_public = written.gateway_key.public
    trusted = GatewayKeys([KeyRecord(KeyID("gateway-2026"), "gateway", gateway_public)])
    config = load_config(written.directory, require_signing_key=True)
    sims: dict[str, Simulator] = {}
    log_path = workdir / "gateway.log"
    process: subprocess.Popen[bytes] | None = None
    client = httpx.AsyncClient(trust_env=False, timeout=10.0)
    try:
        for spec in ROSTER:
            identity = SimulatorIdentity(
                spec.id,
                config.participants[spec.id].name,
                spec.schema,
                written.keyid(spec.id),
                written.keys[spec.id],
                port=ports[spec.id],
            )
            sims[spec.id] = Simulator(identity, trusted)
            await sims[spec.id].start()
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
                [sys.executable, "-m", "gateway", "serve", "--config", str(written.directory)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        env = _Env(written, sims, client, gateway_public, process, log_path)

        async def ready() -> bool:
            if process is not None and process.poll() is not None:
                raise DemoFailed(
                    f"expected `gateway serve` to start; it exited with {process.returncode} "
                    f"(see {log_path})"
                )
            try:
                return (await client.get(written.url + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await _until(ready, "the gateway to answer /readyz with 200", timeout=30.0)
        table = Table(title="Participants (fresh keys, simulated systems on loopback)")
        for column in ("participant", "schema", "kind", "inbox"):
            table.add_column(column)
        for spec in ROSTER:
            table.add_row(spec.id, spec.schema, spec.kind, written.endpoints[spec.id])
        console.print(table)
        console.print(
            f"gateway: `gateway serve` (pid {process.pid}) on {written.url}, "
            "embedded SQLite, delivery retries every 0.25-1 s"
        )
        yield env
    finally:
        await client.aclose()
        if process is not None:
            _stop(process)
        for sim in sims.values():
            await sim.stop()


def _port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# ---- the steps -------------------------------------------------------------------------------


def _recipients_table(title: str, receipt: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("recipient", "outcome", "reason", "losses"):
        table.add_column(column)
    for r in receipt.get("recipients", []):
        table.add_row(r["participant"], r["outcome"], r["reason"], str(r.get("losses", "")))
    return table


async def step_red_notice(env: _Env, console: Console) -> str:
    env.entity_red = f"2026/{secrets.randbelow(90000) + 10000}"
    body = red_notice(entity_id=env.entity_red, nationality="SA")
    mid = orjson.loads(body)["message_id"]
    status, _, receipt = await env.send("ipsg", body, INTERPOL_MEDIA_TYPE)
    _expect(status == 202, "202 Accepted", f"{status} {receipt}")
    console.print(
        f"ipsg → gateway: red notice {env.entity_red} (subject: SA national): {status}, "
        f"receipt signed by {env.receipt_keyid} (verified), audit index {receipt['audit_index']}"
    )
    console.print(_recipients_table("Routing decision", receipt))
    routed = sorted(r["participant"] for r in receipt["recipients"] if r["outcome"] == "routed")
    _expect(routed == ["gccpol-hub", "sa-psd"], "routed to gccpol-hub and sa-psd", routed)
    env.red_recipients = routed
    hub = await _delivered(env, "gccpol-hub", mid)
    national = await _delivered(env, "sa-psd", mid)
    _expect(hub.media_type.startswith(GCC_MEDIA_TYPE), GCC_MEDIA_TYPE, hub.media_type)
    root = etree.fromstring(national.body)
    names = root.findall(f".//{_G}Subject/{_G}Name")
    _expect(
        bool(names) and names[0].get("script") == "Arab",
        "the Arabic name first (script=Arab)",
        [n.get("script") for n in names],
    )
    birth = root.find(f".//{_G}Subject/{_G}BirthDate")
    hijri = birth.findtext(f"{_G}Hijri") if birth is not None else None
    gregorian = birth.findtext(f"{_G}Gregorian") if birth is not None else None
    _expect(
        hijri is not None and gregorian == "1980-05-13",
        "a birth date in both calendars (Gregorian 1980-05-13)",
        f"Hijri {hijri}, Gregorian {gregorian}",
    )
    arabic = " ".join(str(t).strip() for t in names[0].itertext() if str(t).strip())
    console.print("sa-psd received (excerpt of the delivered GCC XML):")
    for element in (names[0], birth):
        assert element is not None
        text = etree.tostring(element, encoding="unicode", with_tail=False)
        text = re.sub(r">\s+<", "><", text).replace(' xmlns:gcc="urn:gccpol:alert:1"', "")
        console.print("  " + text, markup=False)
    losses = national.provenance.get("losses") or []
    table = Table(title=f"Loss report for sa-psd ({len(losses)} items)")
    for column in ("field", "source value", "reason"):
        table.add_column(column, overflow="fold")
    for loss in losses:
        table.add_row(
            str(loss.get("field", "")),
            str(loss.get("source_value", "")),
            str(loss.get("reason", "")),
        )
    console.print(table)
    return f"to gccpol-hub + sa-psd; Arabic name {arabic}; born {hijri} AH = {gregorian}"


async def step_gcc_alert(env: _Env, console: Console) -> str:
    alert = f"GCC-ARE-1448-{secrets.randbelow(900000) + 100000}"
    body = gcc_missing_alert(alert_id=alert)
    mid = etree.fromstring(body).findtext(f"{_G}MessageID") or ""
    status, _, receipt = await env.send("ae-moi", body, GCC_MEDIA_TYPE)
    _expect(status == 202, "202 Accepted", f"{status} {receipt}")
    console.print(f"ae-moi → gateway: missing-person alert {alert}: {status}")
    console.print(_recipients_table("Routing decision", receipt))
    got = await _delivered(env, "ipsg", mid)
    notice = orjson.loads(got.body)["notice"]
    _expect(notice.get("notice_type") == "yellow", "a yellow notice", notice.get("notice_type"))
    console.print(
        f"ipsg received a {notice['notice_type']} notice: {notice.get('forename')} "
        f"{notice.get('name')}, born {notice.get('date_of_birth')}, "
        f"original script {notice.get('forename_in_original_script')} "
        f"{notice.get('name_in_original_script')}"
    )
    return f"ipsg got a yellow notice ({len(got.provenance.get('losses') or [])} losses reported)"


async def step_restricted(env: _Env, console: Console) -> str:
    alert = f"GCC-ARE-1448-{secrets.randbelow(900000) + 100000}"
    body = gcc_missing_alert(alert_id=alert, handling_code="H2")
    status, _, receipt = await env.send("ae-moi", body, GCC_MEDIA_TYPE)
    _expect(status == 202, "202 Accepted (recorded, not delivered)", f"{status} {receipt}")
    console.print(
        f"ae-moi → gateway: alert {alert} with handling code H2: {status}, "
        f"routing {receipt['routing']!r}"
    )
    console.print(_recipients_table("Routing decision", receipt))
    (ipsg,) = [r for r in receipt["recipients"] if r["participant"] == "ipsg"]
    _expect(
        ipsg["outcome"] == "refused" and ipsg["reason"] == "caveat:handling-code:H2",
        "ipsg refused by caveat:handling-code:H2",
        ipsg,
    )
    _expect("delivery_id" not in ipsg, "no delivery queued", ipsg)
    return f"refused for ipsg: {ipsg['reason']}"


async def step_forged(env: _Env, console: Console) -> str:
    body = red_notice(entity_id=f"2026/{secrets.randbelow(90000) + 10000}")
    forger = crypto.generate()
    status, _, problem = await env.send("ipsg", body, INTERPOL_MEDIA_TYPE, key=forger)
    console.print(f"someone → gateway: a notice signed as ipsg-2026 with another key: {status}")
    _show_problem(console, problem)
    _expect(status == 401, "401", status)
    _expect(
        str(problem.get("type", "")).endswith("signature-invalid"), "signature-invalid", problem
    )
    return f"401 {problem.get('title')}"


async def step_replay(env: _Env, console: Console) -> str:
    body = red_notice(entity_id=f"2026/{secrets.randbelow(90000) + 10000}", nationality="FR")
    headers = {"content-type": INTERPOL_MEDIA_TYPE}
    headers |= sign_request(
        "POST",
        env.written.authority,
        "/v1/messages",
        headers,
        body,
        key=env.written.keys["ipsg"],
        keyid=env.written.keyid("ipsg"),
        created=int(time.time()),
        nonce=secrets.token_urlsafe(16),
    )
    url = env.written.url + "/v1/messages"
    first = await env.client.post(url, content=body, headers=headers)
    again = await env.client.post(url, content=body, headers=headers)
    problem = orjson.loads(again.content)
    console.print(
        f"ipsg → gateway: one signed request: {first.status_code}; "
        f"the same bytes and signature again: {again.status_code}"
    )
    _show_problem(console, problem)
    _expect(first.status_code == 202, "the first request accepted (202)", first.status_code)
    _expect(again.status_code == 401, "the replay refused with 401", again.status_code)
    _expect(
        str(problem.get("type", "")).endswith("signature-replayed"), "signature-replayed", problem
    )
    return "second copy 401 signature-replayed"


async def step_down(env: _Env, console: Console) -> str:
    sim = env.sims["qa-moi"]
    await sim.set_mode(Mode("down"))
    console.print("qa-moi's inbox is DOWN (connections refused)")
    body = red_notice(entity_id=f"2026/{secrets.randbelow(90000) + 10000}", nationality="QA")
    mid = orjson.loads(body)["message_id"]
    status, _, _ = await env.send("ipsg", body, INTERPOL_MEDIA_TYPE)
    _expect(status == 202, "202", status)

    async def failing() -> dict[str, Any] | None:
        state = await env.status_of(mid, "ipsg")
        for d in state["deliveries"]:
            if d["recipient"] == "qa-moi" and d["attempts"] >= 2:
                return dict(d)
        return None

    pending = await _until(failing, "two failed attempts to qa-moi")
    _expect(pending["state"] == "pending", "pending while down", pending["state"])
    console.print(
        f"ipsg → gateway: red notice about a QA national: {status}; qa-moi: "
        f"{pending['state']} after {pending['attempts']} failed attempts"
    )
    await sim.set_mode(Mode("ok"))
    console.print("qa-moi is back UP")
    await _delivered(env, "qa-moi", mid)

    async def settled() -> dict[str, Any] | None:
        state = await env.status_of(mid, "ipsg")
        for d in state["deliveries"]:
            if d["recipient"] == "qa-moi" and d["state"] == "delivered":
                return dict(d)
        return None

    done = await _until(settled, "the qa-moi delivery to be recorded as delivered")
    console.print(f"qa-moi received it: delivered on attempt {done['attempts']}")
    return f"delivered after {done['attempts']} attempts (it was down for {done['attempts'] - 1})"


async def step_cancel(env: _Env, console: Console) -> str:
    body = red_notice(entity_id=env.entity_red, kind="notice.cancel")
    mid = orjson.loads(body)["message_id"]
    status, _, receipt = await env.send("ipsg", body, INTERPOL_MEDIA_TYPE)
    _expect(status == 202, "202", f"{status} {receipt}")
    console.print(f"ipsg → gateway: cancel of red notice {env.entity_red}: {status}")
    console.print(_recipients_table("Routing decision", receipt))
    routed = sorted(r["participant"] for r in receipt["recipients"] if r["outcome"] == "routed")
    _expect(routed == env.red_recipients, f"the publish's recipients {env.red_recipients}", routed)
    kinds = []
    for recipient in routed:
        got = await _delivered(env, recipient, mid)
        kind = etree.fromstring(got.body).findtext(f"{_G}MessageType")
        _expect(kind == "WITHDRAW", f"{recipient} to receive a WITHDRAW", kind)
        kinds.append(f"{recipient}: {kind}")
    console.print("received: " + ", ".join(kinds))
    return "WITHDRAW reached " + " + ".join(routed)


async def step_audit(env: _Env, console: Console) -> str:
    async def checkpoint() -> str | None:
        response = await env.operator_get("/v1/audit/checkpoint")
        return response.text if response.status_code == 200 else None

    await _until(checkpoint, "a signed checkpoint")
    config = load_config(env.written.directory, require_signing_key=True)
    from gateway.audit.checkpoint import verifier_key

    key = verifier_key(config.settings.gateway.audit_origin, env.gateway_public)
    storage = open_storage(config.storage_url)
    await storage.open()
    try:
        report = await verify_storage(storage, key)
    except VerificationFailed as exc:
        raise DemoFailed(f"expected the audit log to verify; it does not: {exc}") from exc
    finally:
        await storage.close()
    console.print(
        f"audit log verifies: {report.entries} entries, {report.checkpoints_checked} signed "
        f"checkpoints, root {report.root_b64}"
    )
    note = await checkpoint()
    console.print("latest checkpoint (C2SP signed note, GET /v1/audit/checkpoint):")
    for line in (note or "").splitlines():
        console.print("  " + line, markup=False)
    metrics = (await env.client.get(env.written.url + "/metrics")).text
    counters = [
        line
        for line in metrics.splitlines()
        if line.startswith(("gateway_messages_received_total", "gateway_messages_refused_total"))
    ]
    if counters:
        console.print("GET /metrics (message counters):")
        for line in counters:
            console.print("  " + line, markup=False)
    return f"{report.entries} entries verified against {report.checkpoints_checked} checkpoints"


def _show_problem(console: Console, problem: dict[str, Any]) -> None:
    console.print("  problem body (RFC 9457):")
    for name in ("type", "title", "status", "detail"):
        if name in problem:
            console.print(f"    {name}: {problem[name]}", markup=False)


STEPS: tuple[tuple[str, Callable[[_Env, Console], Awaitable[str]]], ...] = (
    ("Red notice ipsg → gccpol-hub + sa-psd as Arabic-first XML", step_red_notice),
    ("GCC missing-person alert ae-moi → ipsg as a yellow notice", step_gcc_alert),
    ("Restricted (H2) alert refused for INTERPOL", step_restricted),
    ("Forged signature refused", step_forged),
    ("Replayed request refused", step_replay),
    ("Recipient down, delivered once back", step_down),
    ("Cancel reaches every recipient of the publish", step_cancel),
    ("Audit log verified, latest checkpoint", step_audit),
)


async def run_demo(console: Console, workdir: Path) -> list[StepResult]:
    results: list[StepResult] = []
    async with _environment(workdir, console) as env:
        for number, (title, step) in enumerate(STEPS, 1):
            console.rule(f"{number}. {title}")
            started = time.monotonic()
            try:
                with console.status(title):
                    detail = await step(env, console)
                results.append(StepResult(title, True, detail))
                console.print(f"[green]✓[/green] {detail} ({time.monotonic() - started:.1f} s)")
            except (DemoFailed, httpx.HTTPError, KeyError, ValueError, AssertionError) as exc:
                results.append(StepResult(title, False, f"{type(exc).__name__}: {exc}"))
                console.print(f"[red]✗ {exc}[/red]")
    return results


def summary(results: list[StepResult], seconds: float) -> Table:
    table = Table(
        title=f"Summary: {sum(r.ok for r in results)}/{len(results)} steps as "
        f"expected in {seconds:.1f} s"
    )
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("result")
    table.add_column("what happened", overflow="fold")
    for number, r in enumerate(results, 1):
        table.add_row(str(number), r.title, "PASS" if r.ok else "FAIL", r.detail)
    return table


def main(keep: bool = False, width: int | None = None) -> int:
    """Run the demo; 0 when every step behaved as expected."""
    console = Console(width=width or (None if sys.stdout.isatty() else 100), soft_wrap=True)
    workdir = Path(tempfile.mkdtemp(prefix="gateway-demo-"))
    started = time.monotonic()
    console.rule("gateway demo")
    try:
        results = asyncio.run(run_demo(console, workdir))
    except DemoFailed as exc:
        console.print(f"[red]demo could not start: {exc}[/red]")
        keep = True
        results = [StepResult("start-up", False, str(exc))]
    console.print(summary(results, time.monotonic() - started))
    ok = bool(results) and all(r.ok for r in results) and len(results) == len(STEPS)
    if keep or not ok:
        console.print(f"configuration, database and gateway log kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    console.print("[green]DEMO PASSED[/green]" if ok else "[red]DEMO FAILED[/red]")
    return 0 if ok else 1
