"""Cost of signing and verifying (docs/signatures.md, "Figures").

    .venv/bin/python -m bench.bench_signatures [--quick] [--json]

Prints µs per Ed25519 sign / verify for each gateway.crypto backend, then a whole
`verify_request` / `sign_request` on a typical 2 KiB notice against the pure-Python
`http-message-signatures` package doing the same job (its verify plus the Content-Digest
check it does not do itself). Each figure is the best of several repeats (least noise).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway import crypto
from gateway.keys import KeyID, KeyRecord
from gateway.signatures import content_digest, sign_request, verify_request

AUTHORITY = "gateway.example:8443"
KEYID = "ncb-fr-2026"
NOW = 1_763_626_500


def best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def typical_body(size: int = 2048) -> bytes:
    notice = {"message_id": "m-1", "sender_id": "ncb-fr", "notice_type": "red", "text": ""}
    filler = size - len(json.dumps(notice).encode())
    notice["text"] = "x" * max(filler, 0)
    return json.dumps(notice).encode()


def crypto_figures(number: int, repeat: int) -> dict[str, float]:
    message = os.urandom(300)  # about the size of a signature base
    out: dict[str, float] = {}
    for name in sorted(crypto.BACKENDS):
        key = crypto.private_key_from_seed(b"\x01" * 32, name)
        signature = key.sign(message)
        out[f"ed25519 sign ({name})"] = best_us(lambda k=key: k.sign(message), number, repeat)
        out[f"ed25519 verify ({name})"] = best_us(
            lambda n=name, k=key, s=signature: crypto.verify(k.public, s, message, n),
            number,
            repeat,
        )
    return out


@dataclass
class _Message:
    method: str
    url: str
    headers: Any = field(default_factory=dict)


def request_figures(number: int, repeat: int) -> dict[str, float]:
    key = crypto.private_key_from_seed(b"\x02" * 32)
    keys = {KeyID(KEYID): KeyRecord(KeyID(KEYID), "ncb-fr", key.public)}
    body = typical_body()
    headers = {"content-type": "application/vnd.interpol.notice+json"}
    headers.update(
        sign_request(
            "POST", AUTHORITY, "/v1/messages", headers, body, key=key, keyid=KEYID,
            created=NOW, nonce="n-1",
        )
    )  # fmt: skip

    def ours_verify() -> object:
        return verify_request(
            method="POST", authority=AUTHORITY, path="/v1/messages", headers=headers, body=body,
            expected_authority=AUTHORITY, now=NOW, window_seconds=300, resolve_key=keys.get,
        )  # fmt: skip

    def ours_sign() -> object:
        return sign_request(
            "POST", AUTHORITY, "/v1/messages", {"content-type": headers["content-type"]}, body,
            key=key, keyid=KEYID, created=NOW, nonce="n-1",
        )  # fmt: skip

    out = {
        "verify_request, 2 KiB body (ours)": best_us(ours_verify, number, repeat),
        "sign_request, 2 KiB body (ours)": best_us(ours_sign, number, repeat),
    }
    out.update(_package_figures(key, body, number, repeat))
    return out


def _package_figures(
    key: crypto.PrivateKey, body: bytes, number: int, repeat: int
) -> dict[str, float]:
    try:
        import http_message_signatures as hms
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PrivateKey,
            Ed25519PublicKey,
        )
        from http_message_signatures.structures import CaseInsensitiveDict
    except ImportError:
        return {}

    private = Ed25519PrivateKey.from_private_bytes(key.seed)
    public = Ed25519PublicKey.from_public_bytes(key.public)

    class Keys(hms.HTTPSignatureKeyResolver):  # type: ignore[misc]
        def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
            return public

        def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
            return private

    signer = hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys())
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys()
    )
    url = f"https://{AUTHORITY}/v1/messages"
    components = ("@method", "@authority", "@path", "content-type", "content-digest")

    def package_sign() -> _Message:
        message = _Message(
            "POST",
            url,
            CaseInsensitiveDict(
                {"Content-Type": "application/json", "Content-Digest": content_digest(body)}
            ),
        )
        signer.sign(
            message,
            key_id=KEYID,
            created=dt.datetime.now(dt.UTC),
            nonce="n-1",
            covered_component_ids=components,
        )
        return message

    signed = package_sign()
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()

    def package_verify() -> object:
        result = verifier.verify(signed)
        # The package does not check Content-Digest; do what verify_request does.
        assert signed.headers["Content-Digest"] == f"sha-256=:{expected}:"
        return result

    return {
        "verify 2 KiB body (http-message-signatures)": best_us(package_verify, number, repeat),
        "sign 2 KiB body (http-message-signatures)": best_us(package_sign, number, repeat),
    }


def run(quick: bool = False) -> dict[str, float]:
    number, repeat = (200, 3) if quick else (2000, 5)
    figures = crypto_figures(number, repeat)
    figures.update(request_figures(number // 2, repeat))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    figures = run(args.quick)
    if args.json:
        print(json.dumps({k: round(v, 1) for k, v in figures.items()}, indent=2))
        return
    width = max(len(k) for k in figures)
    for name, us in figures.items():
        print(f"{name:<{width}}  {us:8.1f} µs")
    print(f"(default backend: {crypto.BACKEND})")


if __name__ == "__main__":
    main()
