"""Checkpoints (C2SP tlog-checkpoint) wrapped in signed notes (C2SP signed-note), Ed25519.

A note is its text, a blank line, and signature lines::

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n...]
    \\n
    — <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>\\n

key hash = SHA-256(key name || "\\n" || 0x01 || public key)[:4]  (signed-note, "Ed25519").

Opening a note runs in two stages, like sigstore's checkpoint check: first the signature
(`open_note`: which line, which key, does it verify), then the body (`parse_checkpoint`).
Errors, one tree::

    NoteError (ValueError)
    ├── MalformedVerifierKeyError     "<name>+<hex hash>+<base64 key>" does not parse or agree
    ├── MalformedNoteError            not a signed note (no blank line, bad signature line, ...)
    ├── UnverifiedNoteError           no signature by the verifier key, or one that fails
    └── MalformedCheckpointError      the signed text is not a tlog-checkpoint body
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ED25519_ALGORITHM",
    "Checkpoint",
    "MalformedCheckpointError",
    "MalformedNoteError",
    "MalformedVerifierKeyError",
    "NoteError",
    "UnverifiedNoteError",
    "VerifierKey",
    "key_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
]

ED25519_ALGORITHM = 0x01  # signed-note signature type for Ed25519
_SIG_PREFIX = "— "  # U+2014 EM DASH, then a space
_KEY_HASH_SIZE = 4
_ED25519_SIG_SIZE = 64
_ED25519_KEY_SIZE = 32
_HASH_SIZE = 32
_MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note, against parsing floods


class NoteError(ValueError):
    """A signed note or checkpoint could not be opened."""


class MalformedVerifierKeyError(NoteError):
    pass


class MalformedNoteError(NoteError):
    pass


class UnverifiedNoteError(NoteError):
    pass


class MalformedCheckpointError(NoteError):
    pass


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog-checkpoint body: the log's origin, its size and its RFC 9162 root hash.
    `extensions` are the optional lines after the root (kept, not interpreted)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        """The note text, "<origin>\\n<size>\\n<base64 root>\\n" then any extension lines."""
        _check_line("origin", self.origin)
        if self.size < 0:
            raise MalformedCheckpointError(f"checkpoint: size is {self.size}, expected >= 0")
        if len(self.root_hash) != _HASH_SIZE:
            raise MalformedCheckpointError(
                f"checkpoint: root hash is {len(self.root_hash)} bytes, expected {_HASH_SIZE}"
            )
        for ext in self.extensions:
            _check_line("extension line", ext)
        lines = [self.origin, str(self.size), _b64(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    name: str
    key_hash: bytes  # 4 bytes
    public_key: bytes  # 32-byte raw Ed25519 key


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str, error: type[NoteError]) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise error(f"{what} is not standard base64: {text!r}") from exc


def _check_line(what: str, line: str) -> None:
    if not line:
        raise MalformedCheckpointError(f"checkpoint: {what} is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
        raise MalformedCheckpointError(f"checkpoint: {what} {line!r} holds a control character")


def _check_key_name(name: str) -> None:
    # signed-note: a key name is non-empty and holds no Unicode space and no "+".
    if not name or "+" in name or any(c.isspace() for c in name):
        raise MalformedVerifierKeyError(
            f"note: key name {name!r} must be non-empty, without spaces or '+'"
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise MalformedVerifierKeyError(f"note: key name {name!r} holds a control character")


def key_hash(name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || "\\n" || 0x01 || public key) (signed-note)."""
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_ALGORITHM]) + public_key
    return hashlib.sha256(material).digest()[:_KEY_HASH_SIZE]


