"""gateway.crypto: both Ed25519 backends agree with each other and with RFC 8032 §7.1."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import crypto

BACKENDS = sorted(crypto.BACKENDS)

# RFC 8032 §7.1, TEST 1 (empty message) and TEST 3 (two octets).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

# RFC 9421 Appendix B.1.4, test-key-ed25519.
RFC9421_PRIVATE_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    "-----END PRIVATE KEY-----\n"
)
RFC9421_PUBLIC_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    "-----END PUBLIC KEY-----\n"
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(
    backend: str, seed: str, public: str, message: str, signature: str
) -> None:
    key = crypto.private_key_from_seed(bytes.fromhex(seed), backend)
    assert key.public.hex() == public
    assert key.backend == backend
    assert crypto.sign(key, bytes.fromhex(message)).hex() == signature
    assert crypto.verify(
        bytes.fromhex(public), bytes.fromhex(signature), bytes.fromhex(message), backend
    )


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300))
def test_backends_make_the_same_signature_and_accept_each_others(
    seed: bytes, message: bytes
) -> None:
    keys = [crypto.private_key_from_seed(seed, b) for b in BACKENDS]
    signatures = {crypto.sign(k, message) for k in keys}
    assert len(signatures) == 1  # Ed25519 is deterministic (RFC 8032 §5.1.6)
    (signature,) = signatures
    for backend in BACKENDS:
        assert crypto.verify(keys[0].public, signature, message, backend)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    message=st.binary(min_size=1, max_size=200),
    flip=st.integers(min_value=0, max_value=8 * 64 - 1),
)
def test_backends_agree_on_rejecting_tampered_signatures(
    seed: bytes, message: bytes, flip: int
) -> None:
    key = crypto.private_key_from_seed(seed)
    signature = bytearray(crypto.sign(key, message))
    signature[flip // 8] ^= 1 << (flip % 8)
    results = {crypto.verify(key.public, bytes(signature), message, b) for b in BACKENDS}
    assert results == {False}
    tampered = bytes([message[0] ^ 1]) + message[1:]
    good = crypto.sign(key, message)
    assert {crypto.verify(key.public, good, tampered, b) for b in BACKENDS} == {False}


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_signatures_are_false_never_an_exception(backend: str) -> None:
    key = crypto.generate(backend)
    other = crypto.generate(backend)
    message = b"notice"
    good = crypto.sign(key, message)
    assert crypto.verify(key.public, good, message, backend)
    assert not crypto.verify(other.public, good, message, backend)  # wrong key
    assert not crypto.verify(key.public, good[:63], message, backend)  # short
    assert not crypto.verify(key.public, good + b"\x00", message, backend)  # long
    assert not crypto.verify(key.public, b"", message, backend)
    assert not crypto.verify(key.public, b"\xff" * 64, message, backend)  # S out of range
    # A public key that is not a curve point is refused, not raised.
    assert not crypto.verify(b"\xff" * 32, good, message, backend)


def test_a_public_key_of_the_wrong_size_is_a_typed_error() -> None:
    with pytest.raises(crypto.KeyFormatError, match="expected 32 raw bytes, got 31"):
        crypto.verify(b"\x00" * 31, b"\x00" * 64, b"m")


def test_rfc9421_test_key_loads_from_pem() -> None:
    key = crypto.load_private_key(RFC9421_PRIVATE_PEM)
    assert key.public == crypto.load_public_key(RFC9421_PUBLIC_PEM)
    assert crypto.public_key_b64(key.public) == "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="


def test_pem_round_trip_and_other_public_key_forms() -> None:
    key = crypto.generate()
    again = crypto.load_private_key(crypto.private_key_pem(key))
    assert again.seed == key.seed and again.public == key.public
    assert crypto.public_key_bytes(key) == key.public
    pem = crypto.public_key_pem(key.public)
    assert crypto.load_public_key(pem) == key.public
    assert crypto.load_public_key(key.public) == key.public  # 32 raw bytes
    b64 = crypto.public_key_b64(key.public)
    assert crypto.load_public_key(b64) == key.public
    assert crypto.load_public_key(b64.encode() + b"\n") == key.public


def test_a_cryptography_key_is_accepted_where_a_private_key_is_wanted() -> None:
    foreign = Ed25519PrivateKey.generate()
    key = crypto.as_private_key(foreign)
    assert key.public == foreign.public_key().public_bytes_raw()
    assert crypto.sign(key, b"x") == foreign.sign(b"x")
    assert crypto.as_private_key(key) is key


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not a key", "expected PEM, 32 raw bytes or base64"),
        (base64.b64encode(b"\x01" * 31).decode(), "decodes to 31 bytes, expected 32"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM Ed25519 public key"),
        (
            X25519PrivateKey.generate()
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            "expected an Ed25519 key, got X25519PublicKey",
        ),
    ],
)
def test_bad_public_keys_are_typed_errors(data: str, message: str) -> None:
    with pytest.raises(crypto.KeyFormatError, match=message):
        crypto.load_public_key(data)


def test_bad_private_keys_are_typed_errors() -> None:
    with pytest.raises(crypto.KeyFormatError, match="PKCS#8 PEM"):
        crypto.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    x25519 = X25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(
        crypto.KeyFormatError, match="expected an Ed25519 key, got X25519PrivateKey"
    ):
        crypto.load_private_key(x25519)
    with pytest.raises(crypto.KeyFormatError, match="expected 32 bytes, got 5"):
        crypto.private_key_from_seed(b"short")


def test_unknown_backend_is_a_typed_error() -> None:
    with pytest.raises(crypto.CryptoError, match="unknown Ed25519 backend 'gpg'"):
        crypto.get_backend("gpg")


def test_the_seed_is_not_in_the_repr() -> None:
    key = crypto.generate()
    assert key.seed.hex() not in repr(key)
    assert "seed" not in repr(key)
