"""`gateway keys new NAME [--out DIR]` (gateway/commands/keys.py)."""

from __future__ import annotations

import base64
import re
import stat
import tomllib
from pathlib import Path

import typer
from typer.testing import CliRunner

from gateway import crypto
from gateway.cli import _COMMAND_MODULES, CliError
from gateway.commands.keys import register


def run(*args: str) -> tuple[int, str, str, BaseException | None]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr, result.exception


def test_the_command_is_registered() -> None:
    assert "keys" in _COMMAND_MODULES


def test_new_writes_a_usable_key_pair_and_prints_the_snippet(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    code, stdout, stderr, _ = run("keys", "new", "ncb-fr-2026", "--out", str(out))
    assert code == 0, stderr
    private, public = out / "ncb-fr-2026.pem", out / "ncb-fr-2026.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = crypto.load_private_key(private.read_bytes())
    assert crypto.load_public_key(public.read_bytes()) == key.public

    snippet = tomllib.loads(stdout)
    (entry,) = snippet["participant"]["key"]
    assert entry == {"keyid": "ncb-fr-2026", "public_key": public.as_posix()}
    b64 = re.search(r'^# or: public_key_b64 = "([^"]+)"$', stdout, re.MULTILINE)
    assert b64 is not None and base64.b64decode(b64.group(1)) == key.public
    assert "keep it secret" in stderr

    # The pair works: what the private key signs, the printed public key verifies.
    assert crypto.verify(base64.b64decode(b64.group(1)), key.sign(b"m"), b"m")


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run("keys", "new", "gw", "--out", str(tmp_path))[0] == 0
    before = (tmp_path / "gw.pem").read_bytes()
    code, _, _, exc = run("keys", "new", "gw", "--out", str(tmp_path))
    assert code != 0
    assert isinstance(exc, CliError) and "already exists; refusing to overwrite" in str(exc)
    assert (tmp_path / "gw.pem").read_bytes() == before


def test_new_refuses_when_only_the_public_file_exists(tmp_path: Path) -> None:
    (tmp_path / "gw.pub.pem").write_text("placeholder")
    code, _, _, exc = run("keys", "new", "gw", "--out", str(tmp_path))
    assert code != 0 and isinstance(exc, CliError)
    assert not (tmp_path / "gw.pem").exists()


def test_new_refuses_a_bad_name(tmp_path: Path) -> None:
    code, _, _, exc = run("keys", "new", "../escape", "--out", str(tmp_path))
    assert code != 0
    assert isinstance(exc, CliError) and "must be 1-64 letters" in str(exc)
    assert list(tmp_path.iterdir()) == []
