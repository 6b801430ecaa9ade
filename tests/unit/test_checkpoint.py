"""C2SP signed-note and tlog-checkpoint: vectors, layout, and what opening rejects."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.audit.checkpoint import (
    Checkpoint,
    MalformedCheckpointError,
    MalformedNoteError,
    MalformedVerifierKeyError,
    UnverifiedNoteError,
    key_hash,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
)

# The signed-note specification's own example (also in golang.org/x/mod/sumdb/note).
PN_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PN_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PN_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PN_NOTE = (
    PN_TEXT
    + (
        "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
        "dngotpRZb6KE6RyyBwJnAM=\n"
    ).encode()
)

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"gateway audit test key").digest())
PUB = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
NAME = "audit.gateway.example"
ROOT = hashlib.sha256(b"root").digest()


def pn_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(PN_SEED)


def test_spec_example_signs_to_the_same_bytes() -> None:
    public = pn_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verifier_key("PeterNeumann", public) == PN_VKEY
    assert sign_note(PN_TEXT, key_name="PeterNeumann", sign=pn_key()) == PN_NOTE
    assert open_note(PN_NOTE, PN_VKEY) == PN_TEXT


def test_key_hash_byte_layout() -> None:
    # SHA-256(name || 0x0A || 0x01 || 32-byte key), first four bytes.
    expected = hashlib.sha256(NAME.encode() + b"\n" + b"\x01" + PUB).digest()[:4]
    assert key_hash(NAME, PUB) == expected
    vkey = verifier_key(NAME, PUB)
    encoded = base64.b64encode(b"\x01" + PUB).decode()
    assert vkey == f"{NAME}+{expected.hex()}+{encoded}"
    parsed = parse_verifier_key(vkey)
    assert (parsed.name, parsed.key_hash, parsed.public_key) == (NAME, expected, PUB)


def test_checkpoint_note_layout() -> None:
    cp = Checkpoint(origin=NAME, size=42, root_hash=ROOT)
    note = sign_checkpoint(cp, key_name=NAME, sign=KEY)
    text, sig_line = note.decode().split("\n\n")
    assert text + "\n" == f"{NAME}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert sig_line.startswith("\u2014 " + NAME + " ")
    assert sig_line.endswith("\n") and sig_line.count("\n") == 1
    raw = base64.b64decode(sig_line.split(" ")[2])
    assert raw[:4] == key_hash(NAME, PUB)
    KEY.public_key().verify(raw[4:], cp.body())  # signature is over the body bytes exactly


def test_sign_with_a_callable_backend_gives_the_same_note() -> None:
    cp = Checkpoint(origin=NAME, size=7, root_hash=ROOT)
    by_key = sign_checkpoint(cp, key_name=NAME, sign=KEY)
    by_callable = sign_checkpoint(cp, key_name=NAME, sign=KEY.sign, public_key=PUB)
    assert by_key == by_callable
    with pytest.raises(ValueError, match="public_key is required"):
        sign_checkpoint(cp, key_name=NAME, sign=KEY.sign)


def test_round_trip_with_extensions() -> None:
    cp = Checkpoint(origin=NAME, size=0, root_hash=ROOT, extensions=("timestamp 1700000000",))
    note = sign_checkpoint(cp, key_name=NAME, sign=KEY)
    assert open_checkpoint(note, verifier_key(NAME, PUB)) == cp
    assert open_checkpoint(note.decode(), verifier_key(NAME, PUB), origin=NAME) == cp
    with pytest.raises(
        MalformedCheckpointError, match=r"origin is 'audit\.gateway\.example', expected 'x'"
    ):
        open_checkpoint(note, verifier_key(NAME, PUB), origin="x")


def _note(size: int = 5) -> bytes:
    return sign_checkpoint(Checkpoint(NAME, size, ROOT), key_name=NAME, sign=KEY)


def test_tampered_body_fails_the_signature() -> None:
    note = _note(5).replace(b"\n5\n", b"\n6\n", 1)
    with pytest.raises(UnverifiedNoteError, match="does not verify over the text"):
        open_note(note, verifier_key(NAME, PUB))


def test_other_keys_do_not_open_the_note() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    other_pub = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(UnverifiedNoteError, match=r"no signature by audit\.gateway\.example\+"):
        open_note(_note(), verifier_key(NAME, other_pub))
    with pytest.raises(UnverifiedNoteError, match="no signature by other"):
        open_note(_note(), verifier_key("other", PUB))


def test_cosignatures_by_unknown_keys_are_ignored() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    cosigned = sign_note(_note().split(b"\n\n")[0] + b"\n", key_name="witness", sign=other)
    both = cosigned + _note().split(b"\n\n")[1]
    assert parse_checkpoint(open_note(both, verifier_key(NAME, PUB))).size == 5


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (b"origin\n1\nAAAA\n", "no blank line"),
        (_note().rstrip(b"\n"), "does not end with a newline"),
        (_note().replace("\u2014".encode(), b"-"), "must start with"),
        (_note().replace(b" ", b"  ", 1), r"must be '\u2014 <name> <base64 signature>'"),
        (_note()[:-3] + b"!!\n", "not standard base64"),
        (_note().replace(b"\n5\n", b"\n5\x07\n"), "control character"),
        (b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "not UTF-8"),
    ],
)
def test_malformed_notes(note: bytes, message: str) -> None:
    with pytest.raises(MalformedNoteError, match=message):
        open_note(note, verifier_key(NAME, PUB))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"origin\n5\n", "body has 2 lines, expected at least 3"),
        (b"origin\n05\n" + base64.b64encode(ROOT) + b"\n", "'05' is not a decimal"),
        (b"origin\n-5\n" + base64.b64encode(ROOT) + b"\n", "'-5' is not a decimal"),
        (b"origin\n5\n" + base64.b64encode(ROOT[:31]) + b"\n", "root hash is 31 bytes"),
        (b"\n5\n" + base64.b64encode(ROOT) + b"\n", "origin line is empty"),
        (b"o\n5\n" + base64.b64encode(ROOT) + b"\n\n", "an extension line is empty"),
    ],
)
def test_malformed_checkpoint_bodies(text: bytes, message: str) -> None:
    with pytest.raises(MalformedCheckpointError, match=message):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("a+b", "has 2 '\\+'-separated parts, expected 3"),
        (PN_VKEY.replace("c74f20a3", "c74f20a4"), "hash to c74f20a3"),
        (PN_VKEY.replace("+ARpc", "+ZRpc"), "expected 33 bytes of type 01"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        (PN_VKEY.replace("c74f20a3", "C74F20A3"), "8 lower-case hex"),
    ],
)
def test_malformed_verifier_keys(vkey: str, message: str) -> None:
    with pytest.raises(MalformedVerifierKeyError, match=message):
        parse_verifier_key(vkey)


def test_checkpoint_refuses_bad_fields() -> None:
    with pytest.raises(MalformedCheckpointError, match="root hash is 3 bytes"):
        Checkpoint(NAME, 1, b"abc").body()
    with pytest.raises(MalformedCheckpointError, match="origin 'a\\\\nb' holds a control"):
        Checkpoint("a\nb", 1, ROOT).body()
    with pytest.raises(MalformedVerifierKeyError, match="key name"):
        sign_checkpoint(Checkpoint(NAME, 1, ROOT), key_name="a+b", sign=KEY)


def test_verifier_key_whose_base64_holds_a_plus() -> None:
    for i in range(200):
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(bytes([i])).digest())
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        vkey = verifier_key(NAME, public)
        if vkey.count("+") > 2:
            break
    else:
        pytest.fail("no test key with '+' in its base64 form")
    assert parse_verifier_key(vkey + "\n").public_key == public
    note = sign_checkpoint(Checkpoint(NAME, 3, ROOT), key_name=NAME, sign=key)
    assert open_checkpoint(note, vkey).size == 3
