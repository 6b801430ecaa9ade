"""Replaying a capture (docs/replay.md): each recorded request again, then what changed.

In process (the default): a fresh gateway app on a temporary SQLite database, with the
configuration given or the one the capture carries, its clock set to each request's
recorded arrival time, so freshness checks decide as they did and the original
signatures verify again when the keys are the same. Where a participant key differs, the
request is re-signed with a throwaway test key (same created, nonce, keyid, components)
and that is said: the original signature was then not checked.

Against a running gateway (`target`): requests that verified at capture time are re-signed
with the participant keys found in a key folder, `created` set to now and a new nonce
(its clock cannot be moved); translations are not visible there and are not compared.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import orjson

from gateway import crypto
from gateway.capture import (
    CapturedRequest,
    CaptureHeader,
    Outcome,
    Translation,
    TranslationLoss,
)
from gateway.capture_export import recipient_result
from gateway.config import ConfigError, GatewayConfig, LimitsSection, load_config
from gateway.replay_diff import MessageDiff, compare_outcomes
from gateway.runtime import Gateway
from gateway.signatures import sign_request
from gateway.storage.base import Storage
from gateway.structured_fields import InnerList, StructuredFieldError, parse_dictionary

__all__ = [
    "ReplayError",
    "ReplaySession",
    "Replayed",
    "VirtualClock",
    "capture_config_dir",
    "diff_of",
    "in_process_session",
    "outcome_of",
    "resign",
    "target_session",
]

# Statuses that depend on load, not on the request (a replay turns rate limits off).
_NOT_REPRODUCIBLE = {429: "rate limit at capture time", 503: "storage unavailable at capture"}


class ReplayError(Exception):
    """The replay could not run (bad configuration, unreachable target...)."""


class VirtualClock:
    """The replayed gateway's clock: set to each request's recorded arrival time."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Replayed:
    request: CapturedRequest
    outcome: Outcome | None  # None: not replayed (see skipped)
    skipped: str | None = None
    notes: tuple[str, ...] = ()


def diff_of(replayed: Replayed) -> MessageDiff:
    req, expected = replayed.request, replayed.request.expected
    if expected.status == 202:
        label = f"{expected.sender} {expected.message_id}"
    else:
        label = f"{expected.status} {expected.check}"
    if replayed.outcome is None:
        return MessageDiff(req.seq, label, "skipped", notes=(replayed.skipped or "",))
    changes = compare_outcomes(expected, replayed.outcome)
    return MessageDiff(
        req.seq, label, "changed" if changes else "same", changes, notes=replayed.notes
    )


# ---- configuration for the replayed gateway --------------------------------------------------


def _toml_string(value: str) -> str:
    return orjson.dumps(value).decode("utf-8")  # a JSON string is a valid TOML basic string


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def capture_config_dir(header: CaptureHeader, directory: Path) -> None:
    """Write a configuration folder equivalent to the capture's (a throwaway gateway key:
    the capture has no private key; only the receipts' signatures change)."""
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    key_path = directory / "keys" / "gateway.pem"
    key_path.write_bytes(crypto.private_key_pem(crypto.generate()))
    key_path.chmod(0o600)
    gw = header.gateway
    limits = "".join(f"{k} = {_toml_value(v)}\n" for k, v in sorted(header.limits.items()))
    (directory / "gateway.toml").write_text(
        "[gateway]\n"
        f"id = {_toml_string(gw.id)}\n"
        f"public_authority = {_toml_string(gw.public_authority)}\n"
        'signing_key = "keys/gateway.pem"\n'
        f"signing_keyid = {_toml_string(gw.signing_keyid)}\n"
        f"audit_origin = {_toml_string(gw.audit_origin)}\n\n"
        f"[limits]\n{limits}",
        "utf-8",
    )
    parts: list[str] = []
    for p in header.participants:
        lines = ["[[participant]]"]
        for name, value in (
            ("id", p.id),
            ("name", p.name),
            ("schema", p.schema_),
            ("kind", p.kind),
            ("country", p.country),
            ("endpoint", p.endpoint),
            ("may_send", p.may_send),
            ("audience", p.audience),
        ):
            if value is not None:
                lines.append(f"{name} = {_toml_value(value)}")
        for k in p.keys:
            lines += ["", "[[participant.key]]"]
            for name, value in k.model_dump(exclude_none=True).items():
                lines.append(f"{name} = {_toml_value(value)}")
        parts.append("\n".join(lines) + "\n")
    (directory / "participants.toml").write_text("\n".join(parts), "utf-8")
    (directory / "routing.toml").write_text(header.routing_toml, "utf-8")


