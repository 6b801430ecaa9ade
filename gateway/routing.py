"""Routing: which participants a message reaches, which it is refused for, and why.

Pure: no I/O. The configuration compiles each ``[[rule]]`` of routing.toml (config.md)
into a `Rule` — a conjunction of small matchers over `RoutingFacts` plus recipient
selectors — and `route` applies the rules, then the sender's own caveats:

    facts_from_message(message) ─► RoutingFacts
    route(facts, config, previous_recipients=…) ─► RoutingDecision
        1. every rule whose ``when`` matches adds its ``deliver_to`` (allow) and
           ``deny_to`` (deny) selections
        2. candidates: publish → allowed; update → allowed ∪ previous recipients;
           cancel → previous recipients exactly (rules do not decide a cancel)
        3. per candidate, first refusal wins: the sender itself, a participant no longer
           configured, the sender's caveats, a deny rule; otherwise routed

Fixed properties (config.md §routing.toml): a deny beats an allow; the sender's caveats
and handling codes beat every rule; never back to the sender; a message that no rule
routes is ``unrouted``; the rules' digest is in every decision. docs/routing.md has the
vocabulary and the caveat semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from schemas import codes
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    HandlingCode,
    MessageKind,
    NoticeCategory,
    Tlp,
)

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, Participant

__all__ = [
    "ALERT_CATEGORY",
    "NOTICE_TYPE",
    "SCHEMA_KINDS",
    "WHEN_KEYS",
    "AllOf",
    "FlagIs",
    "Matcher",
    "OneOf",
    "RecipientOutcome",
    "RoutingDecision",
    "RoutingFacts",
    "Rule",
    "RuleError",
    "Selector",
    "TextContains",
    "caveat_refusal",
    "compile_rule",
    "explain",
    "facts_from_message",
    "may_send",
    "route",
]

# INTERPOL notice colour and GCC alert category of each canonical category (schemas.md,
# translation table). `un` has no GCC counterpart.
NOTICE_TYPE: Mapping[NoticeCategory, str] = {
    NoticeCategory.WANTED: "red",
    NoticeCategory.MISSING: "yellow",
    NoticeCategory.UNIDENTIFIED_BODY: "black",
    NoticeCategory.INFO_REQUEST: "blue",
    NoticeCategory.WARNING: "green",
    NoticeCategory.THREAT: "orange",
    NoticeCategory.MODUS_OPERANDI: "purple",
    NoticeCategory.UN_SPECIAL: "un",
}
ALERT_CATEGORY: Mapping[NoticeCategory, str] = {
    c: c.value.upper() for c in NoticeCategory if c is not NoticeCategory.UN_SPECIAL
}

# The message kinds in each schema's own words (schemas.md, message kinds): what
# `may_send` lists and what `when.message_kind` also accepts.
SCHEMA_KINDS: Mapping[str, Mapping[str, MessageKind]] = {
    "interpol": {
        "notice.publish": MessageKind.PUBLISH,
        "notice.update": MessageKind.UPDATE,
        "notice.cancel": MessageKind.CANCEL,
    },
    "gccpol": {
        "NEW": MessageKind.PUBLISH,
        "AMEND": MessageKind.UPDATE,
        "WITHDRAW": MessageKind.CANCEL,
    },
}

# Handling codes that forbid dissemination beyond the sender's own system (schemas.md,
# refusals: "a GCC alert with H1, H2 or H3 … may not become an INTERPOL notice").
_RESTRICTING_CODES = (HandlingCode.H1, HandlingCode.H2, HandlingCode.H3)
_RESTRICTING_CLASSIFICATIONS = (Classification.CONFIDENTIAL, Classification.SECRET)
_PARTICIPANT_KINDS = ("secretariat", "hub", "ncb", "national")
NATIONAL_SYSTEM_OF_NATIONALITY = "national-system-of-nationality"


# ---- facts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What routing may look at in one message; nothing else of the notice is consulted."""

    message_id: str
    sender: str
    source_schema: str
    kind: MessageKind
    category: NoticeCategory
    notice_type: str  # INTERPOL colour
    alert_category: str | None  # GCC category; None for `un`
    subject_nationalities: tuple[str, ...] = ()
    originating_country: str | None = None
    offence_texts: tuple[str, ...] = ()
    classification: Classification | None = None
    handling_codes: tuple[HandlingCode, ...] = ()
    tlp: Tlp | None = None
    restricted_to: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    is_diffusion: bool = False


