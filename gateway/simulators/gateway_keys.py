"""The gateway's public keys as a simulated recipient knows them: given, or fetched from
the gateway's GET /v1/keys (a JWK set, RFC 8037 OKP keys) and fetched again when a delivery
names a keyid not seen yet (key rotation)."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import orjson

from gateway import crypto
from gateway.keys import KeyID, KeyRecord

__all__ = ["GatewayKeys", "keys_from_jwks"]

_REFETCH_SECONDS = 5.0  # an unknown keyid triggers at most one fetch per this interval


def keys_from_jwks(document: Mapping[str, Any], participant: str = "gateway") -> list[KeyRecord]:
    """Ed25519 keys of a JWK set: {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": …,
    "kid": …}]}; a key may name its id ``keyid`` instead of ``kid``."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("gateway keys: the document has no 'keys' list")
    found: list[KeyRecord] = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or entry.get("kty") != "OKP"
            or entry.get("crv") != "Ed25519"
        ):
            continue
        kid = entry.get("kid") or entry.get("keyid")
        x = entry.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == crypto.PUBLIC_KEY_SIZE:
            found.append(KeyRecord(KeyID(kid), participant, raw))
    return found


class GatewayKeys:
    def __init__(
        self,
        keys: Iterable[KeyRecord] = (),
        *,
        url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._keys: dict[str, KeyRecord] = {k.keyid: k for k in keys}
        self.url = url
        self._client = client
        self._fetched_at: float | None = None

    def resolve(self, keyid: KeyID) -> KeyRecord | None:
        return self._keys.get(keyid)

    def add(self, key: KeyRecord) -> None:
        self._keys[key.keyid] = key

    @property
    def may_fetch(self) -> bool:
        if self.url is None:
            return False
        return self._fetched_at is None or time.monotonic() - self._fetched_at > _REFETCH_SECONDS

    async def fetch(self) -> None:
        """Read the gateway's key set; failures leave the known keys as they are."""
        if self.url is None:
            return
        self._fetched_at = time.monotonic()
        client = self._client or httpx.AsyncClient(trust_env=False)
        try:
            response = await client.get(self.url, timeout=5.0)
            if response.status_code == 200:
                for key in keys_from_jwks(orjson.loads(response.content)):
                    self._keys[key.keyid] = key
        except (httpx.HTTPError, orjson.JSONDecodeError, ValueError):
            pass
        finally:
            if self._client is None:
                await client.aclose()
