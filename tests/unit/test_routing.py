"""gateway.routing with hand-built canonical messages and the example configuration
(its participants; rules from the example or written per test)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import GatewayConfig, load_config
from gateway.routing import (
    AllOf,
    OneOf,
    RoutingDecision,
    explain,
    facts_from_message,
    may_send,
    route,
)
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    Dissemination,
    HandlingCode,
    LocalizedText,
    MessageKind,
    Notice,
    NoticeCategory,
    Offence,
    Subject,
    Tlp,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
GCC = ("AE", "BH", "KW", "OM", "QA", "SA")
GCCPOL_SIDE = ("gccpol-hub", "ae-moi", "sa-psd", "bh-moi", "kw-moi", "om-rop", "qa-moi")


@pytest.fixture(scope="module")
def example() -> GatewayConfig:
    return load_config(EXAMPLE, {})


Loader = Callable[[str], GatewayConfig]


@pytest.fixture
def rules(tmp_path: Path) -> Loader:
    """A loader: the example participants with the given routing.toml text."""

    def load(text: str) -> GatewayConfig:
        folder = tmp_path / "config"
        if not folder.exists():
            shutil.copytree(EXAMPLE, folder)
        (folder / "routing.toml").write_text(text, "utf-8")
        return load_config(folder, {})

    return load


def message(
    *,
    sender: str = "ipsg",
    schema: str = "interpol",
    kind: MessageKind = MessageKind.PUBLISH,
    category: NoticeCategory = NoticeCategory.WANTED,
    nationalities: tuple[str, ...] = ("SA",),
    originating: str | None = "FR",
    offences: tuple[str, ...] = (),
    restricted_to: tuple[str, ...] = (),
    excluded: tuple[str, ...] = (),
    tlp: Tlp | None = None,
    classification: Classification | None = None,
    handling_codes: tuple[HandlingCode, ...] = (),
    is_diffusion: bool = False,
) -> CanonicalMessage:
    return CanonicalMessage(
        message_id="m-1",
        kind=kind,
        sent_at=dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC),
        sender=sender,
        source_schema=schema,
        notice=Notice(
            category=category,
            is_diffusion=is_diffusion,
            originating_country=originating,
            subject=Subject(nationalities=nationalities),
            offences=tuple(Offence(descriptions=(LocalizedText(text=t),)) for t in offences),
            dissemination=Dissemination(
                restricted_to=restricted_to,
                excluded=excluded,
                tlp=tlp,
                classification=classification,
                handling_codes=handling_codes,
            ),
        ),
    )


def gcc_alert(**kw: object) -> CanonicalMessage:
    base: dict[str, object] = {
        "sender": "ae-moi",
        "schema": "gccpol",
        "category": NoticeCategory.MISSING,
        "nationalities": ("AE",),
        "originating": "AE",
        "classification": Classification.RESTRICTED,
        "handling_codes": (HandlingCode.H0,),
    }
    base.update(kw)
    return message(**base)  # type: ignore[arg-type]


def decide(
    cfg: GatewayConfig, msg: CanonicalMessage, previous: frozenset[str] = frozenset()
) -> RoutingDecision:
    return route(facts_from_message(msg), cfg, previous_recipients=previous)


def outcomes(decision: RoutingDecision) -> dict[str, tuple[str, str]]:
    return {o.participant: (o.outcome, o.reason) for o in decision.outcomes}


# ---- the samples route as a person expects ---------------------------------------------------


def test_red_notice_about_saudi_national_reaches_gccpol_and_sa(example: GatewayConfig) -> None:
    d = decide(example, message())
    assert outcomes(d) == {
        "gccpol-hub": ("routed", "rule:red-notices-to-gcc"),
        "sa-psd": ("routed", "rule:red-notices-to-gcc"),
    }
    assert d.routing == "routed" and not d.unrouted
    assert d.matched_rules == ("red-notices-to-gcc",)
    assert d.rules_digest == example.rules_digest


def test_gcc_missing_alert_reaches_ipsg(example: GatewayConfig) -> None:
    d = decide(example, gcc_alert())
    assert outcomes(d) == {"ipsg": ("routed", "rule:gcc-alerts-to-ipsg")}


def test_h2_alert_is_refused_for_ipsg(example: GatewayConfig) -> None:
    d = decide(example, gcc_alert(handling_codes=(HandlingCode.H0, HandlingCode.H2)))
    assert outcomes(d) == {"ipsg": ("refused", "caveat:handling-code:H2")}
    assert d.routing == "refused" and not d.unrouted
    assert "H2" in d.outcomes[0].detail and "gccpol" in d.outcomes[0].detail


def test_secret_alert_is_refused_for_ipsg(example: GatewayConfig) -> None:
    d = decide(example, gcc_alert(classification=Classification.SECRET))
    # both the sender's classification and rule no-secret-outside-gcc refuse; the caveat
    # is named because the sender's own caveats come first
    assert outcomes(d) == {"ipsg": ("refused", "caveat:classification")}
    assert d.matched_rules == ("gcc-alerts-to-ipsg", "no-secret-outside-gcc")


# ---- fixed properties --------------------------------------------------------------------------


def test_deny_beats_allow_whatever_the_order(rules: Loader) -> None:
    allow = (
        '[[rule]]\nid = "allow"\nwhen = { source_schema = "gccpol" }\n'
        'deliver_to = ["schema:interpol"]\n'
    )
    deny = '[[rule]]\nid = "deny"\nwhen = { alert_category = "MISSING" }\ndeny_to = ["ncb-fr"]\n'
    for text in (allow + deny, deny + allow):
        d = decide(rules(text), gcc_alert())
        assert outcomes(d) == {
            "ipsg": ("routed", "rule:allow"),
            "ncb-fr": ("refused", "rule:deny"),
            "ncb-de": ("routed", "rule:allow"),
        }
        assert d.outcomes[1].selected_by == ("rule:allow",)


def test_caveats_beat_rules(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "all"\nwhen = { source_schema = "interpol" }\n'
                'deliver_to = ["ncb-de", "gccpol-hub", "sa-psd"]\n')  # fmt: skip
    d = decide(cfg, message(excluded=("DE",), restricted_to=("DE", "SA")))
    assert outcomes(d) == {
        "ncb-de": ("refused", "caveat:excluded"),
        "gccpol-hub": ("refused", "caveat:restricted_to"),
        "sa-psd": ("routed", "rule:all"),
    }


def test_never_back_to_the_sender(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "interpol"\nwhen = { sender = "ncb-fr" }\n'
                'deliver_to = ["schema:interpol"]\n')  # fmt: skip
    d = decide(cfg, message(sender="ncb-fr"))
    assert outcomes(d) == {
        "ipsg": ("routed", "rule:interpol"),
        "ncb-fr": ("refused", "sender"),
        "ncb-de": ("routed", "rule:interpol"),
    }
    assert "ncb-fr" not in d.recipients


def test_unrouted_when_no_rule_matches(example: GatewayConfig) -> None:
    d = decide(example, message(nationalities=("FR",)))
    assert d.outcomes == () and d.unrouted and d.routing == "unrouted"
    assert d.matched_rules == ()
    assert any("unrouted" in n for n in d.notes)
    assert d.as_json()["routing"] == "unrouted"


def test_unrouted_when_only_the_sender_is_selected(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "self"\nwhen = { sender = "ipsg" }\ndeliver_to = ["ipsg"]\n')
    d = decide(cfg, message())
    assert outcomes(d) == {"ipsg": ("refused", "sender")}
    assert d.unrouted and d.routing == "unrouted"


def test_rules_digest_is_in_the_decision(rules: Loader) -> None:
    a = rules('[[rule]]\nid = "a"\nwhen = { tlp = "red" }\ndeliver_to = ["ipsg"]\n')
    b = rules('[[rule]]\nid = "b"\nwhen = { tlp = "red" }\ndeliver_to = ["ipsg"]\n')
    assert decide(a, message()).rules_digest == a.rules_digest
    assert decide(b, message()).as_json()["rules_digest"] == b.rules_digest != a.rules_digest


# ---- cancel and update ---------------------------------------------------------------------------


def test_cancel_follows_publish_even_when_rules_changed(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "deny-all"\nwhen = { source_schema = "interpol" }\n'
                'deny_to = ["schema:gccpol"]\n')  # fmt: skip
    previous = frozenset({"gccpol-hub", "sa-psd"})
    d = decide(cfg, message(kind=MessageKind.CANCEL, excluded=("SA",)), previous)
    assert outcomes(d) == {
        "gccpol-hub": ("routed", "cancel-follows-publish"),
        "sa-psd": ("routed", "cancel-follows-publish"),
    }


def test_cancel_goes_to_previous_recipients_only(example: GatewayConfig) -> None:
    d = decide(example, message(kind=MessageKind.CANCEL), frozenset({"sa-psd"}))
    assert outcomes(d) == {"sa-psd": ("routed", "cancel-follows-publish")}  # not gccpol-hub


def test_cancel_without_previous_recipients_is_unrouted(example: GatewayConfig) -> None:
    d = decide(example, message(kind=MessageKind.CANCEL))
    assert d.outcomes == () and d.unrouted


def test_cancel_to_removed_participant_and_sender(example: GatewayConfig) -> None:
    d = decide(example, message(kind=MessageKind.CANCEL), frozenset({"ncb-it", "ipsg", "sa-psd"}))
    assert outcomes(d) == {
        "ipsg": ("refused", "sender"),
        "sa-psd": ("routed", "cancel-follows-publish"),
        "ncb-it": ("refused", "not-configured"),
    }


def test_update_reaches_rules_and_previous_recipients(example: GatewayConfig) -> None:
    d = decide(example, message(kind=MessageKind.UPDATE), frozenset({"ncb-de", "sa-psd"}))
    assert outcomes(d) == {
        "ncb-de": ("routed", "update-follows-publish"),
        "gccpol-hub": ("routed", "rule:red-notices-to-gcc"),
        "sa-psd": ("routed", "rule:red-notices-to-gcc"),
    }
    assert d.outcomes[2].selected_by == ("rule:red-notices-to-gcc", "update-follows-publish")


def test_update_still_obeys_caveats_and_denies(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "no-de"\nwhen = { source_schema = "interpol" }\n'
                'deny_to = ["country:DE"]\n')  # fmt: skip
    previous = frozenset({"ncb-de", "kw-moi", "gccpol-hub"})
    d = decide(cfg, message(kind=MessageKind.UPDATE, excluded=("KW",)), previous)
    assert outcomes(d) == {
        "ncb-de": ("refused", "rule:no-de"),
        "gccpol-hub": ("routed", "update-follows-publish"),
        "kw-moi": ("refused", "caveat:excluded"),
    }


# ---- selectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("ncb-de", {"ncb-de"}),
        ("schema:gccpol", set(GCCPOL_SIDE)),
        ("schema:interpol", {"ncb-fr", "ncb-de"}),  # ipsg is the sender
        ("country:SA", {"sa-psd"}),
        ("country:JP", set()),
        ("kind:national", set(GCCPOL_SIDE) - {"gccpol-hub"}),
        ("kind:hub", {"gccpol-hub"}),
        ("national-system-of-nationality", {"sa-psd", "ncb-fr"}),
    ],
)
def test_selector(rules: Loader, selector: str, expected: set[str]) -> None:
    cfg = rules(f'[[rule]]\nid = "r"\nwhen = {{ sender = "ipsg" }}\ndeliver_to = ["{selector}"]\n')
    d = decide(cfg, message(nationalities=("SA", "FR", "JP")))
    assert set(d.recipients) == expected


def test_national_system_of_nationality_crosses_schemas(example: GatewayConfig) -> None:
    # the example rule, for a subject with Bahraini, Saudi and German nationality: the
    # selector names the NCB Wiesbaden too, though the rule is about GCC nationals
    d = decide(example, message(nationalities=("BH", "SA", "DE")))
    assert set(d.recipients) == {"gccpol-hub", "bh-moi", "sa-psd", "ncb-de"}


# ---- the `when` vocabulary -------------------------------------------------------------------

WHEN_CASES = [
    ('sender = "ipsg"', {}, True),
    ('sender = ["ncb-fr", "ncb-de"]', {}, False),
    ('source_schema = "interpol"', {}, True),
    ('message_kind = "update"', {"kind": MessageKind.UPDATE}, True),
    ('message_kind = "notice.update"', {"kind": MessageKind.UPDATE}, True),
    ('message_kind = ["AMEND"]', {"kind": MessageKind.PUBLISH}, False),
    ('notice_type = "Red"', {}, True),
    ('notice_type = "yellow"', {}, False),
    ('alert_category = "wanted"', {}, True),
    ('alert_category = "MISSING"', {}, False),
    ('category = "wanted"', {}, True),
    ('subject_nationality = ["QA", "SA"]', {}, True),
    ('subject_nationality = "QA"', {}, False),
    ('originating_country = "FR"', {}, True),
    ('issuing_country = "FR"', {}, True),
    ('originating_country = "FR"', {"originating": None}, False),
    ('offence_text = "ARMED rob"', {"offences": ("Armed robbery",)}, True),
    ('offence_text = ["fraud", "vol à main"]', {"offences": ("Vol à main armée",)}, True),
    ('offence_text = "fraud"', {"offences": ("Armed robbery",)}, False),
    ('classification = "secret"', {"classification": Classification.SECRET}, True),
    ('classification = "SECRET"', {}, False),
    ('handling_code = "H1"', {"handling_codes": (HandlingCode.H0, HandlingCode.H1)}, True),
    ('handling_code = "H1"', {"handling_codes": (HandlingCode.H0,)}, False),
    ('tlp = "amber"', {"tlp": Tlp.AMBER}, True),
    ('tlp = "TLP:AMBER+STRICT"', {"tlp": Tlp.AMBER}, False),
    ("is_diffusion = true", {"is_diffusion": True, "restricted_to": ("DE",)}, True),
    ("is_diffusion = true", {}, False),
    ('source_schema = "interpol", notice_type = "blue"', {}, False),  # keys AND
]


@pytest.mark.parametrize(("when", "overrides", "matches"), WHEN_CASES)
def test_when_vocabulary(
    rules: Loader, when: str, overrides: dict[str, object], matches: bool
) -> None:
    # ncb-de: same schema as the sender, so no caveat in these cases refuses it
    cfg = rules(f'[[rule]]\nid = "r"\nwhen = {{ {when} }}\ndeliver_to = ["ncb-de"]\n')
    d = decide(cfg, message(**overrides))  # type: ignore[arg-type]
    assert (d.matched_rules == ("r",)) is matches
    assert (d.recipients == ("ncb-de",)) is matches


def test_matchers_fail_closed() -> None:
    facts = facts_from_message(message())
    assert not AllOf(()).matches(facts)
    assert not OneOf("sender", frozenset()).matches(facts)
    assert OneOf("sender", frozenset({"ipsg"})).matches(facts)


def test_un_notice_has_no_alert_category(rules: Loader) -> None:
    facts = facts_from_message(message(category=NoticeCategory.UN_SPECIAL))
    assert facts.notice_type == "un" and facts.alert_category is None
    cfg = rules('[[rule]]\nid = "r"\nwhen = { alert_category = "WANTED" }\ndeliver_to = ["ipsg"]\n')
    assert decide(cfg, message(category=NoticeCategory.UN_SPECIAL)).unrouted


# ---- each caveat ---------------------------------------------------------------------------------


@pytest.fixture
def to_everyone(rules: Loader) -> GatewayConfig:
    return rules(
        '[[rule]]\nid = "all"\nwhen = { message_kind = ["publish", "update"] }\n'
        'deliver_to = ["schema:interpol", "schema:gccpol"]\n'
    )


def test_excluded_refuses_the_country_but_not_hubs(to_everyone: GatewayConfig) -> None:
    d = decide(to_everyone, message(sender="ncb-fr", excluded=("SA", "DE")))
    got = outcomes(d)
    assert got["sa-psd"] == ("refused", "caveat:excluded")
    assert got["ncb-de"] == ("refused", "caveat:excluded")
    assert got["gccpol-hub"] == ("routed", "rule:all")  # carries the exclusion on
    assert got["ipsg"] == ("routed", "rule:all")


def test_restricted_to_needs_the_whole_audience_inside(to_everyone: GatewayConfig) -> None:
    d = decide(to_everyone, message(sender="ncb-fr", restricted_to=GCC))
    got = outcomes(d)
    assert {p for p, (o, _) in got.items() if o == "routed"} == set(GCCPOL_SIDE)
    assert got["ipsg"] == ("refused", "caveat:restricted_to")  # its audience is ALL
    assert got["ncb-de"] == ("refused", "caveat:restricted_to")
    d = decide(to_everyone, message(sender="ncb-fr", restricted_to=("SA", "AE")))
    assert set(d.recipients) == {"sa-psd", "ae-moi"}
    assert outcomes(d)["gccpol-hub"] == ("refused", "caveat:restricted_to")


def test_tlp_red_goes_only_to_named_recipients(to_everyone: GatewayConfig) -> None:
    d = decide(to_everyone, message(sender="ncb-fr", tlp=Tlp.RED))
    assert d.recipients == () and not d.unrouted and d.routing == "refused"
    assert {r for p, (_, r) in outcomes(d).items() if p != "ncb-fr"} == {"caveat:tlp-red"}
    d = decide(to_everyone, message(sender="ncb-fr", tlp=Tlp.RED, restricted_to=("DE",)))
    assert d.recipients == ("ncb-de",)


@pytest.mark.parametrize("code", [HandlingCode.H1, HandlingCode.H2, HandlingCode.H3])
def test_handling_codes_keep_the_message_in_its_schema(
    to_everyone: GatewayConfig, code: HandlingCode
) -> None:
    d = decide(to_everyone, gcc_alert(handling_codes=(code,)))
    got = outcomes(d)
    for pid in ("ipsg", "ncb-fr", "ncb-de"):
        assert got[pid] == ("refused", f"caveat:handling-code:{code.value}")
    assert set(d.recipients) == set(GCCPOL_SIDE) - {"ae-moi"}


def test_h0_restricts_nothing(to_everyone: GatewayConfig) -> None:
    assert "ipsg" in decide(to_everyone, gcc_alert(handling_codes=(HandlingCode.H0,))).recipients


@pytest.mark.parametrize(
    ("classification", "refused"),
    [
        (Classification.UNCLASSIFIED, False),
        (Classification.RESTRICTED, False),
        (Classification.CONFIDENTIAL, True),
        (Classification.SECRET, True),
    ],
)
def test_classification_keeps_the_message_in_its_schema(
    to_everyone: GatewayConfig, classification: Classification, refused: bool
) -> None:
    d = decide(to_everyone, gcc_alert(classification=classification))
    assert (outcomes(d)["ipsg"] == ("refused", "caveat:classification")) is refused
    assert "gccpol-hub" in d.recipients


# ---- may_send, explain, JSON ---------------------------------------------------------------


def test_may_send(example: GatewayConfig) -> None:
    assert may_send(example, "ncb-fr", MessageKind.CANCEL)
    assert may_send(example, "ae-moi", MessageKind.UPDATE)
    assert not may_send(example, "nobody", MessageKind.PUBLISH)


def test_may_send_reads_the_participants_words(rules: Loader) -> None:
    cfg = rules('[[rule]]\nid = "r"\nwhen = { tlp = "red" }\ndeliver_to = ["ipsg"]\n')
    folder = cfg.directory
    text = (folder / "participants.toml").read_text()
    (folder / "participants.toml").write_text(
        text.replace('["NEW", "AMEND", "WITHDRAW"]', '["NEW"]', 1)
    )
    cfg = load_config(folder, {})
    assert may_send(cfg, "gccpol-hub", MessageKind.PUBLISH)
    assert not may_send(cfg, "gccpol-hub", MessageKind.CANCEL)


def test_explain_names_rule_and_caveat(example: GatewayConfig) -> None:
    text = "\n".join(explain(decide(example, gcc_alert(handling_codes=(HandlingCode.H2,)))))
    assert "gcc-alerts-to-ipsg" in text
    assert "refuse for ipsg: caveat:handling-code:H2" in text
    assert example.rules_digest in text
    routed = explain(decide(example, message()))
    assert any(
        line.strip().startswith("deliver to sa-psd: rule:red-notices-to-gcc")
        and "national-system-of-nationality" in line
        for line in routed
    )


def test_decision_json(example: GatewayConfig) -> None:
    body = decide(example, message()).as_json()
    assert body["routing"] == "routed" and body["kind"] == "publish"
    assert body["recipients"][0] == {
        "participant": "gccpol-hub",
        "outcome": "routed",
        "reason": "rule:red-notices-to-gcc",
        "detail": "deliver_to gccpol-hub of rule 'red-notices-to-gcc'",
        "selected_by": ["rule:red-notices-to-gcc"],
    }