def _replay_environ(header: CaptureHeader, database: Path) -> dict[str, str]:
    env = {
        "GATEWAY_STORAGE__URL": f"sqlite:///{database.as_posix()}",
        "GATEWAY_DELIVERY__WORKER": "false",  # the recipients are not replayed
        "GATEWAY_GATEWAY__PUBLIC_AUTHORITY": header.gateway.public_authority,
    }
    # Rate limits depend on the replay's speed, not on the requests: off (docs/replay.md).
    for name in ("sender_rate_per_second", "unauthenticated_rate_per_second"):
        if name in LimitsSection.model_fields:
            env[f"GATEWAY_LIMITS__{name.upper()}"] = "0"
    return env


def _substitute_keys(
    cfg: GatewayConfig, header: CaptureHeader
) -> tuple[GatewayConfig, dict[str, crypto.PrivateKey], list[str]]:
    """Where the replay configuration's key for a keyid is not the captured one, a test key
    takes its place (recorded signatures cannot verify; requests are re-signed)."""
    captured = {
        k.keyid: base64.b64decode(k.public_key_b64) for p in header.participants for k in p.keys
    }
    keys = dict(cfg.keys)
    test_keys: dict[str, crypto.PrivateKey] = {}
    notes: list[str] = []
    for keyid, record in cfg.keys.items():
        if keyid in captured and captured[keyid] == record.public_key:
            continue
        if keyid not in captured:
            continue  # never used by the capture
        test = crypto.generate()
        test_keys[keyid] = test
        keys[keyid] = dataclasses.replace(record, public_key=test.public)
        notes.append(
            f"key {keyid!r} of {record.participant!r} differs from the capture's: its requests "
            "are re-signed with a test key; their original signatures were not checked"
        )
    if not test_keys:
        return cfg, {}, []
    return dataclasses.replace(cfg, keys=MappingProxyType(keys)), test_keys, notes


# ---- signatures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignatureParams:
    label: str
    components: tuple[str, ...]
    created: int
    expires: int | None
    nonce: str
    keyid: str


def _signature_params(headers: dict[str, str]) -> _SignatureParams | None:
    try:
        members = parse_dictionary(headers.get("signature-input", ""))
    except StructuredFieldError:
        return None
    for label, member in members.items():
        value = member.value
        if not isinstance(value, InnerList):
            continue
        params = value.params
        created, keyid = params.get("created"), params.get("keyid")
        expires, nonce = params.get("expires"), params.get("nonce")
        if not isinstance(created, int) or not isinstance(keyid, str):
            continue
        return _SignatureParams(
            label=label,
            components=tuple(str(item.value) for item in value.items),
            created=created,
            expires=expires if isinstance(expires, int) else None,
            nonce=nonce if isinstance(nonce, str) else secrets.token_urlsafe(16),
            keyid=keyid,
        )
    return None


def resign(
    req: CapturedRequest,
    body: bytes,
    key: crypto.PrivateKey,
    *,
    authority: str,
    created: int | None = None,
    nonce: str | None = None,
) -> dict[str, str] | None:
    """The request's header fields re-signed with ``key`` (same label, components, keyid;
    created and nonce kept unless given). None when the original cannot be parsed."""
    headers = dict(req.headers or {})
    params = _signature_params(headers)
    if params is None:
        return None
    unsigned = {k: v for k, v in headers.items() if k not in {"signature", "signature-input"}}
    shift = 0 if created is None or params.expires is None else created - params.created
    signed = sign_request(
        req.method,
        authority,
        req.path,
        unsigned,
        body,
        key=key,
        keyid=params.keyid,
        created=params.created if created is None else created,
        expires=None if params.expires is None else params.expires + shift,
        nonce=params.nonce if nonce is None else nonce,
        label=params.label,
        components=params.components,
    )
    return unsigned | signed