def facts_from_message(message: CanonicalMessage) -> RoutingFacts:
    notice = message.notice
    caveats = notice.dissemination
    subject = notice.subject
    return RoutingFacts(
        message_id=message.message_id,
        sender=message.sender,
        source_schema=message.source_schema,
        kind=message.kind,
        category=notice.category,
        notice_type=NOTICE_TYPE[notice.category],
        alert_category=ALERT_CATEGORY.get(notice.category),
        subject_nationalities=subject.nationalities if subject is not None else (),
        originating_country=notice.originating_country,
        offence_texts=tuple(d.text for o in notice.offences for d in o.descriptions),
        classification=caveats.classification,
        handling_codes=caveats.handling_codes,
        tlp=caveats.tlp,
        restricted_to=frozenset(caveats.restricted_to),
        excluded=frozenset(caveats.excluded),
        is_diffusion=notice.is_diffusion,
    )


# ---- matchers (sigstore-style policies: small, composable, fail closed) ------------------


class Matcher(Protocol):
    def matches(self, facts: RoutingFacts) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OneOf:
    """True when one of the message's values for ``key`` is one of ``wanted``."""

    key: str
    wanted: frozenset[str]

    def matches(self, facts: RoutingFacts) -> bool:
        if not self.wanted:  # fail closed: an empty list matches nothing
            return False
        return not self.wanted.isdisjoint(_FACT_VALUES[self.key](facts))

    def describe(self) -> str:
        return f"{self.key} in [{', '.join(sorted(self.wanted))}]"


@dataclass(frozen=True, slots=True)
class TextContains:
    """True when an offence text contains one of ``needles`` (case-insensitive)."""

    needles: tuple[str, ...]  # casefolded

    def matches(self, facts: RoutingFacts) -> bool:
        texts = [t.casefold() for t in facts.offence_texts]
        return any(n in t for n in self.needles for t in texts)

    def describe(self) -> str:
        return "offence_text contains " + " or ".join(repr(n) for n in self.needles)


@dataclass(frozen=True, slots=True)
class FlagIs:
    key: str
    value: bool

    def matches(self, facts: RoutingFacts) -> bool:
        return bool(getattr(facts, self.key)) is self.value

    def describe(self) -> str:
        return f"{self.key} = {str(self.value).lower()}"


@dataclass(frozen=True, slots=True)
class AllOf:
    matchers: tuple[Matcher, ...]

    def matches(self, facts: RoutingFacts) -> bool:
        if not self.matchers:  # fail closed: a rule with no condition matches nothing
            return False
        return all(m.matches(facts) for m in self.matchers)

    def describe(self) -> str:
        return " and ".join(m.describe() for m in self.matchers) or "(nothing)"


def _optional(value: object) -> tuple[str, ...]:
    return () if value is None else (str(value),)


_FACT_VALUES: Mapping[str, Callable[[RoutingFacts], Iterable[str]]] = {
    "sender": lambda f: (f.sender,),
    "source_schema": lambda f: (f.source_schema,),
    "message_kind": lambda f: (f.kind.value,),
    "category": lambda f: (f.category.value,),
    "notice_type": lambda f: (f.notice_type,),
    "alert_category": lambda f: _optional(f.alert_category),
    "subject_nationality": lambda f: f.subject_nationalities,
    "originating_country": lambda f: _optional(f.originating_country),
    "classification": lambda f: _optional(f.classification and f.classification.value),
    "handling_code": lambda f: tuple(c.value for c in f.handling_codes),
    "tlp": lambda f: _optional(f.tlp and f.tlp.value),
}


# ---- the `when` vocabulary: key → value normaliser ---------------------------------------


class _BadValueError(ValueError):
    pass


