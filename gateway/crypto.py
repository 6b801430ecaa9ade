"""Ed25519 (RFC 8032) behind one small interface, with two interchangeable backends.

Every signature the gateway makes or checks goes through this module: HTTP message
signatures (RFC 9421 §3.3.6) and the audit log's signed notes. Two backends implement the
same three primitives; `BACKEND` picks the one the benchmark found faster on our machines
(bench/bench_signatures.py: libsodium verifies in about half the time OpenSSL takes).

    CryptoError            base of every error raised here
    └── KeyFormatError     a key that does not parse, saying what was expected

An invalid signature is never an exception: `verify` returns False for a signature of the
wrong length, a forged one, or one made by another key. Nothing from `cryptography` or
`nacl` leaks out of this module.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass, field
from typing import Final, Protocol

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "BACKEND",
    "BACKENDS",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "AnyPrivateKey",
    "CryptoError",
    "Ed25519Backend",
    "KeyFormatError",
    "PrivateKey",
    "as_private_key",
    "generate",
    "get_backend",
    "load_private_key",
    "load_public_key",
    "private_key_from_seed",
    "private_key_pem",
    "public_key_b64",
    "public_key_bytes",
    "public_key_pem",
    "sign",
    "verify",
]

SEED_SIZE: Final = 32
PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64


class CryptoError(Exception):
    """Base of the errors raised by `gateway.crypto`."""


class KeyFormatError(CryptoError, ValueError):
    """A key that does not parse; the message says what was expected and what was got."""


class Ed25519Backend(Protocol):
    """The three primitives a backend provides. ``signer`` prepares a key once so that
    each signature does not pay for expanding the seed again."""

    name: str

    def public_from_seed(self, seed: bytes) -> bytes: ...

    def signer(self, seed: bytes) -> _Signer: ...

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool: ...


class _Signer(Protocol):
    def __call__(self, message: bytes, /) -> bytes: ...


class _CryptographyBackend:
    """OpenSSL through `cryptography`."""

    name = "cryptography"

    def public_from_seed(self, seed: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    def signer(self, seed: bytes) -> _Signer:
        return Ed25519PrivateKey.from_private_bytes(seed).sign

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            _openssl_public_key(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@functools.lru_cache(maxsize=1024)
def _openssl_public_key(raw: bytes) -> Ed25519PublicKey:
    # Loading costs a few µs; participants are few, so keep the loaded keys.
    return Ed25519PublicKey.from_public_bytes(raw)


class _SodiumBackend:
    """libsodium through PyNaCl's low-level bindings (no per-call key objects)."""

    name = "nacl"

    def public_from_seed(self, seed: bytes) -> bytes:
        public, _ = nacl.bindings.crypto_sign_seed_keypair(seed)
        return bytes(public)

    def signer(self, seed: bytes) -> _Signer:
        _, secret = nacl.bindings.crypto_sign_seed_keypair(seed)

        def sign(message: bytes) -> bytes:
            # crypto_sign returns signature || message; the signature is the first 64 bytes.
            return bytes(nacl.bindings.crypto_sign(message, secret)[:SIGNATURE_SIZE])

        return sign

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            nacl.bindings.crypto_sign_open(signature + message, public_key)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
            return False
        return True


BACKENDS: Final[dict[str, Ed25519Backend]] = {
    "cryptography": _CryptographyBackend(),
    "nacl": _SodiumBackend(),
}

# Chosen by bench/bench_signatures.py (docs/signatures.md has the figures).
BACKEND: Final = "nacl"
_DEFAULT: Final = BACKENDS[BACKEND]