def verifier_key(name: str, public_key: bytes) -> str:
    """The signed-note verifier key "<name>+<hex key hash>+<base64(0x01 || key)>"."""
    _check_key_name(name)
    if len(public_key) != _ED25519_KEY_SIZE:
        raise MalformedVerifierKeyError(
            f"note: Ed25519 public key is {len(public_key)} bytes, expected {_ED25519_KEY_SIZE}"
        )
    encoded = _b64(bytes([ED25519_ALGORITHM]) + public_key)
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse and cross-check a verifier key (the hash must match the name and key)."""
    parts = text.strip().split("+", 2)  # the base64 key may itself hold "+"
    if len(parts) != 3:
        raise MalformedVerifierKeyError(
            f"note: verifier key has {len(parts)} '+'-separated parts, expected 3 "
            "(<name>+<hex key hash>+<base64 key>)"
        )
    name, hash_hex, key_b64 = parts
    _check_key_name(name)
    if len(hash_hex) != 2 * _KEY_HASH_SIZE or not all(c in "0123456789abcdef" for c in hash_hex):
        raise MalformedVerifierKeyError(
            f"note: verifier key hash {hash_hex!r} is not 8 lower-case hex digits"
        )
    raw = _b64decode(key_b64, "note: verifier key", MalformedVerifierKeyError)
    if len(raw) != 1 + _ED25519_KEY_SIZE or raw[0] != ED25519_ALGORITHM:
        raise MalformedVerifierKeyError(
            f"note: verifier key is {len(raw)} bytes of type {raw[:1].hex() or 'none'}, "
            f"expected 33 bytes of type 01 (Ed25519)"
        )
    public_key = raw[1:]
    expected = key_hash(name, public_key)
    if bytes.fromhex(hash_hex) != expected:
        raise MalformedVerifierKeyError(
            f"note: verifier key hash is {hash_hex}, but name and key hash to {expected.hex()}"
        )
    return VerifierKey(name=name, key_hash=expected, public_key=public_key)


# ---- signing ---------------------------------------------------------------------------


def _check_text(text: bytes) -> str:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError("note: text is not UTF-8") from exc
    if not decoded.endswith("\n"):
        raise MalformedNoteError("note: text must end with a newline")
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in decoded):
        raise MalformedNoteError("note: text holds a control character other than newline")
    return decoded


def sign_note(
    text: bytes,
    *,
    key_name: str,
    sign: Callable[[bytes], bytes] | Ed25519PrivateKey,
    public_key: bytes | None = None,
) -> bytes:
    """Sign note text: text + "\\n" + "— <name> <base64(key hash || signature)>\\n".

    `sign` is an Ed25519 private key or any callable producing an Ed25519 signature
    (the gateway's crypto backend); with a callable, `public_key` (32 raw bytes) is needed
    for the key hash.
    """
    _check_text(text)
    _check_key_name(key_name)
    if isinstance(sign, Ed25519PrivateKey):
        private_key = sign
        public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        signature = private_key.sign(text)
    else:
        if public_key is None:
            raise ValueError("note: public_key is required when signing with a callable")
        signature = sign(text)
    if len(signature) != _ED25519_SIG_SIZE:
        raise ValueError(
            f"note: signature is {len(signature)} bytes, expected {_ED25519_SIG_SIZE} (Ed25519)"
        )
    line = f"{_SIG_PREFIX}{key_name} {_b64(key_hash(key_name, public_key) + signature)}\n"
    return text + b"\n" + line.encode("utf-8")


def sign_checkpoint(
    checkpoint: Checkpoint,
    *,
    key_name: str,
    sign: Callable[[bytes], bytes] | Ed25519PrivateKey,
    public_key: bytes | None = None,
) -> bytes:
    """The checkpoint as a signed note (bytes exactly as published)."""
    return sign_note(checkpoint.body(), key_name=key_name, sign=sign, public_key=public_key)


# ---- opening: stage 1, the signature ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignatureLine:
    name: str
    key_hash: bytes
    signature: bytes


def _parse_signature_line(line: str, number: int) -> _SignatureLine:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError(
            f"note: signature line {number} must start with '— ' (U+2014 and a space), "
            f"got {line[:12]!r}"
        )
    fields = line[len(_SIG_PREFIX) :].split(" ")
    if len(fields) != 2 or not fields[0] or not fields[1]:
        raise MalformedNoteError(
            f"note: signature line {number} must be '— <name> <base64 signature>'"
        )
    name, sig_b64 = fields
    raw = _b64decode(sig_b64, f"note: signature line {number}", MalformedNoteError)
    if len(raw) <= _KEY_HASH_SIZE:
        raise MalformedNoteError(
            f"note: signature line {number} holds {len(raw)} bytes, expected more than 4"
        )
    return _SignatureLine(name, raw[:_KEY_HASH_SIZE], raw[_KEY_HASH_SIZE:])


def open_note(note: bytes | str, key: str | VerifierKey) -> bytes:
    """Verify a signed note with one verifier key; return its text (the signed bytes).

    Signatures by other keys are ignored (signed-note allows cosigners); at least one must
    be by this key (same name and key hash) and every such one must verify.
    """
    vkey = parse_verifier_key(key) if isinstance(key, str) else key
    raw = note.encode("utf-8") if isinstance(note, str) else note
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError("note: not UTF-8") from exc
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note: no blank line between the text and its signatures")
    text, sigs = decoded[: split + 1], decoded[split + 2 :]
    if not sigs.endswith("\n"):
        raise MalformedNoteError("note: the last signature line does not end with a newline")
    _check_text(text.encode("utf-8"))
    raw_lines = sigs[:-1].split("\n")
    if len(raw_lines) > _MAX_SIGNATURES:
        raise MalformedNoteError(
            f"note: {len(raw_lines)} signature lines, at most {_MAX_SIGNATURES} are read"
        )
    lines = [_parse_signature_line(s, i + 1) for i, s in enumerate(raw_lines)]
    mine = [s for s in lines if s.name == vkey.name and s.key_hash == vkey.key_hash]
    if not mine:
        names = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in lines)
        raise UnverifiedNoteError(
            f"note: no signature by {vkey.name}+{vkey.key_hash.hex()}; signed by {names}"
        )
    text_bytes = text.encode("utf-8")
    public = Ed25519PublicKey.from_public_bytes(vkey.public_key)
    for s in mine:
        try:
            public.verify(s.signature, text_bytes)
        except InvalidSignature as exc:
            raise UnverifiedNoteError(
                f"note: the Ed25519 signature by {vkey.name} does not verify over the text"
            ) from exc
    return text_bytes


# ---- opening: stage 2, the body ---------------------------------------------------------


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse a tlog-checkpoint body (already verified by `open_note`)."""
    decoded = _check_text(text)
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpointError(
            f"checkpoint: body has {len(lines)} lines, expected at least 3 "
            "(origin, tree size, root hash)"
        )
    origin, size_text, root_b64, *extensions = lines
    if not origin:
        raise MalformedCheckpointError("checkpoint: origin line is empty")
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (len(size_text) > 1 and size_text[0] == "0")
    ):
        raise MalformedCheckpointError(
            f"checkpoint: tree size {size_text!r} is not a decimal without leading zeros"
        )
    root = _b64decode(root_b64, "checkpoint: root hash", MalformedCheckpointError)
    if len(root) != _HASH_SIZE:
        raise MalformedCheckpointError(
            f"checkpoint: root hash is {len(root)} bytes, expected {_HASH_SIZE}"
        )
    if any(not ext for ext in extensions):
        raise MalformedCheckpointError("checkpoint: an extension line is empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(
    note: bytes | str, key: str | VerifierKey, *, origin: str | None = None
) -> Checkpoint:
    """Both stages: verify the signature, then parse the body; check the origin if given."""
    checkpoint = parse_checkpoint(open_note(note, key))
    if origin is not None and checkpoint.origin != origin:
        raise MalformedCheckpointError(
            f"checkpoint: origin is {checkpoint.origin!r}, expected {origin!r}"
        )
    return checkpoint