def _choice(allowed: Iterable[str], *, fold: Callable[[str], str] = str) -> Callable[[str], str]:
    table = {fold(a): a for a in allowed}

    def normalise(value: str) -> str:
        try:
            return table[fold(value)]
        except KeyError:
            raise _BadValueError(
                f"expected one of {', '.join(sorted(set(table.values())))}"
            ) from None

    return normalise


def _country(value: str) -> str:
    if not codes.is_alpha2(value.upper()):
        raise _BadValueError("expected an ISO 3166-1 alpha-2 country code")
    return value.upper()


def _kind(value: str) -> str:
    for words in SCHEMA_KINDS.values():
        if value in words:
            return words[value].value
    return _choice(k.value for k in MessageKind)(value)


def _tlp(value: str) -> str:
    bare = value.upper().removeprefix("TLP:")
    return _choice(t.value for t in Tlp)(f"TLP:{bare}")


def _text(value: str) -> str:
    if not value.strip():
        raise _BadValueError("expected a non-empty text")
    return value.casefold()


WHEN_KEYS: Mapping[str, Callable[[str], str] | None] = {
    "sender": None,  # a participant id; checked against participants.toml
    "source_schema": _choice(SCHEMA_KINDS),
    "message_kind": _kind,
    "category": _choice((c.value for c in NoticeCategory), fold=str.lower),
    "notice_type": _choice(NOTICE_TYPE.values(), fold=str.lower),
    "alert_category": _choice(ALERT_CATEGORY.values(), fold=str.upper),
    "subject_nationality": _country,
    "originating_country": _country,
    "issuing_country": _country,  # alias of originating_country
    "offence_text": _text,
    "classification": _choice((c.value for c in Classification), fold=str.upper),
    "handling_code": _choice((c.value for c in HandlingCode), fold=str.upper),
    "tlp": _tlp,
    "is_diffusion": None,  # a boolean, not a list
}
_ALIASES = {"issuing_country": "originating_country"}


# ---- recipient selectors ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selector:
    """One entry of ``deliver_to`` / ``deny_to``: participant id, ``schema:<name>``,
    ``country:<alpha-2>``, ``kind:<kind>`` or ``national-system-of-nationality``."""

    text: str
    by: Literal["id", "schema", "country", "kind", "nationality"]
    value: str = ""

    def select(self, facts: RoutingFacts, participants: Mapping[str, Participant]) -> list[str]:
        if self.by == "id":
            return [self.value] if self.value in participants else []
        if self.by == "schema":
            return [p.id for p in participants.values() if p.schema_ == self.value]
        if self.by == "country":
            return [p.id for p in participants.values() if p.country == self.value]
        if self.by == "kind":
            return [p.id for p in participants.values() if p.kind == self.value]
        nationalities = set(facts.subject_nationalities)
        return [
            p.id
            for p in participants.values()
            if p.kind in ("ncb", "national") and p.country in nationalities
        ]


def _selector(text: str, participant_ids: frozenset[str]) -> Selector:
    if text == NATIONAL_SYSTEM_OF_NATIONALITY:
        return Selector(text, "nationality")
    prefix, sep, rest = text.partition(":")
    if not sep:
        if text not in participant_ids:
            raise _BadValueError(
                f"no participant {text!r} in participants.toml (known: "
                f"{', '.join(sorted(participant_ids))}); a selector is a participant id, "
                "schema:<name>, country:<alpha-2>, kind:<kind> or "
                f"{NATIONAL_SYSTEM_OF_NATIONALITY}"
            )
        return Selector(text, "id", text)
    try:
        if prefix == "schema":
            return Selector(text, "schema", _choice(SCHEMA_KINDS)(rest))
        if prefix == "country":
            return Selector(text, "country", _country(rest))
        if prefix == "kind":
            return Selector(text, "kind", _choice(_PARTICIPANT_KINDS)(rest))
    except _BadValueError as exc:
        raise _BadValueError(f"{prefix}: {exc}, got {rest!r}") from None
    raise _BadValueError(
        f"unknown selector prefix {prefix!r}; expected schema:, country: or kind: "
        "(or a participant id without a colon)"
    )