def get_backend(name: str | None = None) -> Ed25519Backend:
    """The backend called ``name``, or the default one."""
    try:
        return BACKENDS[name or BACKEND]
    except KeyError:
        raise CryptoError(
            f"unknown Ed25519 backend {name!r}; expected one of {', '.join(BACKENDS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """An Ed25519 private key: the 32-byte seed (RFC 8032 §5.1.5), its public key, and the
    backend's prepared signer."""

    seed: bytes = field(repr=False)
    public: bytes
    backend: str
    _sign: _Signer = field(repr=False, compare=False)

    def sign(self, message: bytes) -> bytes:
        return self._sign(message)


def private_key_from_seed(seed: bytes, backend: str | None = None) -> PrivateKey:
    if len(seed) != SEED_SIZE:
        raise KeyFormatError(f"Ed25519 seed: expected {SEED_SIZE} bytes, got {len(seed)}")
    impl = get_backend(backend)
    return PrivateKey(bytes(seed), impl.public_from_seed(seed), impl.name, impl.signer(seed))


def generate(backend: str | None = None) -> PrivateKey:
    """A new key from the operating system's random source."""
    return private_key_from_seed(os.urandom(SEED_SIZE), backend)


AnyPrivateKey = PrivateKey | Ed25519PrivateKey


def as_private_key(key: AnyPrivateKey) -> PrivateKey:
    """Accept a `cryptography` key where a `PrivateKey` is wanted (tests, tools)."""
    if isinstance(key, PrivateKey):
        return key
    return private_key_from_seed(key.private_bytes_raw())


def load_private_key(pem: bytes | str, backend: str | None = None) -> PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM (RFC 8410 §7), unencrypted."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(
            f"private key: expected an unencrypted PKCS#8 PEM Ed25519 key ({exc})"
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFormatError(
            f"private key: expected an Ed25519 key, got {type(loaded).__name__.lstrip('_')}"
        )
    return private_key_from_seed(loaded.private_bytes_raw(), backend)


def load_public_key(data: bytes | str) -> bytes:
    """The raw 32-byte public key from a SubjectPublicKeyInfo PEM, 32 raw bytes, or the
    standard base64 of 32 raw bytes."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if b"-----BEGIN" in raw:
        return _public_from_pem(raw)
    if len(raw) == PUBLIC_KEY_SIZE and isinstance(data, bytes):
        return bytes(raw)
    try:
        decoded = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(
            "public key: expected PEM, 32 raw bytes or base64 of 32 bytes; "
            f"got {len(raw)} bytes that are none of these"
        ) from None
    if len(decoded) != PUBLIC_KEY_SIZE:
        raise KeyFormatError(
            f"public key: base64 decodes to {len(decoded)} bytes, expected {PUBLIC_KEY_SIZE}"
        )
    return decoded


def _public_from_pem(pem: bytes) -> bytes:
    try:
        loaded = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"public key: expected a PEM Ed25519 public key ({exc})") from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyFormatError(
            f"public key: expected an Ed25519 key, got {type(loaded).__name__.lstrip('_')}"
        )
    return loaded.public_bytes_raw()


def private_key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (the file mode protects it)."""
    return Ed25519PrivateKey.from_private_bytes(key.seed).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(public_key: bytes) -> bytes:
    """SubjectPublicKeyInfo PEM of a raw public key."""
    _check_public_size(public_key)
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_bytes(key: PrivateKey) -> bytes:
    return key.public


def public_key_b64(public_key: bytes) -> str:
    """Standard base64 of the raw public key (participants.toml `public_key_b64`)."""
    return base64.b64encode(public_key).decode("ascii")


def sign(key: PrivateKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message``."""
    return key.sign(message)


def verify(public_key: bytes, signature: bytes, message: bytes, backend: str | None = None) -> bool:
    """True when ``signature`` is ``public_key``'s signature of ``message``; False otherwise.
    A public key that is not 32 bytes is a `KeyFormatError` (a configuration bug)."""
    _check_public_size(public_key)
    if len(signature) != SIGNATURE_SIZE:
        return False
    impl = _DEFAULT if backend is None else get_backend(backend)
    return impl.verify(public_key, signature, message)


def _check_public_size(public_key: bytes) -> None:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise KeyFormatError(
            f"public key: expected {PUBLIC_KEY_SIZE} raw bytes, got {len(public_key)}"
        )
