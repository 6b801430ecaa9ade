"""The configuration folder (config.md): four TOML files validated whole into one frozen
`GatewayConfig`, or a `ConfigError` that lists every problem.

    gateway.toml       settings: [gateway] [storage] [limits] [delivery] [audit]
    participants.toml  [[participant]] with [[participant.key]]
    routing.toml       [[rule]] (compiled by gateway.routing)
    operators.toml     [[operator]] (optional file)

Each problem names the file, the line when one can be found, and the key path, e.g.
``participants.toml:14: participant[2].key[0].public_key: file keys/x.pub.pem not found``.
Environment variables ``GATEWAY_<SECTION>__<KEY>`` override single gateway.toml settings.
`load_config` reads files and nothing else: calling it twice on the same folder gives equal
configurations, so a reload is just another call. docs/configuration.md has every setting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args

import rfc8785
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.operators import Operator, Role
from gateway.routing import SCHEMA_KINDS, Rule, RuleError, compile_rule
from schemas import codes

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "GatewayConfig",
    "Participant",
    "ParticipantKind",
    "Settings",
    "load_config",
]

ENV_PREFIX = "GATEWAY_"
GCC_STATES = ("AE", "BH", "KW", "OM", "QA", "SA")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEYID = re.compile(r"^[!#-\[\]-~]{1,128}$")  # printable ASCII without " and \ (sf-string)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


# ---- boundary models (pydantic, extra="forbid") -----------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Strict):
    id: str = "gateway"
    listen: str = "127.0.0.1:8080"
    public_authority: str  # default: the listen address
    signing_key: str
    signing_keyid: str
    audit_origin: str

    @model_validator(mode="before")
    @classmethod
    def _authority_defaults_to_listen(cls, data: Any) -> Any:
        if isinstance(data, dict) and "public_authority" not in data:
            return {**data, "public_authority": data.get("listen", "127.0.0.1:8080")}
        return data


class StorageSection(_Strict):
    url: str = "sqlite:///var/gateway.db"


class LimitsSection(_Strict):
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    clock_skew_seconds: int = Field(default=300, gt=0)
    sender_rate_per_second: float = Field(default=50.0, ge=0)  # 0 = no rate limit
    sender_burst: int = Field(default=100, gt=0)
    # docs/security.md: requests of one sender in flight at once; the shared budget of
    # requests that did not authenticate; request line + header fields, in bytes.
    sender_concurrency: int = Field(default=32, gt=0)
    unauthenticated_rate_per_second: float = Field(default=20.0, ge=0)  # 0 = no limit
    unauthenticated_burst: int = Field(default=100, gt=0)
    max_header_bytes: int = Field(default=32_768, ge=4096)
    # docs/security.md, Slow clients: the whole body must arrive within this many seconds
    # of the request head (408 and an audit event past it).
    body_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class DeliverySection(_Strict):
    max_attempts: int = Field(default=8, gt=0)
    max_age_seconds: int = Field(default=86_400, gt=0)
    backoff_initial_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a claimed delivery stays leased to the worker that claimed it: after a crash
    # its deliveries are attempted again once this runs out (docs/delivery.md). Must exceed
    # one attempt's deadline (2 x timeout_seconds), or a slow attempt could get a twin.
    lease_seconds: float = Field(default=120.0, gt=0)
    # Run the delivery worker inside `gateway serve`. Turn off on ingress-only replicas
    # (another process delivers from the same database) and in ingress benchmarks.
    worker: bool = True


class AuditSection(_Strict):
    checkpoint_max_delay_seconds: float = Field(default=1.0, gt=0, le=60)


class Settings(_Strict):
    """gateway.toml, after environment overrides."""

    gateway: GatewaySection
    storage: StorageSection = StorageSection()
    limits: LimitsSection = LimitsSection()
    delivery: DeliverySection = DeliverySection()
    audit: AuditSection = AuditSection()


class ParticipantKind(StrEnum):
    SECRETARIAT = "secretariat"
    HUB = "hub"
    NCB = "ncb"  # an INTERPOL National Central Bureau
    NATIONAL = "national"  # a GCC national system


class KeyModel(_Strict):
    keyid: str
    public_key: str | None = None  # PEM file, relative to the config folder
    public_key_b64: str | None = None  # base64 of the raw 32-byte key
    not_before: AwareDatetime | None = None
    not_after: AwareDatetime | None = None
    revoked: bool = False


class ParticipantModel(_Strict):
    id: str
    name: str
    schema_: str = Field(alias="schema")
    kind: ParticipantKind
    country: str | None = None
    endpoint: str
    may_send: list[str] = []
    audience: list[str] | None = None
    key: list[KeyModel] = []


class RuleModel(_Strict):
    id: str
    description: str = ""
    when: dict[str, Any]
    deliver_to: list[Any] | None = None
    deny_to: list[Any] | None = None


class OperatorModel(_Strict):
    name: str
    role: str
    token_sha256: str


# ---- what the gateway uses (frozen dataclasses) -----------------------------------------


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    name: str
    schema_: str  # `schema` in participants.toml
    kind: ParticipantKind
    country: str | None
    endpoint: str
    may_send: tuple[str, ...]  # message kinds in the participant's own schema's words
    audience: frozenset[str]  # countries its deliveries reach (empty when audience_all)
    audience_all: bool
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    directory: Path
    settings: Settings
    participants: Mapping[str, Participant]  # in file order
    keys: Mapping[str, KeyRecord]
    rules: tuple[Rule, ...]
    operators: tuple[Operator, ...]
    rules_digest: str  # SHA-256 hex of routing.toml's canonical (RFC 8785) form
    config_digest: str  # SHA-256 hex over every file's canonical form and the key files
    storage_url: str  # relative sqlite paths resolved against the folder
    signing_key_path: Path
    overrides: Mapping[str, str] = field(default_factory=dict)  # environment applied


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` has every one (strings, JSON-ready)."""

    def __init__(self, issues: list[ConfigProblem]) -> None:
        self.issues = tuple(issues)
        self.problems = [str(i) for i in issues]
        count = f"{len(issues)} problem" + ("s" if len(issues) != 1 else "")
        super().__init__(f"{count}:\n" + "\n".join(f"  - {p}" for p in self.problems))


