"""Who a simulated participant system is: its id, schema, endpoint and its own signing key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway import crypto
from gateway.config import GatewayConfig

__all__ = ["ROSTER", "IdentityError", "SimulatorIdentity", "load_identity"]

# The participant systems of config/participants.toml (ports 9101-9116).
ROSTER: tuple[str, ...] = (
    "ipsg",
    "ncb-fr",
    "ncb-de",
    "gccpol-hub",
    "ae-moi",
    "sa-psd",
    "bh-moi",
    "kw-moi",
    "om-rop",
    "qa-moi",
)


class IdentityError(ValueError):
    """The simulator cannot be set up from the configuration; the message says why."""


@dataclass(frozen=True, slots=True)
class SimulatorIdentity:
    participant: str
    name: str
    schema: str  # interpol | gccpol
    keyid: str
    key: crypto.PrivateKey
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (tests)
    inbox_path: str = "/inbox"


def load_identity(
    config: GatewayConfig,
    participant: str,
    *,
    key_path: Path | None = None,
    port: int | None = None,
) -> SimulatorIdentity:
    """The identity of ``participant`` from the configuration. Its private key is read from
    ``key_path``, by default ``<config>/keys/<keyid>.pem`` (never kept in participants.toml)."""
    found = config.participants.get(participant)
    if found is None:
        known = ", ".join(config.participants) or "none"
        raise IdentityError(
            f"sim: no participant {participant!r} in the configuration; known: {known}"
        )
    usable = [k for k in found.keys if not config.keys[k].revoked]
    if not usable:
        raise IdentityError(f"sim: participant {participant!r} has no key that is not revoked")
    keyid = usable[-1]  # the newest key listed: rotation adds keys at the end
    path = key_path or config.directory / "keys" / f"{keyid}.pem"
    try:
        key = crypto.load_private_key(path.read_bytes())
    except OSError as exc:
        raise IdentityError(
            f"sim: cannot read the private key of {keyid!r} at {path}: {exc.strerror}; "
            "pass --key PEM"
        ) from exc
    except crypto.CryptoError as exc:
        raise IdentityError(f"sim: {path} is not an Ed25519 private key: {exc}") from exc
    if crypto.public_key_bytes(key) != config.keys[keyid].public_key:
        raise IdentityError(
            f"sim: the key in {path} is not the private half of {keyid!r} in participants.toml"
        )
    endpoint = urlsplit(found.endpoint)
    return SimulatorIdentity(
        participant=found.id,
        name=found.name,
        schema=found.schema_,
        keyid=keyid,
        key=key,
        host=endpoint.hostname or "127.0.0.1",
        port=port if port is not None else (endpoint.port or 80),
        inbox_path=endpoint.path or "/inbox",
    )
