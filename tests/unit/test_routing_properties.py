"""Properties of gateway.routing over random messages and random rule sets (hypothesis),
on the example participants."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import GatewayConfig, load_config
from gateway.routing import (
    RoutingDecision,
    RoutingFacts,
    Rule,
    caveat_refusal,
    compile_rule,
    route,
)
from schemas.canonical import Classification, HandlingCode, MessageKind, NoticeCategory, Tlp

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "config", {})
IDS = list(EXAMPLE.participants)
COUNTRIES = ["AE", "BH", "KW", "OM", "QA", "SA", "FR", "DE", "JP"]
SELECTORS = [
    *IDS,
    "schema:interpol",
    "schema:gccpol",
    *(f"country:{c}" for c in COUNTRIES),
    "kind:ncb",
    "kind:national",
    "kind:hub",
    "kind:secretariat",
    "national-system-of-nationality",
]
CONDITIONS: dict[str, st.SearchStrategy[Any]] = {
    "sender": st.lists(st.sampled_from(IDS), min_size=1, max_size=3),
    "source_schema": st.sampled_from(["interpol", "gccpol"]),
    "message_kind": st.lists(st.sampled_from(["publish", "update", "cancel"]), min_size=1),
    "notice_type": st.lists(st.sampled_from(["red", "yellow", "blue", "black"]), min_size=1),
    "alert_category": st.lists(st.sampled_from(["WANTED", "MISSING", "THREAT"]), min_size=1),
    "subject_nationality": st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=4),
    "originating_country": st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=3),
    "classification": st.lists(st.sampled_from([c.value for c in Classification]), min_size=1),
    "handling_code": st.lists(st.sampled_from([c.value for c in HandlingCode]), min_size=1),
    "tlp": st.lists(st.sampled_from([t.value for t in Tlp]), min_size=1),
    "is_diffusion": st.booleans(),
}


@st.composite
def rules(draw: st.DrawFn, prefix: str = "r", deny_only: bool = False) -> list[Rule]:
    out = []
    for i in range(draw(st.integers(0, 5))):
        keys = draw(
            st.lists(st.sampled_from(sorted(CONDITIONS)), min_size=1, max_size=3, unique=True)
        )
        when = {k: draw(CONDITIONS[k]) for k in keys}
        targets = st.lists(st.sampled_from(SELECTORS), min_size=1, max_size=4)
        allow = None if deny_only else draw(st.none() | targets)
        deny = draw(targets) if deny_only or allow is None else draw(st.none() | targets)
        out.append(
            compile_rule(
                f"{prefix}{i}",
                description="",
                when=when,
                deliver_to=allow,
                deny_to=deny,
                participant_ids=frozenset(IDS),
            )
        )
    return out


@st.composite
def facts(draw: st.DrawFn) -> RoutingFacts:
    sender = draw(st.sampled_from(IDS))
    category = draw(st.sampled_from(list(NoticeCategory)))
    countries = st.frozensets(st.sampled_from(COUNTRIES), max_size=4)
    from gateway.routing import ALERT_CATEGORY, NOTICE_TYPE

    return RoutingFacts(
        message_id="m",
        sender=sender,
        source_schema=EXAMPLE.participants[sender].schema_,
        kind=draw(st.sampled_from(list(MessageKind))),
        category=category,
        notice_type=NOTICE_TYPE[category],
        alert_category=ALERT_CATEGORY.get(category),
        subject_nationalities=tuple(draw(st.lists(st.sampled_from(COUNTRIES), max_size=3))),
        originating_country=draw(st.none() | st.sampled_from(COUNTRIES)),
        classification=draw(st.none() | st.sampled_from(list(Classification))),
        handling_codes=tuple(draw(st.lists(st.sampled_from(list(HandlingCode)), max_size=2))),
        tlp=draw(st.none() | st.sampled_from(list(Tlp))),
        restricted_to=draw(countries),
        excluded=draw(countries),
        is_diffusion=draw(st.booleans()),
    )


previous = st.frozensets(st.sampled_from(IDS), max_size=5)


def with_rules(rule_list: list[Rule]) -> GatewayConfig:
    return dataclasses.replace(EXAMPLE, rules=tuple(rule_list))


def routed(decision: RoutingDecision) -> set[str]:
    return set(decision.recipients)


@settings(max_examples=400, deadline=None)
@given(facts(), rules(), previous)
def test_never_to_sender_nor_excluded_country(
    f: RoutingFacts, rule_list: list[Rule], prev: frozenset[str]
) -> None:
    decision = route(f, with_rules(rule_list), previous_recipients=prev)
    assert f.sender not in routed(decision)
    for pid in routed(decision):
        p = EXAMPLE.participants[pid]
        if f.kind is MessageKind.CANCEL:
            # a withdrawal reaches exactly the earlier recipients, who hold the notice
            assert pid in prev
            continue
        assert p.country is None or p.country not in f.excluded
        assert caveat_refusal(f, p) is None  # no caveat of the sender is overridden


def matching_rule(
    rule_id: str, f: RoutingFacts, *, deny: list[str] | None = None, allow: list[str] | None = None
) -> Rule:
    """A rule whose condition holds for ``f`` (so the property is not vacuous)."""
    return compile_rule(
        rule_id,
        description="",
        when={"source_schema": f.source_schema, "message_kind": f.kind.value},
        deliver_to=allow,
        deny_to=deny,
        participant_ids=frozenset(IDS),
    )


targets = st.lists(st.sampled_from(SELECTORS), min_size=1, max_size=4)


@settings(max_examples=400, deadline=None)
@given(facts(), rules(), targets, rules(prefix="deny", deny_only=True), targets, previous)
def test_adding_deny_rules_never_adds_a_recipient(
    f: RoutingFacts,
    rule_list: list[Rule],
    allow: list[str],
    denies: list[Rule],
    deny: list[str],
    prev: frozenset[str],
) -> None:
    allowing = [*rule_list, matching_rule("allow", f, allow=allow)]
    denying = [*denies, matching_rule("deny", f, deny=deny)]
    before = route(f, with_rules(allowing), previous_recipients=prev)
    after = route(f, with_rules(allowing + denying), previous_recipients=prev)
    assert routed(after) <= routed(before)
    if f.kind is not MessageKind.CANCEL:
        for rule in denying:
            if rule.when.matches(f):
                for selector in rule.deny_to:
                    assert not routed(after) & set(selector.select(f, EXAMPLE.participants))


@settings(max_examples=200, deadline=None)
@given(facts(), rules(), previous)
def test_every_outcome_has_a_reason_and_the_digest(
    f: RoutingFacts, rule_list: list[Rule], prev: frozenset[str]
) -> None:
    cfg = with_rules(rule_list)
    decision = route(f, cfg, previous_recipients=prev)
    assert decision.rules_digest == cfg.rules_digest
    assert len({o.participant for o in decision.outcomes}) == len(decision.outcomes)
    for o in decision.outcomes:
        assert o.reason.startswith(("rule:", "caveat:")) or o.reason in {
            "sender",
            "not-configured",
            "cancel-follows-publish",
            "update-follows-publish",
        }
    if f.kind is MessageKind.CANCEL:
        assert {o.participant for o in decision.outcomes} == set(prev)
    assert decision.unrouted == (not any(o.participant != f.sender for o in decision.outcomes))
