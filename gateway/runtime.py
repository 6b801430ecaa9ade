"""The running gateway's state: configuration (swapped whole on reload), storage, keys,
background services. Route handlers receive it; nothing else is global."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway import crypto
from gateway.audit.checkpoint import verifier_key
from gateway.audit.events import AuditEvent, EventKind, leaf_bytes
from gateway.config import GatewayConfig, load_config
from gateway.metrics import Metrics
from gateway.operators import Operator
from gateway.ratelimit import SenderLimiter, limit_settings
from gateway.storage.base import DeliveryState, EventRow, Storage, Transaction

if TYPE_CHECKING:
    from gateway.delivery import DeliveryWorker

log = logging.getLogger("gateway")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Kickable(Protocol):
    def kick(self) -> None: ...


@dataclass
class Gateway:
    config_dir: Path
    config: GatewayConfig
    storage: Storage
    clock: Callable[[], dt.datetime] = utc_now
    sequencer: Kickable | None = None
    delivery: DeliveryWorker | None = None
    metrics: Metrics = field(default_factory=Metrics)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _key: crypto.PrivateKey | None = None
    _limiter: SenderLimiter | None = None
    _limits_seen: object = None

    # ---- keys ------------------------------------------------------------------------------

    def load_signing_key(self) -> None:
        self._key = crypto.load_private_key(self.config.signing_key_path.read_bytes())

    @property
    def signing_key(self) -> crypto.PrivateKey:
        if self._key is None:
            raise RuntimeError("the gateway signing key is not loaded")
        return self._key

    @property
    def public_key_bytes(self) -> bytes:
        return self.signing_key.public

    def sign_bytes(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)

    def public_keys_jwks(self) -> dict[str, Any]:
        """The gateway's public signing key as a JWK set (RFC 8037 OKP)."""
        x = base64.urlsafe_b64encode(self.public_key_bytes).rstrip(b"=").decode("ascii")
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": x,
                    "kid": self.config.settings.gateway.signing_keyid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ],
            "audit_verifier_key": self.audit_verifier_key(),
        }

    def audit_verifier_key(self) -> str:
        return verifier_key(self.config.settings.gateway.audit_origin, self.public_key_bytes)

    @property
    def limiter(self) -> SenderLimiter:
        """Abuse limits (gateway.ratelimit), following the configuration in force."""
        limits = self.config.settings.limits
        if self._limiter is None:
            self._limiter = SenderLimiter(limit_settings(limits))
        elif limits is not self._limits_seen:  # a reload: compare once, not per request
            self._limiter.configure(limit_settings(limits))
        self._limits_seen = limits
        return self._limiter

    def operators(self) -> tuple[Operator, ...]:
        return self.config.operators

    # ---- background services ---------------------------------------------------------------

    def after_commit(self, *, delivered: bool) -> None:
        """Wake the background services that a new commit gives work to."""
        if self.sequencer is not None:
            self.sequencer.kick()
        if delivered and self.delivery is not None:
            self.delivery.kick()

    def start_delivery(self) -> None:
        from gateway.delivery import DeliveryPolicy, DeliveryWorker

        settings = self.config.settings.delivery
        lease = max(settings.lease_seconds, 2 * settings.timeout_seconds + 1)
        self.delivery = DeliveryWorker(
            self.storage,
            lambda: self.config,
            key=self.signing_key,
            clock=self.clock,
            policy=DeliveryPolicy(lease=dt.timedelta(seconds=lease)),
            on_outcome=lambda outcome: self.metrics.deliveries.labels(outcome).inc(),
        )
        self.delivery.start()

    async def stop_delivery(self) -> None:
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None

    async def purge_nonces_forever(self, every: float = 60.0) -> None:
        """Forget (keyid, nonce) pairs once no request carrying them can be fresh any more
        (signatures.md: kept at least the freshness window; each row carries its own expiry)."""
        while True:
            try:
                await self.storage.purge_nonces(self.clock())
            except Exception:  # storage down: try again next round
                log.warning("nonce-purge-failed", exc_info=True)
            await asyncio.sleep(every)

    # ---- configuration ---------------------------------------------------------------------

    def reload_config(self) -> GatewayConfig:
        """Load the configuration folder again; on any error the old one stays (raises)."""
        new = load_config(self.config_dir, require_signing_key=True)
        self.config = new
        return new

    async def record_config_loaded(
        self, *, actor_type: str, actor: str, refused: list[str] | None = None
    ) -> None:
        """Audit a configuration load — or a refused reload, with its problems (the old
        configuration, whose digests the event names, stays in force)."""
        cfg = self.config
        now = self.clock()
        outcome = "loaded" if refused is None else "refused"
        details: dict[str, Any] = {
            "config_digest": cfg.config_digest,
            "rules_digest": cfg.rules_digest,
            "participants": len(cfg.participants),
            "keys": sorted(cfg.keys),
            "rules": [r.id for r in cfg.rules],
        }
        if refused is not None:
            details["problems"] = refused[:50]
        ev = AuditEvent(
            kind=EventKind.CONFIG_LOADED,
            at=now,
            actor={"type": actor_type, "id": actor},
            message_id=None,
            outcome=outcome,
            body_sha256={},
            details=details,
        )
        await self.storage.commit(
            Transaction(
                events=[
                    EventRow(
                        leaf=leaf_bytes(ev),
                        kind=ev.kind.value,
                        at=now,
                        participant=actor,
                        outcome=outcome,
                    )
                ]
            )
        )
        if self.sequencer is not None:
            self.sequencer.kick()

    # ---- observability ---------------------------------------------------------------------

    async def refresh_gauges(self) -> None:
        cp = await self.storage.latest_checkpoint()
        if cp is not None:
            self.metrics.tree_size.set(cp.tree_size)
            self.metrics.checkpoint_age.set((self.clock() - cp.signed_at).total_seconds())
        self.metrics.queue_depth.set(await self.storage.count_deliveries(DeliveryState.PENDING))

    def log_event(self, name: str, **fields: Any) -> None:
        log.info(name, extra={"fields": fields})
