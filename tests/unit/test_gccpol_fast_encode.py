"""The GCC encoder's fast path writes exactly what the reference path writes.

Two shortcuts make `encode_alert` cheaper (docs/performance.md): wire models whose fields
are known to be valid are built without validation (`adapters.gccpol._built`), and the XML
is written as strings (`wire.write_message`) instead of through lxml elements
(`wire.write_message_lxml`, kept as the reference). The reference encoder is the same code
with every model validated and the lxml writer: over generated notices from both sides,
and over notices with hostile text put in every field the encoder copies, both must give
the same bytes and loss report, or the same refusal (code, field and reason). And every
model built without validation must be exactly what validating it gives.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters import gccpol
from adapters._errors import TranslationRefused
from adapters.gccpol import ADAPTER as GCCPOL
from adapters.gccpol import decode_alert
from adapters.interpol import ADAPTER as INTERPOL
from schemas import codes
from schemas import gccpol as wire
from schemas.canonical import (
    CanonicalMessage,
    Colour,
    Evaluation,
    Event,
    IdentityDocument,
    LocalizedText,
    Loss,
    PersonName,
    Provenance,
    Reference,
)
from tests.strategies_gccpol import gccpol_messages, wire_messages, with_gccpol_reference
from tests.strategies_interpol import interpol_messages, wire_bytes

DATA = Path(__file__).resolve().parents[1] / "data"
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def _reference_encoder() -> Iterator[None]:
    """Every wire model validated, and written through lxml: the encoder before the
    shortcuts."""
    saved = gccpol._VALIDATE_ALL, wire.write_message
    gccpol._VALIDATE_ALL = True
    wire.write_message = wire.write_message_lxml  # type: ignore[assignment]
    try:
        yield
    finally:
        gccpol._VALIDATE_ALL, wire.write_message = saved  # type: ignore[assignment]


def _outcome(encode: Callable[[], Any]) -> tuple[object, ...]:
    try:
        encoded = encode()
    except TranslationRefused as exc:
        return ("refused", exc.code, exc.field, exc.reason)
    except (ValueError, UnicodeError) as exc:
        # Not a refusal: lxml refusing text no wire model stops (a lone surrogate in a
        # reference id). Out of reach of decoded input; the same either way all the same.
        return ("raised", type(exc), str(exc))
    if not isinstance(encoded, tuple):
        encoded = (encoded,)
    return ("written", tuple((e.body, e.losses) for e in encoded))


def _both_ways(message: CanonicalMessage, ids: list[str] | None = None) -> tuple[object, ...]:
    """The outcome of encode (or encode_each for ``ids``), asserted equal both ways."""

    def encode() -> Any:
        return GCCPOL.encode(message) if ids is None else GCCPOL.encode_each(message, ids)

    fast = _outcome(encode)
    with _reference_encoder():
        reference = _outcome(encode)
    assert fast == reference
    if fast[0] == "written" and ids != []:
        first = {} if ids is None else {"message_id": ids[0]}  # what encode_each encodes
        _assert_models_are_valid(message.model_copy(update=first))
    return fast


def _assert_models_are_valid(message: CanonicalMessage) -> None:
    """Every model of the alert, built fast, is what validating its fields gives."""
    model = gccpol._checked_wire_message(message, gccpol._LossReport())
    assert wire.Message.model_validate(model.model_dump(by_alias=True)) == model
    with _reference_encoder():
        reference = gccpol._checked_wire_message(message, gccpol._LossReport())
    assert model == reference
    for built, validated in zip(_models(model), _models(reference), strict=True):
        assert type(built) is type(validated)
        assert built.model_fields_set == validated.model_fields_set


def _models(model: BaseModel) -> Iterator[BaseModel]:
    yield model
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, BaseModel):
                yield from _models(item)


# ============================================================================ the writer


@_SETTINGS
@given(wire_messages())
def test_the_direct_writer_writes_what_lxml_writes(message: wire.Message) -> None:
    assert wire.write_message(message) == wire.write_message_lxml(message)


_ANY_TEXT = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(
    ("", "a&b", "<x>", 'say "hi"', "it's", "]]>", "tab\there", "cr\rlf\n", "\ufffe", "\ud800")
)


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT, _ANY_TEXT, _ANY_TEXT)
def test_the_direct_writer_escapes_any_text_as_lxml_does(
    element_text: str, attribute: str, reason: str
) -> None:
    """Any text, even what no validated model holds: the same bytes, or the same error."""
    sample = decode_alert((DATA / "gccpol-missing-new.xml").read_bytes())
    base = gccpol._checked_wire_message(sample, gccpol._LossReport())
    loss = wire.ProvenanceLoss.model_construct(
        field=attribute, source_value=attribute, reason=reason
    )
    provenance = wire.Provenance.model_construct(
        origin="ipsg",
        origin_message_id=element_text,
        body_sha256="0" * 64,
        keyid="k",
        signature=reason,
        audit_index="1",
        losses=(loss,),
    )
    message = base.model_copy(update={"sender": element_text, "provenance": provenance})

    def written(write: Callable[[wire.Message], bytes]) -> object:
        try:
            return write(message)
        except (ValueError, UnicodeError) as exc:
            return type(exc)

    assert written(wire.write_message) == written(wire.write_message_lxml)


def test_the_samples_are_written_as_before() -> None:
    red = INTERPOL.decode((DATA / "interpol-red-publish.json").read_bytes())
    missing = decode_alert((DATA / "gccpol-missing-new.xml").read_bytes())
    for message in (with_gccpol_reference(red), missing):
        model = gccpol._checked_wire_message(message, gccpol._LossReport())
        assert wire.write_message(model) == wire.write_message_lxml(model)
        _both_ways(message)


# ============================================================================ the encoder


@_SETTINGS
@given(interpol_messages(), st.integers(1, 2))
def test_notices_from_interpol_are_encoded_as_the_reference_does(
    message: dict[str, object], recipients: int
) -> None:
    canonical = with_gccpol_reference(INTERPOL.decode(wire_bytes(message)))
    _both_ways(canonical)
    _both_ways(canonical, [str(uuid.uuid4()) for _ in range(recipients)])


@_SETTINGS
@given(gccpol_messages())
def test_alerts_from_gcc_senders_are_encoded_as_the_reference_does(body: bytes) -> None:
    _both_ways(decode_alert(body))


# Text the encoder must refuse, cut or report: controls, hidden characters, white space to
# collapse, XML-illegal characters, and lengths at each limit of the GCC schema.
_HOSTILE = st.one_of(
    st.text(st.characters(codec=None), max_size=20),
    st.sampled_from(
        (
            "",
            " ",
            " padded ",
            "two  spaces",
            "line\nbreak",
            "tab\t",
            "bell\x07",
            "del\x7f",
            "c1\x85",
            "rlo\u202eevil",
            "bom\ufeff",
            "nonchar\ufffe",
            "lone\ud800",
            "a&b<c>d\"e'f",
            "محمد",
            "ar",
            "en-GB",
            "not a tag!",
            "https://example.org/p.jpg",
            "http://exa mple.org",
            "GCCPOL",
            "INTERPOL",
            "X_Y-1",
            "gccpol",
            "ipsg",
            "-bad",
            "0" * 64,
            "GCC-SAU-1447-000001",
            " GCC-SAU-1447-000001 ",
            "GCC-XXX-1447-000001",
            "GCC-SAU-1200-000001",
        )
    ),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(("x", "ج", "\U0001f600")),
        st.sampled_from((128, 129, 256, 257, 300, 301, 999, 1000, 1001, 2048, 2049, 3999, 4000)),
    ),
    st.builds(lambda n: "x " * n, st.sampled_from((500, 501, 2000, 2001))),
)

# (what, how to put a text into a message) for every field the encoder copies text from.
_Edit = Callable[[CanonicalMessage, str], CanonicalMessage]


def _notice(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    return m.model_copy(update={"notice": m.notice.model_copy(update=update)})


def _subject(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    assert m.notice.subject is not None
    return _notice(m, subject=m.notice.subject.model_copy(update=update))


def _name(m: CanonicalMessage, script: str, **update: Any) -> CanonicalMessage:
    assert m.notice.subject is not None
    names = tuple(
        n.model_copy(update=update) if n.script == script else n for n in m.notice.subject.names
    )
    return _subject(m, names=names)


def _offence(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    first, *rest = m.notice.offences
    return _notice(m, offences=(first.model_copy(update=update), *rest))


def _warrant(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    warrant = m.notice.offences[0].warrant
    assert warrant is not None
    return _offence(m, warrant=warrant.model_copy(update=update))


def _dissemination(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    return _notice(m, dissemination=m.notice.dissemination.model_copy(update=update))


def _provenance(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    assert m.provenance is not None
    return m.model_copy(update={"provenance": m.provenance.model_copy(update=update)})


def _loss(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    assert m.provenance is not None
    first = Loss(field="f", source_value="v", reason="r").model_copy(update=update)
    return _provenance(m, losses=(first,))


def _reference(m: CanonicalMessage, system: str, id_: str) -> CanonicalMessage:
    refs = (*m.notice.references, Reference(system=system, id=id_))
    return _notice(m, references=refs)


def _localized(text: str) -> Any:
    return LocalizedText(text=text, lang="ar")


EDITS: dict[str, _Edit] = {
    "message_id": lambda m, t: m.model_copy(update={"message_id": t}),
    "sender": lambda m, t: m.model_copy(update={"sender": t}),
    "reference system": lambda m, t: _reference(m, t, "1"),
    "reference id": lambda m, t: _reference(m, "OTHER", t),
    "alert id": lambda m, t: _reference(
        _notice(m, references=tuple(r for r in m.notice.references if r.system != "GCCPOL")),
        "GCCPOL",
        t,
    ),
    "agency": lambda m, t: _notice(m, originating_agency=_localized(t)),
    "agency lang": lambda m, t: _notice(m, originating_agency=LocalizedText(text="Police", lang=t)),
    "arabic first": lambda m, t: _name(m, "Arab", first=t),
    "arabic family": lambda m, t: _name(m, "Arab", family=t),
    "arabic given": lambda m, t: _name(m, "Arab", first=None, father=None, given=t),
    "latin given": lambda m, t: _name(m, "Latn", given=t, first=None),
    "latin lang": lambda m, t: _name(m, "Latn", lang=t),
    "latin romanization": lambda m, t: _name(m, "Latn", romanization=t),
    "kunya": lambda m, t: _subject(m, kunya=t),
    "tribe": lambda m, t: _subject(m, tribe=t),
    "alias": lambda m, t: _subject(m, aliases=(PersonName(script="Latn", full=t),)),
    "mother": lambda m, t: _subject(
        m, mother_names=(PersonName(script="Arab", given=t, family="x"),)
    ),
    "father given": lambda m, t: _subject(m, father_given=t),
    "birth place": lambda m, t: _subject(m, birth_place=_localized(t)),
    "marks": lambda m, t: _subject(m, distinguishing_marks=t),
    "height": lambda m, t: _subject(m, height_m=Decimal(len(t)) / 7),
    "eyes": lambda m, t: _subject(m, eye_colours=tuple(Colour)[: len(t) % 4]),
    "document": lambda m, t: _subject(
        m, identity_documents=(IdentityDocument(type=t, number=t or "1"),)
    ),
    "image": lambda m, t: _subject(m, image_links=(t,)),
    "language": lambda m, t: _subject(m, languages=(t, "ara")),
    "description": lambda m, t: _offence(m, descriptions=(LocalizedText(text=t, lang=None),)),
    "legal basis": lambda m, t: _offence(m, legal_basis=t),
    "warrant reference": lambda m, t: _warrant(m, reference=t),
    "warrant authority": lambda m, t: _warrant(m, issuing_authority=t),
    "event place": lambda m, t: _notice(m, event=Event(place=_localized(t))),
    "handling note": lambda m, t: _dissemination(m, handling_note=t),
    "excluded": lambda m, t: _dissemination(m, excluded=("FR",) * (len(t) % 3)),
    "reliability": lambda m, t: _notice(m, evaluation=Evaluation(source_reliability=t)),
    "provenance origin": lambda m, t: _provenance(m, origin=t),
    "provenance message id": lambda m, t: _provenance(m, origin_message_id=t),
    "provenance sha256": lambda m, t: _provenance(m, body_sha256=t),
    "provenance keyid": lambda m, t: _provenance(m, keyid=t),
    "provenance signature": lambda m, t: _provenance(m, signature=t),
    "provenance index": lambda m, t: _provenance(m, audit_index=len(t) * 10**16 - 5),
    "provenance loss": lambda m, t: _loss(m, field=t, source_value=t, reason=t),
}


def _base() -> CanonicalMessage:
    red = INTERPOL.decode((DATA / "interpol-red-publish.json").read_bytes())
    message = with_gccpol_reference(red)
    return message.model_copy(
        update={
            "provenance": Provenance(
                origin="ipsg",
                origin_message_id=str(uuid.UUID(int=7)),
                body_sha256="a" * 64,
                keyid="ipsg-2026",
                signature="sig1=:AAAA:",
                audit_index=12,
            )
        }
    )


_BASE = _base()
assert _BASE.notice.subject is not None and _BASE.notice.offences[0].warrant is not None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(EDITS)), _HOSTILE), min_size=1, max_size=3))
def test_hostile_text_is_refused_cut_or_written_as_the_reference_does(
    edits: list[tuple[str, str]],
) -> None:
    message = _BASE
    for what, text in edits:
        message = EDITS[what](message, text)
    _both_ways(message)
    _both_ways(message, [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))])


@pytest.mark.parametrize("what", sorted(EDITS))
def test_each_field_edit_reaches_the_encoder(what: str) -> None:
    """Each edit above changes what is written or refused (the property is not vacuous)."""
    outcomes = {_both_ways(EDITS[what](_BASE, text)) for text in ("x" * 4001, "a\x07b", " y ")}
    outcomes.add(_both_ways(_BASE))
    assert len(outcomes) > 1, what


# ============================================================================ the tables


def test_the_tables_give_only_values_the_wire_models_accept() -> None:
    """What the fast path relies on: every code the tables give is a valid wire value."""
    for country in pycountry.countries:
        alpha3 = codes.alpha2_to_alpha3(country.alpha_2)
        assert alpha3 is not None
        wire.Place.model_validate({"Country": alpha3})
    for language in pycountry.languages:
        code = codes.language_to_639_1(language.alpha_3)
        if code is None:
            continue
        wire.Subject.model_validate(
            {"Name": ({"@script": "Arab", "FirstName": "x"},), "Language": (code,)}
        )
    for colour in Colour:
        wire.PhysicalDescription.model_validate({"EyeColour": gccpol.gc.colour_code(colour)[0]})
    for romanization in gccpol.gc.ROMANIZATIONS:
        wire.Name.model_validate(
            {"@script": "Latn", "@romanization": romanization, "FirstName": "x"}
        )


def _wire_models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(wire).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == wire.__name__
    ]


@pytest.mark.parametrize("model", _wire_models(), ids=lambda m: m.__name__)
def test_an_unvalidated_model_is_what_model_construct_builds(model: type[BaseModel]) -> None:
    assert not model.__pydantic_post_init__ and model.model_config.get("extra") == "forbid"
    required = {name: f"<{name}>" for name, f in model.model_fields.items() if f.is_required()}
    for fields in (required, {**required, **{name: "x" for name in model.model_fields}}):
        fast = gccpol._unvalidated(model, dict(fields))
        slow = model.model_construct(**fields)
        assert fast.__dict__ == slow.__dict__ and list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__
        assert fast.__pydantic_private__ == slow.__pydantic_private__
        assert fast == slow
