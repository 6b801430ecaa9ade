"""The running gateway's state: configuration (swapped whole on reload), storage, keys,
background services. Route handlers receive it; nothing else is global."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gateway.config import GatewayConfig, load_config
from gateway.storage.base import Storage

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
    delivery: Kickable | None = None
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def after_commit(self, *, delivered: bool) -> None:
        """Wake the background services that a new commit gives work to."""
        if self.sequencer is not None:
            self.sequencer.kick()
        if delivered and self.delivery is not None:
            self.delivery.kick()

    def reload_config(self) -> GatewayConfig:
        """Load the configuration folder again; on any error the old one stays (raises)."""
        new = load_config(self.config_dir, require_signing_key=True)
        self.config = new
        return new

    def log_event(self, name: str, **fields: Any) -> None:
        log.info(name, extra={"fields": fields})