# ---- outcomes -----------------------------------------------------------------------------


async def outcome_of(response: httpx.Response, storage: Storage | None) -> Outcome:
    """What the replayed gateway answered, with its translations when storage is at hand."""
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 202:
        slug = str(body.get("type", "")).removeprefix("urn:gateway:problem:") or None
        return Outcome(
            status=response.status_code,
            check=slug,
            field=body.get("field") if isinstance(body.get("field"), str) else None,
            detail=body.get("detail") if isinstance(body.get("detail"), str) else None,
            message_id=body.get("message_id") if isinstance(body.get("message_id"), str) else None,
        )
    translations: list[Translation] = []
    if storage is not None:
        for d in await storage.deliveries_of_message(str(body["message_id"])):
            if d.sender != body["sender"]:
                continue
            stored = await storage.get_body(d.body_sha256)
            raw = None if stored is None else stored.body
            translations.append(
                Translation(
                    recipient=d.recipient,
                    media_type=d.media_type,
                    body_sha256=d.body_sha256,
                    losses=[TranslationLoss.model_validate(x) for x in orjson.loads(d.losses)],
                    body_b64=None if raw is None else base64.b64encode(raw).decode("ascii"),
                )
            )
    return Outcome(
        status=202,
        message_id=str(body["message_id"]),
        sender=str(body["sender"]),
        routing=str(body["routing"]),
        rules_digest=str(body["rules_digest"]),
        recipients=[recipient_result(r) for r in body["recipients"]],
        translations=sorted(translations, key=lambda t: t.recipient),
    )


def _skip_reason(req: CapturedRequest) -> str | None:
    if req.headers is None:
        return "the request's header fields were not recorded (a log older than replay)"
    if req.body_b64 is None:
        return "the body was erased (retention) or not kept: nothing to send"
    return _NOT_REPRODUCIBLE.get(req.expected.status)


# ---- sessions -----------------------------------------------------------------------------


@dataclass
class ReplaySession:
    """Sends captured requests one by one, in order; yields what each got."""

    send: Callable[[CapturedRequest], Any]  # async (CapturedRequest) -> Replayed
    notes: list[str] = field(default_factory=list)  # about the whole replay
    rules_digest: str | None = None
    routing_toml: str | None = None  # the rules replayed against, when not the capture's

    async def run(self, requests: Iterable[CapturedRequest]) -> AsyncIterator[Replayed]:
        for req in requests:
            reason = _skip_reason(req)
            if reason is not None:
                yield Replayed(req, None, skipped=reason)
                continue
            result: Replayed = await self.send(req)
            yield result


@contextlib.asynccontextmanager
async def in_process_session(
    header: CaptureHeader, config_dir: Path | None
) -> AsyncIterator[ReplaySession]:
    """A fresh gateway app on a temporary database, its clock virtualised."""
    from gateway.app import create_app

    with tempfile.TemporaryDirectory(prefix="gateway-replay-") as tmp:
        work = Path(tmp)
        source = config_dir
        if source is None:
            source = work / "config"
            capture_config_dir(header, source)
        try:
            cfg = load_config(
                source, _replay_environ(header, work / "replay.db"), require_signing_key=True
            )
        except ConfigError as exc:
            raise ReplayError(
                f"replay: the configuration in {source} is not usable: {exc}"
            ) from exc
        cfg, test_keys, notes = _substitute_keys(cfg, header)
        if cfg.rules_digest != header.rules_digest:
            notes.append(
                f"routing rules differ from the capture's (digest {header.rules_digest[:12]}… "
                f"→ {cfg.rules_digest[:12]}…)"
            )
        clock = VirtualClock(header.created_at)
        app = create_app(source, config=cfg, clock=clock, start_delivery=False)
        async with app.router.lifespan_context(app):
            gw: Gateway = app.state.gateway
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport) as client:

                async def send(req: CapturedRequest) -> Replayed:
                    body = req.body() or b""
                    headers = dict(req.headers or {})
                    own: list[str] = []
                    key = test_keys.get(req.keyid or "")
                    if key is not None and req.signature_verified:
                        resigned = resign(req, body, key, authority=req.authority)
                        if resigned is not None:
                            headers = resigned
                            own.append("re-signed with a test key")
                    clock.now = req.received_at
                    response = await client.request(
                        req.method,
                        f"http://{req.authority}{req.path}",
                        content=body,
                        headers={**headers, "host": req.authority},
                    )
                    return Replayed(req, await outcome_of(response, gw.storage), notes=tuple(own))

                session = ReplaySession(send, notes)
                session.rules_digest = cfg.rules_digest
                if config_dir is not None:
                    session.routing_toml = (config_dir / "routing.toml").read_text("utf-8")
                yield session


