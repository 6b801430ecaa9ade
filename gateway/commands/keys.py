"""`gateway keys new NAME [--out DIR]`: write an Ed25519 key pair and print the
participants.toml snippet (cli.md, config.md)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from gateway import crypto
from gateway.cli import CliError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class NewKeyPair:
    keyid: str
    private_path: Path
    public_path: Path
    public_key: bytes


def write_key_pair(name: str, directory: Path) -> NewKeyPair:
    """Write NAME.pem (PKCS#8, mode 0600) and NAME.pub.pem; never overwrite either."""
    if not _NAME.fullmatch(name):
        raise CliError(f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    private_path, public_path = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise CliError(f"{path} already exists; refusing to overwrite a key")
    key = crypto.generate()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_new(private_path, crypto.private_key_pem(key), 0o600)
        _write_new(public_path, crypto.public_key_pem(key.public), 0o644)
    except OSError as exc:
        raise CliError(f"cannot write the key pair: {exc}") from exc
    return NewKeyPair(name, private_path, public_path, key.public)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: a file that appeared since the check above is not overwritten either.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # os.open applies the umask; set the mode exactly
        os.write(fd, data)
    finally:
        os.close(fd)


def participant_key_snippet(pair: NewKeyPair) -> str:
    return (
        "[[participant.key]]\n"
        f'keyid = "{pair.keyid}"\n'
        f'public_key = "{pair.public_path.as_posix()}"\n'
        f'# or: public_key_b64 = "{crypto.public_key_b64(pair.public_key)}"\n'
    )


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Ed25519 signing keys.")
    app.add_typer(keys, name="keys")

    @keys.command("new")
    def new(
        name: Annotated[str, typer.Argument(help="key name; also its keyid")],
        out: Annotated[Path, typer.Option("--out", help="folder to write the key files to")] = Path(
            "."
        ),
    ) -> None:
        """Write NAME.pem (private, mode 0600) and NAME.pub.pem; print the config snippet."""
        pair = write_key_pair(name, out)
        typer.echo(participant_key_snippet(pair), nl=False)
        typer.echo(
            f"wrote {pair.private_path} (private, keep it secret) and {pair.public_path}",
            err=True,
        )
