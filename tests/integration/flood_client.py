"""A flooding client for test_abuse_limits.py, run as its own process so its CPU does not
share an interpreter with the gateway or with the client whose latency is measured.

    python -m tests.integration.flood_client URL SECONDS CONCURRENCY [KEYFILE KEYID]

Signed with KEYFILE/KEYID (a real participant flooding) or unsigned. Prints one JSON
object: the count of answers by status and how many 429s carried Retry-After."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from gateway import crypto
from gateway.signatures import sign_request
from tests.messages import INTERPOL, interpol_red


async def flood(
    url: str, seconds: float, concurrency: int, keyfile: str | None, keyid: str | None
) -> dict[str, object]:
    key = crypto.load_private_key(Path(keyfile).read_bytes()) if keyfile else None
    sender = keyid.rsplit("-", 1)[0] if keyid else "ncb-fr"
    authority = url.split("://", 1)[1]
    statuses: Counter[int] = Counter()
    retry_after = 0
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal retry_after
        while time.monotonic() < deadline:
            body = interpol_red(sender=sender, entity_id=f"2026/{secrets.randbelow(9_000_000)}")
            headers = {"content-type": INTERPOL}
            if key is not None and keyid is not None:
                headers.update(
                    sign_request(
                        "POST",
                        authority,
                        "/v1/messages",
                        headers,
                        body,
                        key=key,
                        keyid=keyid,
                        created=int(time.time()),
                        nonce=secrets.token_urlsafe(16),
                    )
                )
            try:
                r = await client.post(url + "/v1/messages", content=body, headers=headers)
            except httpx.HTTPError:
                statuses[0] += 1
                continue
            statuses[r.status_code] += 1
            if r.status_code == 429 and r.headers.get("retry-after", "").isdigit():
                retry_after += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return {"statuses": {str(k): v for k, v in statuses.items()}, "retry_after": retry_after}


def main() -> None:
    url, seconds, concurrency = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    keyfile = sys.argv[4] if len(sys.argv) > 4 else None
    keyid = sys.argv[5] if len(sys.argv) > 5 else None
    print(json.dumps(asyncio.run(flood(url, seconds, concurrency, keyfile, keyid))))


if __name__ == "__main__":
    main()
