"""A complete configuration folder with freshly generated keys: the demo's, the tests'
and the crash test's (config.md: gateway.toml, participants.toml, routing.toml,
operators.toml, keys/). Nothing here is an example to deploy: the keys are made for one run.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway import crypto

__all__ = [
    "DEMO_DELIVERY",
    "GCC_STATES",
    "ROSTER",
    "ROUTING",
    "TEST_DELIVERY",
    "ParticipantSpec",
    "WrittenConfig",
    "free_port",
    "write_config_folder",
]


@dataclass(frozen=True, slots=True)
class ParticipantSpec:
    id: str
    schema: str  # interpol | gccpol
    kind: str  # secretariat | ncb | hub | national
    country: str | None = None


# The ten participant systems of config/participants.toml.
ROSTER: tuple[ParticipantSpec, ...] = (
    ParticipantSpec("ipsg", "interpol", "secretariat"),
    ParticipantSpec("ncb-fr", "interpol", "ncb", "FR"),
    ParticipantSpec("ncb-de", "interpol", "ncb", "DE"),
    ParticipantSpec("gccpol-hub", "gccpol", "hub"),
    ParticipantSpec("ae-moi", "gccpol", "national", "AE"),
    ParticipantSpec("sa-psd", "gccpol", "national", "SA"),
    ParticipantSpec("bh-moi", "gccpol", "national", "BH"),
    ParticipantSpec("kw-moi", "gccpol", "national", "KW"),
    ParticipantSpec("om-rop", "gccpol", "national", "OM"),
    ParticipantSpec("qa-moi", "gccpol", "national", "QA"),
)
GCC_STATES: tuple[str, ...] = ("AE", "BH", "KW", "OM", "QA", "SA")

# config.md's three rules, as config/routing.toml writes them.
ROUTING = """\
[[rule]]
id = "red-notices-to-gcc"
description = "INTERPOL red and yellow notices about GCC nationals go to GCCPOL and the national \
systems"
deliver_to = ["gccpol-hub", "national-system-of-nationality"]
[rule.when]
source_schema = "interpol"
notice_type = ["red", "yellow"]
subject_nationality = ["AE", "BH", "KW", "OM", "QA", "SA"]

[[rule]]
id = "gcc-alerts-to-ipsg"
deliver_to = ["ipsg"]
[rule.when]
source_schema = "gccpol"
alert_category = ["WANTED", "MISSING", "UNIDENTIFIED_BODY"]

[[rule]]
id = "no-secret-outside-gcc"
deny_to = ["schema:interpol"]
[rule.when]
classification = ["SECRET"]
"""

# [delivery] lines. The demo retries a recipient that is down within seconds
# (docs/demo.md); the tests keep a short age limit.
DEMO_DELIVERY = """max_attempts = 20
max_age_seconds = 600
backoff_initial_seconds = 0.25
backoff_max_seconds = 1.0
timeout_seconds = 5.0
"""
TEST_DELIVERY = """max_attempts = 4
max_age_seconds = 600
"""

OPERATOR_ROLES: tuple[str, ...] = ("auditor", "operator", "admin")


@dataclass(frozen=True, slots=True)
class WrittenConfig:
    """What was written: where, and the secrets a client of this configuration needs."""

    directory: Path
    port: int
    gateway_key: crypto.PrivateKey
    keys: dict[str, crypto.PrivateKey]  # participant id -> its private key
    tokens: dict[str, str]  # operator role -> bearer token
    endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    @staticmethod
    def keyid(participant: str) -> str:
        return f"{participant}-2026"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config_folder(
    directory: Path,
    *,
    port: int | None = None,
    gateway_key: crypto.PrivateKey | None = None,
    participant_keys: Mapping[str, crypto.PrivateKey] | None = None,
    endpoints: Mapping[str, str] | None = None,
    routing: str = ROUTING,
    delivery: str = DEMO_DELIVERY,
    extra_gateway: str = "",
    revoked: frozenset[str] = frozenset(),
    key_extra: Mapping[str, str] | None = None,
    may_send: Mapping[str, list[str]] | None = None,
    tokens: Mapping[str, str] | None = None,
    private_keys: bool = True,
) -> WrittenConfig:
    """Write a configuration folder for a gateway on 127.0.0.1:``port`` with embedded
    SQLite (``<directory>/gateway.db``). Keys not given are generated. With
    ``private_keys``, each participant's private key is written to ``keys/<keyid>.pem``
    (mode 0600), where `gateway sim` looks for it. ``extra_gateway`` is appended after the
    [delivery] lines (more [delivery] settings, or further sections)."""
    directory.mkdir(parents=True, exist_ok=True)
    keys_dir = directory / "keys"
    keys_dir.mkdir(exist_ok=True)
    port = port or free_port()
    gw_key = gateway_key or crypto.generate()
    _write_secret(keys_dir / "gateway.pem", crypto.private_key_pem(gw_key))
    (directory / "gateway.toml").write_text(
        f"""[gateway]