# ---- rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    when: AllOf
    deliver_to: tuple[Selector, ...] = ()
    deny_to: tuple[Selector, ...] = ()


class RuleError(ValueError):
    """Every problem in one rule, as (path inside the rule, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p}: {m}" for p, m in self.problems))


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _compile_condition(
    key: str, raw: object, participant_ids: frozenset[str], problems: list[tuple[str, str]]
) -> Matcher | None:
    path = f"when.{key}"
    if key == "is_diffusion":
        if not isinstance(raw, bool):
            problems.append((path, f"expected true or false, got {raw!r}"))
            return None
        return FlagIs("is_diffusion", raw)
    values = _as_list(raw)
    if not values:
        problems.append((path, "an empty list matches nothing; name at least one value"))
        return None
    normalise = WHEN_KEYS[key]
    wanted: list[str] = []
    for i, value in enumerate(values):
        where = f"{path}[{i}]" if isinstance(raw, list) else path
        if not isinstance(value, str):
            problems.append((where, f"expected a string, got {value!r}"))
            continue
        if key == "sender":
            if value not in participant_ids:
                problems.append((where, f"no participant {value!r} in participants.toml"))
                continue
            wanted.append(value)
            continue
        assert normalise is not None
        try:
            wanted.append(normalise(value))
        except _BadValueError as exc:
            problems.append((where, f"{exc}, got {value!r}"))
    if key == "offence_text":
        return TextContains(tuple(wanted))
    return OneOf(_ALIASES.get(key, key), frozenset(wanted))


def _compile_selectors(
    name: str, raw: object, participant_ids: frozenset[str], problems: list[tuple[str, str]]
) -> tuple[Selector, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append((name, f"expected a list of selectors, got {raw!r}"))
        return ()
    selectors: list[Selector] = []
    for i, text in enumerate(raw):
        if not isinstance(text, str):
            problems.append((f"{name}[{i}]", f"expected a string, got {text!r}"))
            continue
        try:
            selectors.append(_selector(text, participant_ids))
        except _BadValueError as exc:
            problems.append((f"{name}[{i}]", str(exc)))
    return tuple(selectors)


def compile_rule(
    rule_id: str,
    *,
    description: str,
    when: Mapping[str, Any],
    deliver_to: Sequence[str] | None,
    deny_to: Sequence[str] | None,
    participant_ids: frozenset[str],
) -> Rule:
    """One ``[[rule]]`` → `Rule`. Raises `RuleError` listing every problem."""
    problems: list[tuple[str, str]] = []
    if not when:
        problems.append(("when", "a rule needs at least one condition (an empty when is refused)"))
    matchers: list[Matcher] = []
    for key, raw in when.items():
        if key not in WHEN_KEYS:
            problems.append(
                (f"when.{key}", f"unknown condition; expected one of {', '.join(WHEN_KEYS)}")
            )
            continue
        matcher = _compile_condition(key, raw, participant_ids, problems)
        if matcher is not None:
            matchers.append(matcher)
    allow = _compile_selectors("deliver_to", deliver_to, participant_ids, problems)
    deny = _compile_selectors("deny_to", deny_to, participant_ids, problems)
    if deliver_to is None and deny_to is None:
        problems.append(("deliver_to", "a rule needs deliver_to, deny_to or both"))
    if problems:
        raise RuleError(problems)
    return Rule(rule_id, description, AllOf(tuple(matchers)), allow, deny)


# ---- caveats ---------------------------------------------------------------------------


def _audience_text(p: Participant) -> str:
    return "every country" if p.audience_all else " ".join(sorted(p.audience))


def _within(p: Participant, allowed: frozenset[str]) -> bool:
    return not p.audience_all and bool(p.audience) and p.audience <= allowed


def caveat_refusal(facts: RoutingFacts, p: Participant) -> tuple[str, str] | None:
    """The first of the sender's caveats that forbids ``p``, as (reason, detail), or None."""
    if p.country is not None and p.country in facts.excluded:
        return (
            "caveat:excluded",
            f"the sender excluded {p.country}, the country {p.id} serves",
        )
    if facts.restricted_to and not _within(p, facts.restricted_to):
        allowed = " ".join(sorted(facts.restricted_to))
        return (
            "caveat:restricted_to",
            f"the sender restricted the message to {allowed}; {p.id} reaches {_audience_text(p)}",
        )
    if facts.tlp is Tlp.RED and not (facts.restricted_to and _within(p, facts.restricted_to)):
        allowed = " ".join(sorted(facts.restricted_to))
        return (
            "caveat:tlp-red",
            "TLP:RED goes only to the recipients the sender named in restricted_to"
            + (f" ({allowed})" if allowed else ", and it names none"),
        )
    if p.schema_ != facts.source_schema:
        for code in _RESTRICTING_CODES:
            if code in facts.handling_codes:
                return (
                    f"caveat:handling-code:{code.value}",
                    f"handling code {code.value} keeps the message inside the "
                    f"{facts.source_schema} system; {p.id} speaks {p.schema_}",
                )
        if facts.classification in _RESTRICTING_CLASSIFICATIONS:
            assert facts.classification is not None
            return (
                "caveat:classification",
                f"a {facts.classification.value} message stays inside the "
                f"{facts.source_schema} system; {p.id} speaks {p.schema_}",
            )
    return None