# ---- problem collection with line lookup ------------------------------------------------


class _Report:
    def __init__(self) -> None:
        self.issues: list[ConfigProblem] = []
        self.texts: dict[str, str] = {}

    def add(self, file: str, path: str, message: str, line: int | None = None) -> None:
        if line is None and file in self.texts:
            line = _line_of(self.texts[file], path)
        self.issues.append(ConfigProblem(file, path, message, line))

    def validation(
        self, file: str, prefix: str, exc: ValidationError, model: type[BaseModel]
    ) -> None:
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function")]
            path = _join(prefix, loc)
            if err["type"] == "extra_forbidden":
                known = _known_keys(model, loc[:-1])
                message = "unknown key" + (f"; expected one of {', '.join(known)}" if known else "")
            elif err["type"] == "missing":
                message = "required key is missing"
            else:
                message = f"{err['msg']}, got {err.get('input')!r}"
            self.add(file, path, message)


def _join(prefix: str, loc: list[Any]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _known_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            info = next((f for f in current.model_fields.values() if f.alias == part), None)
        current = _model_in(info.annotation) if info else None
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _line_of(text: str, path: str) -> int | None:
    """The 1-based line of key ``path`` (``participant[2].key[0].public_key``), if found."""
    lines = text.splitlines()
    start, end, prefix, found = 0, len(lines), "", None
    for name, index in re.findall(r"([A-Za-z0-9_-]+)(?:\[(\d+)\])?", path):
        header = prefix + name
        if index and (hits := _headers(lines, start, end, rf"\[\[\s*{re.escape(header)}\s*\]\]")):
            if int(index) >= len(hits):
                return found
            found = hits[int(index)]
            nxt = [h for h in hits if h > found]
            start = found + 1
            end = min([*nxt, end])
            prefix = header + "."
            continue
        key = re.compile(rf"^\s*{re.escape(name)}\s*=")
        hit = next((i for i in range(start, end) if key.match(lines[i])), None)
        if hit is not None:
            return hit + 1
        tables = _headers(lines, start, end, rf"\[\s*{re.escape(header)}\s*\]")
        if not tables:
            return found + 1 if found is not None else None
        found = tables[0]
        following = _headers(lines, found + 1, end, r"\[")
        start, end, prefix = found + 1, (following[0] if following else end), header + "."
    return found + 1 if found is not None else None


def _headers(lines: list[str], start: int, end: int, pattern: str) -> list[int]:
    rx = re.compile(rf"^\s*{pattern}")
    return [i for i in range(start, end) if rx.match(lines[i])]


# ---- reading ----------------------------------------------------------------------------


def _read_toml(
    directory: Path, name: str, report: _Report, *, required: bool
) -> dict[str, Any] | None:
    """The file's table; None (and a problem when ``required``) if it cannot be had."""
    path = directory / name
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        if required:
            report.add(name, "", f"file not found in {directory}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        report.add(name, "", f"cannot read: {exc}")
        return None
    report.texts[name] = text
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        report.add(name, "", f"not valid TOML: {exc}", int(m.group(1)) if m else None)
        return None


def _env_overrides(
    raw: dict[str, Any], environ: Mapping[str, str], report: _Report
) -> dict[str, str]:
    """Apply ``GATEWAY_<SECTION>__<KEY>=value`` to gateway.toml's table (values typed by
    the settings model, so "2048" becomes an int)."""
    applied: dict[str, str] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        model = (
            _model_in(Settings.model_fields[section].annotation)
            if section in Settings.model_fields
            else None
        )
        if model is None or key not in model.model_fields:
            report.add(
                "environment",
                name,
                f"no setting [{section}] {key} in gateway.toml; settings: "
                + ", ".join(f"GATEWAY_{s.upper()}__{k.upper()}" for s, k in _setting_names()),
            )
            continue
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            continue
        table[key] = environ[name]
        applied[name] = environ[name]
    return applied


def _setting_names() -> Iterator[tuple[str, str]]:
    for section, info in Settings.model_fields.items():
        model = _model_in(info.annotation)
        if model is not None:
            for key in model.model_fields:
                yield section, key


def _settings(raw: dict[str, Any], applied: Mapping[str, str], report: _Report) -> Settings | None:
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        before = len(report.issues)
        report.validation("gateway.toml", "", exc, Settings)
        for i in range(before, len(report.issues)):  # blame the variable, not the file
            issue = report.issues[i]
            env = f"{ENV_PREFIX}{issue.path.replace('.', '__').upper()}"
            if env in applied:
                report.issues[i] = ConfigProblem("environment", env, issue.message)
        return None
    gw = settings.gateway
    if not _ID.fullmatch(gw.id):
        report.add("gateway.toml", "gateway.id", f"expected letters, digits, . _ -; got {gw.id!r}")
    if not _KEYID.fullmatch(gw.signing_keyid):
        report.add(
            "gateway.toml", "gateway.signing_keyid", f"not a valid keyid: {gw.signing_keyid!r}"
        )
    host, _, port = gw.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        report.add("gateway.toml", "gateway.listen", f"expected host:port, got {gw.listen!r}")
    url = settings.storage.url
    if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") in ("", ":memory:"):
        report.add(
            "gateway.toml",
            "storage.url",
            f"{url!r} names no database file; acknowledged messages must survive a restart",
        )
    elif not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        report.add(
            "gateway.toml",
            "storage.url",
            f"expected sqlite:///PATH or postgresql://…, got {url!r}",
        )
    return settings


def _storage_url(url: str, directory: Path) -> str:
    """A relative SQLite path is relative to the configuration folder, like every path."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rest = url.removeprefix("sqlite:///")
        return f"sqlite:///{(directory.absolute() / rest).as_posix()}"
    return url


def _public_key(
    directory: Path, where: str, key: KeyModel, report: _Report, files: dict[str, str]
) -> bytes | None:
    if (key.public_key is None) == (key.public_key_b64 is None):
        report.add(
            "participants.toml",
            where,
            "give exactly one of public_key (a PEM file) or public_key_b64",
        )
        return None
    if key.public_key_b64 is not None:
        try:
            return crypto.load_public_key(key.public_key_b64)
        except crypto.KeyFormatError as exc:
            report.add("participants.toml", f"{where}.public_key_b64", str(exc))
            return None
    assert key.public_key is not None
    try:
        pem = (directory / key.public_key).read_bytes()
    except FileNotFoundError:
        report.add("participants.toml", f"{where}.public_key", f"file {key.public_key} not found")
        return None
    except OSError as exc:
        report.add(
            "participants.toml", f"{where}.public_key", f"cannot read {key.public_key}: {exc}"
        )
        return None
    files[key.public_key] = hashlib.sha256(pem).hexdigest()
    if b"-----BEGIN" not in pem:
        report.add("participants.toml", f"{where}.public_key", f"{key.public_key} is not PEM")
        return None
    try:
        return crypto.load_public_key(pem)
    except crypto.KeyFormatError as exc:
        report.add("participants.toml", f"{where}.public_key", f"{key.public_key}: {exc}")
        return None


def _audience(where: str, model: ParticipantModel, report: _Report) -> tuple[frozenset[str], bool]:
    if model.audience is None:
        if model.kind is ParticipantKind.SECRETARIAT:
            return frozenset(), True
        if model.kind is ParticipantKind.HUB:
            report.add(
                "participants.toml",
                f"{where}.audience",
                "a hub must declare its audience (the countries its deliveries reach), "
                f"e.g. {list(GCC_STATES)}",
            )
            return frozenset(), False
        return frozenset({model.country} if model.country else ()), False
    if model.audience == ["ALL"]:
        return frozenset(), True
    if not model.audience:
        report.add("participants.toml", f"{where}.audience", 'empty; list alpha-2 codes or ["ALL"]')
    for i, code in enumerate(model.audience):
        if not codes.is_alpha2(code):
            report.add(
                "participants.toml",
                f"{where}.audience[{i}]",
                f'expected an ISO 3166-1 alpha-2 code or a lone "ALL", got {code!r}',
            )
    return frozenset(model.audience), False


def _participant(
    index: int,
    model: ParticipantModel,
    *,
    directory: Path,
    report: _Report,
    files: dict[str, str],
    keys: dict[str, tuple[str, KeyRecord]],
) -> Participant:
    where = f"participant[{index}]"
    file = "participants.toml"
    if not _ID.fullmatch(model.id) or model.id == "national-system-of-nationality":
        report.add(
            file, f"{where}.id", f"expected letters, digits, . _ - (no colon); got {model.id!r}"
        )
    if model.schema_ not in SCHEMA_KINDS:
        report.add(
            file,
            f"{where}.schema",
            f"expected one of {', '.join(SCHEMA_KINDS)}, got {model.schema_!r}",
        )
    if model.country is None:
        if model.kind in (ParticipantKind.NCB, ParticipantKind.NATIONAL):
            report.add(file, f"{where}.country", f"required for a {model.kind.value} participant")
    elif not codes.is_alpha2(model.country):
        report.add(
            file, f"{where}.country", f"expected an ISO 3166-1 alpha-2 code, got {model.country!r}"
        )
    if not model.endpoint.startswith(("http://", "https://")):
        report.add(file, f"{where}.endpoint", f"expected an http(s) URL, got {model.endpoint!r}")
    words = SCHEMA_KINDS.get(model.schema_, {})
    for i, kind in enumerate(model.may_send):
        if words and kind not in words:
            report.add(
                file,
                f"{where}.may_send[{i}]",
                f"unknown message kind {kind!r} for the {model.schema_} schema; "
                f"expected {', '.join(words)}",
            )
    audience, audience_all = _audience(where, model, report)
    keyids: list[str] = []
    for k, key in enumerate(model.key):
        kwhere = f"{where}.key[{k}]"
        if not _KEYID.fullmatch(key.keyid):
            report.add(file, f"{kwhere}.keyid", f"not a valid keyid: {key.keyid!r}")
        raw = _public_key(directory, kwhere, key, report, files)
        if key.keyid in keys:
            owner, _ = keys[key.keyid]
            report.add(file, f"{kwhere}.keyid", f"keyid {key.keyid!r} is already used by {owner}")
            continue
        if raw is None:
            continue
        record = KeyRecord(
            KeyID(key.keyid), model.id, raw, key.not_before, key.not_after, key.revoked
        )
        keys[key.keyid] = (f"{where} ({model.id})", record)
        keyids.append(key.keyid)
    return Participant(
        id=model.id,
        name=model.name,
        schema_=model.schema_,
        kind=model.kind,
        country=model.country,
        endpoint=model.endpoint,
        may_send=tuple(model.may_send),
        audience=audience,
        audience_all=audience_all,
        keys=tuple(keyids),
    )


def _entries(raw: dict[str, Any], table: str, file: str, report: _Report) -> list[Any]:
    for key in raw:
        if key != table:
            report.add(file, key, f"unknown key; this file holds only [[{table}]] entries")
    entries = raw.get(table, [])
    if not isinstance(entries, list):
        report.add(file, table, f"expected [[{table}]] tables")
        return []
    return entries


def _participants(
    raw: dict[str, Any], directory: Path, report: _Report, files: dict[str, str]
) -> tuple[dict[str, Participant], dict[str, KeyRecord], frozenset[str]]:
    """Valid participants, their keys, and every id named (so that a participant with a
    problem of its own does not also make each rule that names it an error)."""
    participants: dict[str, Participant] = {}
    keys: dict[str, tuple[str, KeyRecord]] = {}
    named: set[str] = set()
    for index, entry in enumerate(_entries(raw, "participant", "participants.toml", report)):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            named.add(entry["id"])
        try:
            model = ParticipantModel.model_validate(entry)
        except ValidationError as exc:
            report.validation("participants.toml", f"participant[{index}]", exc, ParticipantModel)
            continue
        p = _participant(index, model, directory=directory, report=report, files=files, keys=keys)
        if p.id in participants:
            report.add(
                "participants.toml",
                f"participant[{index}].id",
                f"duplicate participant id {p.id!r}",
            )
            continue
        participants[p.id] = p
    return participants, {k: record for k, (_, record) in keys.items()}, frozenset(named)


def _rules(raw: dict[str, Any], participant_ids: frozenset[str], report: _Report) -> list[Rule]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, entry in enumerate(_entries(raw, "rule", "routing.toml", report)):
        where = f"rule[{index}]"
        try:
            model = RuleModel.model_validate(entry)
        except ValidationError as exc:
            report.validation("routing.toml", where, exc, RuleModel)
            continue
        if model.id in seen:
            report.add("routing.toml", f"{where}.id", f"duplicate rule id {model.id!r}")
        seen.add(model.id)
        try:
            rules.append(
                compile_rule(
                    model.id,
                    description=model.description,
                    when=model.when,
                    deliver_to=model.deliver_to,
                    deny_to=model.deny_to,
                    participant_ids=participant_ids,
                )
            )
        except RuleError as exc:
            for path, message in exc.problems:
                report.add("routing.toml", f"{where}.{path}", message)
    return rules


def _operators(raw: dict[str, Any], report: _Report) -> list[Operator]:
    operators: list[Operator] = []
    names: set[str] = set()
    digests: set[str] = set()
    for index, entry in enumerate(_entries(raw, "operator", "operators.toml", report)):
        where = f"operator[{index}]"
        try:
            model = OperatorModel.model_validate(entry)
        except ValidationError as exc:
            report.validation("operators.toml", where, exc, OperatorModel)
            continue
        try:
            role = Role.parse(model.role)
        except ValueError as exc:
            report.add("operators.toml", f"{where}.role", str(exc))
            continue
        digest = model.token_sha256.lower()
        if not _HEX64.fullmatch(digest):
            report.add(
                "operators.toml",
                f"{where}.token_sha256",
                "expected 64 hex digits (SHA-256 of the token)",
            )
            continue
        if model.name in names:
            report.add("operators.toml", f"{where}.name", f"duplicate operator name {model.name!r}")
        if digest in digests:
            report.add("operators.toml", f"{where}.token_sha256", "another operator has this token")
        names.add(model.name)
        digests.add(digest)
        operators.append(Operator(model.name, role, digest))
    return operators


def _check_signing_key(path: Path, shown: str, report: _Report) -> None:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        report.add("gateway.toml", "gateway.signing_key", f"file {shown} not found")
        return
    except OSError as exc:
        report.add("gateway.toml", "gateway.signing_key", f"cannot read {shown}: {exc}")
        return
    try:
        crypto.load_private_key(pem)  # checked, not kept: the runtime loads it
    except crypto.KeyFormatError as exc:
        report.add("gateway.toml", "gateway.signing_key", f"{shown}: {exc}")


def _canonical(value: Any) -> Any:
    """TOML values as JSON values (dates as ISO 8601 text) for RFC 8785 canonical bytes."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _digest(value: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(_canonical(value))).hexdigest()


def load_config(
    directory: Path,
    environ: Mapping[str, str] | None = None,
    *,
    require_signing_key: bool = False,
) -> GatewayConfig:
    """Read and validate the whole folder. ``environ`` defaults to ``os.environ``.

    The gateway's private key is checked (exists, parses as Ed25519) only when
    ``require_signing_key``; it is never kept in the returned configuration."""
    env = os.environ if environ is None else environ
    report = _Report()
    read = _read_toml(directory, "gateway.toml", report, required=True)
    raw_gateway = read or {}
    raw_participants = _read_toml(directory, "participants.toml", report, required=True) or {}
    raw_routing = _read_toml(directory, "routing.toml", report, required=True) or {}
    raw_operators = _read_toml(directory, "operators.toml", report, required=False) or {}

    applied = _env_overrides(raw_gateway, env, report)
    settings = _settings(raw_gateway, applied, report) if read is not None else None
    key_files: dict[str, str] = {}
    participants, keys, named = _participants(raw_participants, directory, report, key_files)
    rules = _rules(raw_routing, named, report)
    operators = _operators(raw_operators, report)

    signing_key_path = Path()
    if settings is not None:
        gw = settings.gateway
        if gw.id in participants:
            report.add("gateway.toml", "gateway.id", f"{gw.id!r} is also a participant id")
        if gw.signing_keyid in keys:
            report.add(
                "gateway.toml",
                "gateway.signing_keyid",
                f"{gw.signing_keyid!r} is also a keyid of participant "
                f"{keys[gw.signing_keyid].participant}",
            )
        signing_key_path = directory.absolute() / gw.signing_key
        if require_signing_key:
            _check_signing_key(signing_key_path, gw.signing_key, report)

    if report.issues or settings is None:
        raise ConfigError(report.issues)
    return GatewayConfig(
        directory=directory,
        settings=settings,
        participants=MappingProxyType(participants),
        keys=MappingProxyType(keys),
        rules=tuple(rules),
        operators=tuple(operators),
        rules_digest=_digest(raw_routing),
        config_digest=_digest(
            {
                "gateway.toml": raw_gateway,
                "participants.toml": raw_participants,
                "routing.toml": raw_routing,
                "operators.toml": raw_operators,
                "key files": key_files,
            }
        ),
        storage_url=_storage_url(settings.storage.url, directory),
        signing_key_path=signing_key_path,
        overrides=MappingProxyType(applied),
    )