id = "gateway"
listen = "127.0.0.1:{port}"
public_authority = "127.0.0.1:{port}"
signing_key = "keys/gateway.pem"
signing_keyid = "gateway-2026"
audit_origin = "gateway.test/audit"

[storage]
url = "sqlite:///{directory / "gateway.db"}"

[limits]
max_body_bytes = 1048576
clock_skew_seconds = 300

[delivery]
{delivery}{extra_gateway}
""",
        "utf-8",
    )
    keys = dict(participant_keys or {})
    eps = dict(endpoints or {})
    parts: list[str] = []
    for spec in ROSTER:
        key = keys.setdefault(spec.id, crypto.generate())
        eps.setdefault(spec.id, f"http://127.0.0.1:{free_port()}/inbox")
        keyid = WrittenConfig.keyid(spec.id)
        if private_keys:
            _write_secret(keys_dir / f"{keyid}.pem", crypto.private_key_pem(key))
        parts.append(
            _participant_block(
                spec,
                endpoint=eps[spec.id],
                public_key=key.public,
                may_send=(may_send or {}).get(spec.id),
                revoked=spec.id in revoked,
                key_extra=(key_extra or {}).get(spec.id, ""),
            )
        )
    (directory / "participants.toml").write_text("\n".join(parts), "utf-8")
    (directory / "routing.toml").write_text(routing, "utf-8")
    toks = dict(tokens or {role: secrets.token_urlsafe(24) for role in OPERATOR_ROLES})
    (directory / "operators.toml").write_text(
        "".join(
            f'[[operator]]\nname = "{role}-1"\nrole = "{role}"\n'
            f'token_sha256 = "{hashlib.sha256(tok.encode()).hexdigest()}"\n\n'
            for role, tok in toks.items()
        ),
        "utf-8",
    )
    return WrittenConfig(directory, port, gw_key, keys, toks, eps)


def _participant_block(
    spec: ParticipantSpec,
    *,
    endpoint: str,
    public_key: bytes,
    may_send: list[str] | None,
    revoked: bool,
    key_extra: str,
) -> str:
    if may_send is not None:
        kinds = "[" + ", ".join(f'"{k}"' for k in may_send) + "]"
    elif spec.schema == "interpol":
        kinds = '["notice.publish", "notice.update", "notice.cancel"]'
    else:
        kinds = '["NEW", "AMEND", "WITHDRAW"]'
    lines = [
        "[[participant]]",
        f'id = "{spec.id}"',
        f'name = "{spec.id}"',
        f'schema = "{spec.schema}"',
        f'kind = "{spec.kind}"',
    ]
    if spec.country:
        lines.append(f'country = "{spec.country}"')
    if spec.kind == "hub":
        lines.append("audience = [" + ", ".join(f'"{c}"' for c in GCC_STATES) + "]")
    lines += [
        f'endpoint = "{endpoint}"',
        f"may_send = {kinds}",
        "",
        "[[participant.key]]",
        f'keyid = "{WrittenConfig.keyid(spec.id)}"',
        f'public_key_b64 = "{crypto.public_key_b64(public_key)}"',
        f"revoked = {'true' if revoked else 'false'}",
        key_extra,
        "",
    ]
    return "\n".join(lines)


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)