# ---- the decision ----------------------------------------------------------------------

Outcome = Literal["routed", "refused"]


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    participant: str
    outcome: Outcome
    reason: str  # "rule:<id>", "caveat:…", "sender", "cancel-follows-publish", …
    detail: str
    selected_by: tuple[str, ...] = ()  # the reasons it was a candidate

    def as_json(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "selected_by": list(self.selected_by),
        }


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    message_id: str
    sender: str
    kind: MessageKind
    rules_digest: str
    matched_rules: tuple[str, ...]
    outcomes: tuple[RecipientOutcome, ...]
    unrouted: bool  # no rule (nor, for update/cancel, the earlier publish) selected anyone
    notes: tuple[str, ...] = field(default=())

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(o.participant for o in self.outcomes if o.outcome == "routed")

    @property
    def refused(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome == "refused")

    @property
    def routing(self) -> str:
        """``routed`` (someone receives it), ``unrouted`` or ``refused`` (every candidate)."""
        if self.recipients:
            return "routed"
        return "unrouted" if self.unrouted else "refused"

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "sender": self.sender,
            "kind": self.kind.value,
            "routing": self.routing,
            "rules_digest": self.rules_digest,
            "matched_rules": list(self.matched_rules),
            "recipients": [o.as_json() for o in self.outcomes],
            "notes": list(self.notes),
        }


def may_send(config: GatewayConfig, participant: str, kind: MessageKind) -> bool:
    """Whether ``participant``'s ``may_send`` lists ``kind`` (ingress refuses with 403 if not)."""
    p = config.participants.get(participant)
    if p is None:
        return False
    words = SCHEMA_KINDS.get(p.schema_, {})
    return any(words.get(w) is kind for w in p.may_send)


# participant id → [(rule id, selector text)] in rule order
_Picks = dict[str, list[tuple[str, str]]]


def _selections(
    rules: Iterable[Rule], facts: RoutingFacts, participants: Mapping[str, Participant]
) -> tuple[list[str], _Picks, _Picks]:
    matched: list[str] = []
    allow: _Picks = {}
    deny: _Picks = {}
    for rule in rules:
        if not rule.when.matches(facts):
            continue
        matched.append(rule.id)
        for picks, selectors in ((allow, rule.deliver_to), (deny, rule.deny_to)):
            for selector in selectors:
                for pid in selector.select(facts, participants):
                    picks.setdefault(pid, []).append((rule.id, selector.text))
    return matched, allow, deny


