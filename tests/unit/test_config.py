"""gateway.config: the example folder loads; every kind of problem is reported with its
file, line and key path, all at once; environment overrides; digests."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.config import ConfigError, GatewayConfig, ParticipantKind, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    path = folder / name
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, count), "utf-8")


def append(folder: Path, name: str, text: str) -> None:
    with (folder / name).open("a", encoding="utf-8") as fh:
        fh.write("\n" + text)


def problems(folder: Path, environ: dict[str, str] | None = None, **kw: bool) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(folder, environ or {}, **kw)
    return info.value.problems


def one(found: list[str], *needles: str) -> str:
    hits = [p for p in found if all(n in p for n in needles)]
    assert hits, f"no problem with {needles} in {found}"
    return hits[0]


# ---- the example ------------------------------------------------------------------------


def test_example_folder_loads() -> None:
    cfg = load_config(EXAMPLE, {})
    assert isinstance(cfg, GatewayConfig)
    assert list(cfg.participants) == [
        "ipsg", "ncb-fr", "ncb-de", "gccpol-hub",
        "ae-moi", "sa-psd", "bh-moi", "kw-moi", "om-rop", "qa-moi",
    ]  # fmt: skip
    hub = cfg.participants["gccpol-hub"]
    assert hub.kind is ParticipantKind.HUB and hub.schema_ == "gccpol"
    assert hub.audience == {"AE", "BH", "KW", "OM", "QA", "SA"} and not hub.audience_all
    assert cfg.participants["ipsg"].audience_all
    assert cfg.participants["sa-psd"].audience == {"SA"}
    assert cfg.participants["ae-moi"].may_send == ("NEW", "AMEND", "WITHDRAW")
    assert [r.id for r in cfg.rules] == [
        "red-notices-to-gcc",
        "gcc-alerts-to-ipsg",
        "no-secret-outside-gcc",
    ]
    key = cfg.keys["ncb-fr-2026"]
    assert key.participant == "ncb-fr" and len(key.public_key) == 32 and not key.revoked
    assert key.not_after is not None and key.not_after.year == 2027
    assert {op.name for op in cfg.operators} == {"duty-officer", "oversight-auditor"}
    assert cfg.settings.limits.max_body_bytes == 1_048_576
    assert cfg.settings.limits.clock_skew_seconds == 300
    assert cfg.settings.delivery.max_attempts == 8
    assert cfg.settings.delivery.max_age_seconds == 86_400
    assert cfg.settings.audit.checkpoint_max_delay_seconds == 1.0
    assert cfg.storage_url == f"sqlite:///{(EXAMPLE / 'var' / 'gateway.db').as_posix()}"
    assert cfg.signing_key_path == EXAMPLE / "keys" / "gateway.pem"


def test_example_keys_are_public_only() -> None:
    for pem in (EXAMPLE / "keys").iterdir():
        assert b"PRIVATE" not in pem.read_bytes(), pem


def test_load_is_pure_and_repeatable(folder: Path) -> None:
    a = load_config(folder, {})
    b = load_config(folder, {})
    assert a == b
    assert len(a.rules_digest) == 64 and len(a.config_digest) == 64


def test_rules_digest_follows_rules_not_formatting(folder: Path) -> None:
    before = load_config(folder, {})
    edit(folder, "routing.toml", "# Routing rules", "# A comment that changes nothing\n#")
    edit(folder, "participants.toml", 'name = "INTERPOL NCB Paris"', 'name = "NCB Paris"')
    after = load_config(folder, {})
    assert after.rules_digest == before.rules_digest
    assert after.config_digest != before.config_digest
    edit(folder, "routing.toml", '"red", "yellow"', '"red"')
    assert load_config(folder, {}).rules_digest != before.rules_digest


def test_config_digest_covers_key_files(folder: Path) -> None:
    before = load_config(folder, {})
    fresh = Ed25519PrivateKey.generate().public_key()
    (folder / "keys" / "ncb-de-2026.pub.pem").write_bytes(
        fresh.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert load_config(folder, {}).config_digest != before.config_digest


def test_operators_file_is_optional(folder: Path) -> None:
    (folder / "operators.toml").unlink()
    assert load_config(folder, {}).operators == ()


def test_public_key_b64_form(folder: Path) -> None:
    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    edit(
        folder,
        "participants.toml",
        'public_key = "keys/ncb-de-2026.pub.pem"',
        f'public_key_b64 = "{base64.b64encode(raw).decode()}"',
    )
    assert load_config(folder, {}).keys["ncb-de-2026"].public_key == raw


# ---- every problem named -----------------------------------------------------------------


def test_unknown_key_names_file_line_and_path(folder: Path) -> None:
    edit(folder, "participants.toml", 'keyid = "ncb-de-2026"', 'keyid = "ncb-de-2026"\ncolour = 1')
    p = one(problems(folder), "participant[2].key[0].colour")
    assert p.startswith("participants.toml:")
    line = int(p.split(":")[1])
    assert (folder / "participants.toml").read_text().splitlines()[line - 1] == "colour = 1"
    assert "unknown key" in p and "keyid" in p  # says which keys exist


def test_unknown_key_in_gateway_section(folder: Path) -> None:
    edit(folder, "gateway.toml", "max_attempts = 8", "max_attempts = 8\nmax_attempt = 9")
    p = one(problems(folder), "gateway.toml:", "delivery.max_attempt:", "unknown key")
    assert "max_age_seconds" in p


def test_unknown_top_level_table(folder: Path) -> None:
    append(folder, "routing.toml", '[[rules]]\nid = "x"')
    one(problems(folder), "routing.toml", "rules", "unknown key")


def test_missing_key_file(folder: Path) -> None:
    edit(folder, "participants.toml", "keys/bh-moi-2026.pub.pem", "keys/x.pub.pem")
    p = one(problems(folder), "participant[6].key[0].public_key")
    assert p.startswith("participants.toml:")
    assert p.endswith("participant[6].key[0].public_key: file keys/x.pub.pem not found")


def test_key_that_does_not_parse(folder: Path) -> None:
    (folder / "keys" / "kw-moi-2026.pub.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n")
    one(problems(folder), "participants.toml", "participant[7].key[0].public_key", "PEM Ed25519")


def test_key_of_wrong_type(folder: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (folder / "keys" / "om-rop-2026.pub.pem").write_bytes(pem)
    one(problems(folder), "participant[8].key[0].public_key", "expected an Ed25519", "got EC")


def test_raw_key_of_wrong_length(folder: Path) -> None:
    edit(
        folder,
        "participants.toml",
        'public_key = "keys/qa-moi-2026.pub.pem"',
        f'public_key_b64 = "{base64.b64encode(b"x" * 31).decode()}"',
    )
    one(problems(folder), "participant[9].key[0].public_key_b64", "31 bytes, expected 32")


def test_key_needs_exactly_one_form(folder: Path) -> None:
    edit(
        folder,
        "participants.toml",
        'public_key = "keys/qa-moi-2026.pub.pem"',
        'public_key = "keys/qa-moi-2026.pub.pem"\npublic_key_b64 = "AAAA"',
    )
    one(problems(folder), "participant[9].key[0]", "exactly one of public_key")


def test_two_participants_with_one_keyid(folder: Path) -> None:
    edit(folder, "participants.toml", 'keyid = "ncb-de-2026"', 'keyid = "ncb-fr-2026"')
    p = one(problems(folder), "participant[2].key[0].keyid", "'ncb-fr-2026'")
    assert "participant[1] (ncb-fr)" in p


def test_duplicate_participant_id(folder: Path) -> None:
    edit(folder, "participants.toml", 'id = "ncb-de"', 'id = "ncb-fr"')
    one(problems(folder), "participant[2].id", "duplicate participant id 'ncb-fr'")


def test_ncb_and_national_need_a_country(folder: Path) -> None:
    edit(folder, "participants.toml", 'country = "FR"\n', "")
    edit(folder, "participants.toml", 'country = "OM"\n', "")
    found = problems(folder)
    one(found, "participant[1].country", "required for a ncb participant")
    one(found, "participant[8].country", "required for a national participant")


def test_invalid_country_code(folder: Path) -> None:
    edit(folder, "participants.toml", 'country = "DE"', 'country = "XX"')
    one(problems(folder), "participant[2].country", "alpha-2", "'XX'")


def test_alpha3_country_is_refused(folder: Path) -> None:
    edit(folder, "participants.toml", 'country = "DE"', 'country = "DEU"')
    one(problems(folder), "participant[2].country", "'DEU'")


def test_schema_must_be_an_adapter(folder: Path) -> None:
    edit(folder, "participants.toml", 'schema = "interpol"', 'schema = "europol"')
    one(problems(folder), "participant[0].schema", "interpol, gccpol", "'europol'")


def test_unknown_message_kind_in_may_send(folder: Path) -> None:
    edit(folder, "participants.toml", '"notice.cancel"]', '"notice.delete"]')
    one(problems(folder), "participant[0].may_send[2]", "'notice.delete'", "notice.publish")


def test_may_send_uses_the_participants_own_words(folder: Path) -> None:
    edit(folder, "participants.toml", '["NEW", "AMEND", "WITHDRAW"]', '["notice.publish"]')
    one(problems(folder), "participant[3].may_send[0]", "gccpol", "NEW")


def test_hub_must_declare_audience(folder: Path) -> None:
    edit(folder, "participants.toml", 'audience = ["AE", "BH", "KW", "OM", "QA", "SA"]', "")
    one(problems(folder), "participant[3].audience", "a hub must declare")


def test_audience_codes_are_checked(folder: Path) -> None:
    edit(folder, "participants.toml", '"OM", "QA", "SA"]', '"OM", "QA", "KSA"]')
    one(problems(folder), "participant[3].audience[5]", "'KSA'")


def test_audience_all_for_a_hub(folder: Path) -> None:
    edit(folder, "participants.toml", 'audience = ["AE", "BH", "KW", "OM", "QA", "SA"]',
         'audience = ["ALL"]')  # fmt: skip
    assert load_config(folder, {}).participants["gccpol-hub"].audience_all


def test_bad_endpoint_and_not_after(folder: Path) -> None:
    edit(folder, "participants.toml", "http://127.0.0.1:9103/inbox", "ftp://x/inbox")
    edit(folder, "participants.toml", '"2027-12-31T23:59:59Z"', '"2027-12-31T23:59:59"')
    found = problems(folder)
    one(found, "participant[2].endpoint", "http(s) URL")
    one(found, "participant[0].key[0].not_after", "timezone")


def test_rule_naming_an_undefined_participant(folder: Path) -> None:
    edit(folder, "routing.toml", 'deliver_to = ["ipsg"]', 'deliver_to = ["ipsg", "ncb-it"]')
    p = one(problems(folder), "rule[1].deliver_to[1]", "'ncb-it'")
    assert p.startswith("routing.toml:")
    line = int(p.split(":")[1])
    assert "ncb-it" in (folder / "routing.toml").read_text().splitlines()[line - 1]


def test_rule_sender_must_be_defined(folder: Path) -> None:
    append(folder, "routing.toml", '[[rule]]\nid = "x"\nwhen = { sender = "ghost" }\n'
           'deliver_to = ["ipsg"]')  # fmt: skip
    one(problems(folder), "rule[3].when.sender", "'ghost'")


def test_rule_unknown_when_key_and_bad_values(folder: Path) -> None:
    append(
        folder,
        "routing.toml",
        '[[rule]]\nid = "x"\nwhen = { colour = "red", notice_type = ["red", "pink"], '
        'subject_nationality = "SAU", tlp = "TLP:BLACK", is_diffusion = "yes" }\n'
        'deliver_to = ["schema:europol", "country:XX", "kind:ministry", "region:gcc"]',
    )
    found = problems(folder)
    one(found, "rule[3].when.colour", "unknown condition")
    one(found, "rule[3].when.notice_type[1]", "'pink'")
    one(found, "rule[3].when.subject_nationality", "'SAU'")
    one(found, "rule[3].when.tlp", "'TLP:BLACK'")
    one(found, "rule[3].when.is_diffusion", "true or false")
    one(found, "rule[3].deliver_to[0]", "'europol'")
    one(found, "rule[3].deliver_to[1]", "'XX'")
    one(found, "rule[3].deliver_to[2]", "'ministry'")
    one(found, "rule[3].deliver_to[3]", "unknown selector prefix 'region'")


def test_rule_needs_conditions_and_targets(folder: Path) -> None:
    append(folder, "routing.toml", '[[rule]]\nid = "empty"\nwhen = {}\n')
    append(folder, "routing.toml", '[[rule]]\nid = "empty-list"\nwhen = { tlp = [] }\n'
           'deny_to = ["ipsg"]')  # fmt: skip
    found = problems(folder)
    one(found, "rule[3].when", "at least one condition")
    one(found, "rule[3].deliver_to", "deliver_to, deny_to or both")
    one(found, "rule[4].when.tlp", "empty list matches nothing")


def test_duplicate_rule_id(folder: Path) -> None:
    edit(folder, "routing.toml", 'id = "gcc-alerts-to-ipsg"', 'id = "red-notices-to-gcc"')
    one(problems(folder), "rule[1].id", "duplicate rule id")


def test_operator_problems(folder: Path) -> None:
    append(
        folder,
        "operators.toml",
        '[[operator]]\nname = "duty-officer"\nrole = "root"\ntoken_sha256 = "abc"\n\n'
        '[[operator]]\nname = "duty-officer"\nrole = "admin"\n'
        'token_sha256 = "3c1392b4c602f0c4d0c8053143cfeeedb1b3025d126850dc5c2a9bca1a90be27"\n',
    )
    found = problems(folder)
    one(found, "operators.toml", "operator[2].role", "'root'")
    one(found, "operator[3].name", "duplicate operator name")
    one(found, "operator[3].token_sha256", "another operator has this token")


def test_toml_syntax_error_gives_the_line(folder: Path) -> None:
    edit(folder, "routing.toml", 'id = "gcc-alerts-to-ipsg"', "id = gcc-alerts-to-ipsg")
    p = one(problems(folder), "routing.toml:", "not valid TOML")
    line = int(p.split(":")[1])
    assert (folder / "routing.toml").read_text().splitlines()[line - 1] == "id = gcc-alerts-to-ipsg"


def test_missing_required_file(folder: Path) -> None:
    (folder / "participants.toml").unlink()
    one(problems(folder), "participants.toml", "file not found")


def test_every_problem_is_reported_at_once(folder: Path) -> None:
    edit(folder, "participants.toml", 'country = "DE"', 'country = "XX"')
    edit(folder, "routing.toml", 'deliver_to = ["ipsg"]', 'deliver_to = ["nobody"]')
    edit(folder, "operators.toml", 'role = "auditor"', 'role = "watcher"')
    edit(folder, "gateway.toml", "max_attempts = 8", "max_attempts = 0")
    found = problems(folder)
    assert len(found) >= 4
    for file in ("participants.toml", "routing.toml", "operators.toml", "gateway.toml"):
        one(found, file)


def test_participant_with_own_problem_does_not_cascade_into_rules(folder: Path) -> None:
    edit(folder, "participants.toml", 'kind = "secretariat"', 'kind = "bureau"')
    found = problems(folder)
    one(found, "participant[0].kind")
    assert not [p for p in found if "routing.toml" in p], found


def test_gateway_id_and_keyid_must_not_clash(folder: Path) -> None:
    edit(folder, "gateway.toml", 'id = "gateway"', 'id = "ipsg"')
    edit(folder, "gateway.toml", 'signing_keyid = "gateway-2026"', 'signing_keyid = "ipsg-2026"')
    found = problems(folder)
    one(found, "gateway.id", "also a participant id")
    one(found, "gateway.signing_keyid", "ipsg")


def test_storage_url_scheme(folder: Path) -> None:
    edit(folder, "gateway.toml", 'url = "sqlite:///var/gateway.db"', 'url = "mysql://x/db"')
    one(problems(folder), "storage.url", "'mysql://x/db'")


def test_in_memory_storage_is_refused(folder: Path) -> None:
    p = one(problems(folder, {"GATEWAY_STORAGE__URL": "sqlite:///:memory:"}), "storage.url")
    assert "names no database file" in p


def test_absolute_sqlite_path_is_kept(folder: Path) -> None:
    cfg = load_config(folder, {"GATEWAY_STORAGE__URL": "sqlite:////data/gw.db"})
    assert cfg.storage_url == "sqlite:////data/gw.db"


# ---- environment overrides ----------------------------------------------------------------


def test_environment_override_is_typed(folder: Path) -> None:
    cfg = load_config(folder, {"GATEWAY_LIMITS__MAX_BODY_BYTES": "2048", "GATEWAY_CONFIG": "x"})
    assert cfg.settings.limits.max_body_bytes == 2048
    assert dict(cfg.overrides) == {"GATEWAY_LIMITS__MAX_BODY_BYTES": "2048"}
    assert cfg.config_digest != load_config(folder, {}).config_digest


def test_environment_override_of_text_and_new_section(folder: Path) -> None:
    cfg = load_config(
        folder,
        {
            "GATEWAY_STORAGE__URL": "postgresql://gw@db/gateway",
            "GATEWAY_AUDIT__CHECKPOINT_MAX_DELAY_SECONDS": "0.25",
        },
    )
    assert cfg.storage_url == "postgresql://gw@db/gateway"
    assert cfg.settings.audit.checkpoint_max_delay_seconds == 0.25


def test_environment_override_with_bad_value_blames_the_variable(folder: Path) -> None:
    p = one(problems(folder, {"GATEWAY_LIMITS__MAX_BODY_BYTES": "lots"}), "environment")
    assert p.startswith("environment: GATEWAY_LIMITS__MAX_BODY_BYTES:")
    assert "'lots'" in p


def test_environment_override_of_unknown_setting(folder: Path) -> None:
    p = one(problems(folder, {"GATEWAY_LIMITS__MAX_BODY": "1"}), "GATEWAY_LIMITS__MAX_BODY")
    assert "GATEWAY_LIMITS__MAX_BODY_BYTES" in p


def test_os_environ_is_the_default(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DELIVERY__MAX_ATTEMPTS", "3")
    assert load_config(folder).settings.delivery.max_attempts == 3


# ---- the gateway's own signing key ---------------------------------------------------------


def test_signing_key_checked_only_when_required(folder: Path) -> None:
    assert not (folder / "keys" / "gateway.pem").exists()
    load_config(folder, {})
    one(
        problems(folder, require_signing_key=True),
        "gateway.toml",
        "gateway.signing_key",
        "file keys/gateway.pem not found",
    )
    key = Ed25519PrivateKey.generate()
    (folder / "keys" / "gateway.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cfg = load_config(folder, {}, require_signing_key=True)
    assert cfg.signing_key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def test_signing_key_that_does_not_parse(folder: Path) -> None:
    (folder / "keys" / "gateway.pem").write_text("not a key")
    one(problems(folder, require_signing_key=True), "gateway.signing_key", "unencrypted PKCS#8")


@pytest.mark.parametrize(
    ("variable", "key"),
    [("GATEWAY_GATEWAY__ID", "gateway.id"), ("GATEWAY_GATEWAY__SIGNING_KEYID", "signing_keyid")],
)
def test_identifiers_with_a_trailing_newline_are_refused(
    folder: Path, variable: str, key: str
) -> None:
    # Python's "$" also matches before a final "\n": identifiers are matched whole
    one(problems(folder, {variable: "gateway-1\n"}), key)