def _private_keys(folder: Path | None) -> dict[str, crypto.PrivateKey]:
    """``<keyid>.pem`` files (as `gateway keys new` writes them) by keyid."""
    found: dict[str, crypto.PrivateKey] = {}
    if folder is None:
        return found
    for path in sorted(folder.glob("*.pem")):
        if path.name.endswith(".pub.pem"):
            continue
        try:
            found[path.stem] = crypto.load_private_key(path.read_bytes())
        except (crypto.KeyFormatError, ValueError, OSError):
            continue
    return found


@contextlib.asynccontextmanager
async def target_session(
    header: CaptureHeader, target: str, keys_dir: Path | None
) -> AsyncIterator[ReplaySession]:
    """Replays against a running gateway; its clock is its own, so requests that verified
    at capture time are re-signed now with the keys in ``keys_dir``."""
    url = httpx.URL(target)
    authority = url.netloc.decode("ascii")
    keys = _private_keys(keys_dir)
    notes = [
        f"replayed against {target}: requests re-signed now (created, nonce) with the keys "
        f"in {keys_dir or '(no key folder)'}; the original signatures were not checked; "
        "translations are not visible there and were not compared"
    ]
    nonces: dict[str, str] = {}  # a recorded nonce always maps to the same new one

    def target_key(req: CapturedRequest, params: _SignatureParams) -> crypto.PrivateKey | None:
        if not req.signature_verified and req.expected.check == "signature-invalid":
            return crypto.generate()  # forged at capture: forged again, with a stranger's key
        return keys.get(params.keyid)

    async with httpx.AsyncClient(timeout=30.0) as client:

        async def send(req: CapturedRequest) -> Replayed:
            body = req.body() or b""
            headers = dict(req.headers or {})
            own: list[str] = []
            params = _signature_params(headers)
            key = None if params is None else target_key(req, params)
            if params is not None and key is not None:
                # The target's clock cannot move: shift `created` by the time since arrival,
                # so a signature that was stale (or fresh) at capture is so again.
                shift = int(dt.datetime.now(dt.UTC).timestamp() - req.received_at.timestamp())
                nonce = nonces.setdefault(f"{params.keyid} {params.nonce}", secrets.token_hex(16))
                resigned = resign(
                    req, body, key, authority=authority, created=params.created + shift, nonce=nonce
                )
                if resigned is not None:
                    headers = resigned
                    own.append("re-signed with a test key")
            else:
                who = "(unparsable Signature-Input)" if params is None else repr(params.keyid)
                own.append(f"no key for {who} in the key folder: sent as recorded")
            try:
                response = await client.request(
                    req.method, str(url.join(req.path)), content=body, headers=headers
                )
            except httpx.HTTPError as exc:
                raise ReplayError(f"replay: {target} did not answer: {exc}") from exc
            outcome = await outcome_of(response, None)
            # Only what the target shows is compared: keep the expected translations; a
            # refusal that quotes the new nonce is read back with the recorded one.
            update: dict[str, Any] = {"translations": req.expected.translations}
            if params is not None and outcome.detail is not None:
                new_nonce = nonces.get(f"{params.keyid} {params.nonce}")
                if new_nonce is not None:
                    update["detail"] = outcome.detail.replace(new_nonce, params.nonce)
            outcome = outcome.model_copy(update=update)
            return Replayed(req, outcome, notes=tuple(own))

        yield ReplaySession(send, notes)