def _decide(
    pid: str,
    *,
    facts: RoutingFacts,
    participants: Mapping[str, Participant],
    allowed_by: list[tuple[str, str]],
    denied_by: list[tuple[str, str]],
    follows: str | None,
) -> RecipientOutcome:
    selected = tuple(dict.fromkeys(f"rule:{r}" for r, _ in allowed_by)) + (
        (follows,) if follows else ()
    )

    def refused(reason: str, detail: str) -> RecipientOutcome:
        return RecipientOutcome(pid, "refused", reason, detail, selected)

    if pid == facts.sender:
        return refused("sender", "a message is never delivered back to its sender")
    p = participants.get(pid)
    if p is None:
        return refused("not-configured", f"{pid} is no longer in participants.toml")
    if facts.kind is MessageKind.CANCEL:
        # A withdrawal reaches everyone that got the notice, whatever the rules say now
        # (schemas.md, message kinds); it carries no new information to protect.
        return RecipientOutcome(
            pid, "routed", "cancel-follows-publish", f"{pid} received the notice", selected
        )
    caveat = caveat_refusal(facts, p)
    if caveat is not None:
        return refused(*caveat)
    if denied_by:
        rule, text = denied_by[0]
        return refused(f"rule:{rule}", f"deny_to {text} of rule {rule!r}")
    if allowed_by:
        rule, text = allowed_by[0]
        return RecipientOutcome(
            pid, "routed", f"rule:{rule}", f"deliver_to {text} of rule {rule!r}", selected
        )
    assert follows is not None
    return RecipientOutcome(
        pid, "routed", follows, f"{pid} received the notice before this update", selected
    )


def route(
    facts: RoutingFacts,
    config: GatewayConfig,
    *,
    previous_recipients: frozenset[str] = frozenset(),
) -> RoutingDecision:
    """Decide, per participant considered, ``routed`` or ``refused`` with its reason."""
    participants = config.participants
    matched, allow, deny = _selections(config.rules, facts, participants)
    follows: str | None = None
    notes: list[str] = []
    if facts.kind is MessageKind.CANCEL:
        candidates = set(previous_recipients)
        allow, deny = {}, {}
        follows = "cancel-follows-publish"
        notes.append("a cancel goes to exactly the recipients of the notice; rules do not decide")
    elif facts.kind is MessageKind.UPDATE:
        candidates = set(allow) | previous_recipients
        follows = "update-follows-publish"
    else:
        candidates = set(allow)
    # participants.toml order, then ids no longer configured (a former recipient) by id
    ranked = [pid for pid in participants if pid in candidates]
    if len(ranked) != len(candidates):
        ranked.extend(sorted(pid for pid in candidates if pid not in participants))
    outcomes = tuple(
        _decide(
            pid,
            facts=facts,
            participants=participants,
            allowed_by=allow.get(pid, []),
            denied_by=deny.get(pid, []),
            follows=follows if pid in previous_recipients else None,
        )
        for pid in ranked
    )
    unrouted = not any(o.participant != facts.sender for o in outcomes)
    if unrouted:
        notes.append(
            "unrouted: no earlier recipient to follow"
            if facts.kind is MessageKind.CANCEL
            else "unrouted: no rule selects a recipient other than the sender"
        )
    return RoutingDecision(
        message_id=facts.message_id,
        sender=facts.sender,
        kind=facts.kind,
        rules_digest=config.rules_digest,
        matched_rules=tuple(matched),
        outcomes=outcomes,
        unrouted=unrouted,
        notes=tuple(notes),
    )


def explain(decision: RoutingDecision) -> list[str]:
    """The decision as lines a person reads."""
    lines = [
        f"message {decision.message_id}: {decision.kind.value} from {decision.sender} "
        f"-> {decision.routing}",
        f"rules digest {decision.rules_digest}",
        "rules matched: " + (", ".join(decision.matched_rules) or "none"),
    ]
    for o in decision.outcomes:
        if o.outcome == "routed":
            lines.append(f"  deliver to {o.participant}: {o.reason} ({o.detail})")
            continue
        chosen = f"; it was selected by {', '.join(o.selected_by)}" if o.selected_by else ""
        lines.append(f"  refuse for {o.participant}: {o.reason} ({o.detail}{chosen})")
    lines.extend(decision.notes)
    return lines
