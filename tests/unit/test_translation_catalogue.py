"""Every loss reason and refusal in adapters/field_map.py (docs/translation.md), shown.

One example per entry, made from the samples in tests/data/ by changing what the entry is
about, translated through the gateway's path (`adapters.translate.translate`). The ids are
the tables' ids; a test below fails when an entry has no example (or an example no entry).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import hijridate
import orjson
import pytest

from adapters import TranslationRefused, adapter_for_schema
from adapters.field_map import LOSS_REASONS, REFUSALS
from adapters.gccpol import ADAPTER as GCCPOL
from adapters.interpol import ADAPTER as INTERPOL
from adapters.interpol import decode_with_losses
from adapters.translate import translate
from schemas.canonical import (
    CanonicalMessage,
    Classification,
    Colour,
    Evaluation,
    HandlingCode,
    IdentityDocument,
    LocalizedText,
    Loss,
    NoticeCategory,
    Offence,
    PartialDate,
    PersonName,
    Reference,
    RequestedAction,
    Sex,
    Tlp,
    Warrant,
)

DATA = Path(__file__).resolve().parents[1] / "data"
RED = INTERPOL.decode((DATA / "interpol-red-publish.json").read_bytes())  # INTERPOL origin
MISSING = GCCPOL.decode((DATA / "gccpol-missing-new.xml").read_bytes())  # GCCPOL origin

Make = Callable[[], CanonicalMessage]


def _n(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    return m.model_copy(update={"notice": m.notice.model_copy(update=update)})


def _s(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    assert m.notice.subject is not None
    return _n(m, subject=m.notice.subject.model_copy(update=update))


def _d(m: CanonicalMessage, **update: Any) -> CanonicalMessage:
    return _n(m, dissemination=m.notice.dissemination.model_copy(update=update))


def _charges(m: CanonicalMessage, *texts: tuple[str, str | None], **more: Any) -> CanonicalMessage:
    descriptions = tuple(LocalizedText(text=t, lang=lang) for t, lang in texts)
    return _n(m, offences=(Offence(descriptions=descriptions, **more),))


def _names(m: CanonicalMessage, *names: PersonName) -> CanonicalMessage:
    return _s(m, names=names)


def _first_rajab() -> PartialDate:
    g = hijridate.Hijri(1411, 7, 1).to_gregorian()
    return PartialDate(year=g.year, month=g.month, day=g.day)


_ARAB = PersonName(script="Arab", family="القحطاني", given="محمد")
_LATN = PersonName(script="Latn", family="DOE", given="JOHN")

# id → (make the message, the loss field expected)
LOSS_EXAMPLES: dict[str, tuple[Make, str]] = {
    # written to the INTERPOL side, from the GCC sample
    "i-rajab": (lambda: _s(MISSING, birth_date=_first_rajab()), "subject.birth_date"),
    "i-text-lang": (lambda: MISSING, "subject.birth_place.lang"),
    "i-image": (
        lambda: _s(MISSING, image_links=("https://img.example.org/a.jpg",)),
        "subject.image_links[0]",
    ),
    "i-h0": (lambda: MISSING, "notice.dissemination.handling_codes[0]"),
    "i-note": (
        lambda: _d(MISSING, handling_note="police use"),
        "notice.dissemination.handling_note",
    ),
    "i-action": (
        lambda: _n(MISSING, requested_action=RequestedAction.MONITOR),
        "notice.requested_action",
    ),
    "i-agency": (lambda: MISSING, "notice.originating_agency"),
    "i-parts": (
        lambda: _names(
            MISSING, _ARAB, PersonName(script="Latn", first="ANNA MARIA", given="ANNA MARIA")
        ),
        "subject.names[Latn].father",
    ),
    "i-mother-script": (lambda: MISSING, "subject.mother_names[0]"),
    "i-alias-script": (
        lambda: _s(MISSING, aliases=(PersonName(script="Arab", full="علي"),)),
        "subject.aliases[0]",
    ),
    "i-alias-string": (
        lambda: _s(MISSING, aliases=(PersonName(script="Latn", full="ALI"),)),
        "subject.aliases[0]",
    ),
    "i-colour": (lambda: _s(MISSING, eye_colours=(Colour.BLOND,)), "subject.eye_colours[0]"),
    "i-language": (lambda: _s(MISSING, languages=("qqq",)), "subject.languages[0]"),
    "i-kunya": (lambda: _s(MISSING, kunya="أبو محمد"), "subject.kunya"),
    "i-legal-basis": (
        lambda: _charges(MISSING, ("Theft", "en"), legal_basis="Art. 311"),
        "notice.offences[0].legal_basis",
    ),
    "i-penalty": (
        lambda: _charges(MISSING, ("Theft", "en"), max_penalty_years=5),
        "notice.offences[0].max_penalty_years",
    ),
    "i-offence": (lambda: _n(MISSING, offences=(Offence(),)), "notice.offences[0]"),
    "i-classification": (
        lambda: _d(MISSING, tlp=Tlp.AMBER),
        "notice.dissemination.classification",
    ),
    "i-full-name": (
        lambda: _names(MISSING, PersonName(script="Latn", full="JOHN DOE"), _ARAB),
        "subject.names[Latn].full",
    ),
    "i-romanization": (lambda: MISSING, "subject.names[Latn].romanization"),
    "i-name-lang": (lambda: MISSING, "subject.names[Latn].lang"),
    "i-second-name": (
        lambda: _names(MISSING, _LATN, _ARAB, PersonName(script="Cyrl", family="Иванов")),
        "subject.names[Cyrl]",
    ),
    "i-second-mother": (
        lambda: _s(
            MISSING,
            mother_names=(
                PersonName(script="Latn", full="FATIMA"),
                PersonName(script="Latn", full="NOURA"),
            ),
        ),
        "subject.mother_names[1]",
    ),
    "i-order": (
        lambda: _charges(MISSING, ("Theft", "en"), ("سرقة", "ar")),
        "notice.offences[0].descriptions",
    ),
    "i-event": (
        lambda: _n(MISSING, category=NoticeCategory.INFO_REQUEST),
        "notice.event.date",
    ),
    "i-evaluation": (lambda: MISSING, "notice.evaluation.source_reliability"),
    "i-un": (lambda: _n(MISSING, un_reference="S/RES/1267"), "notice.un_reference"),
    "i-third-text": (
        lambda: _charges(MISSING, ("vol", "fr"), ("theft", "en"), ("robo", "es")),
        "notice.offences[0].descriptions[2]",
    ),
    "i-same-text": (
        lambda: _charges(MISSING, ("Theft", None), ("Theft", "en")),
        "notice.offences[0].descriptions[0]",
    ),
    "i-charge-lang": (
        lambda: _charges(MISSING, ("vol", "fr")),
        "notice.offences[0].descriptions[0].lang",
    ),
    # written to the GCC side, from the INTERPOL sample
    "g-bcp47": (
        lambda: _s(RED, birth_place=LocalizedText(text="Riyadh", lang="not a tag")),
        "subject.birth_place.lang",
    ),
    "g-xml-chars": (
        lambda: _s(RED, distinguishing_marks="scar\x01"),
        "subject.distinguishing_marks",
    ),
    "g-collapsed": (
        lambda: _s(RED, distinguishing_marks="scar\non  cheek"),
        "subject.distinguishing_marks",
    ),
    "g-blank": (lambda: _s(RED, distinguishing_marks="   "), "subject.distinguishing_marks"),
    "g-calendar": (
        lambda: _s(RED, birth_date=PartialDate(year=1980, month=5)),
        "subject.birth_date",
    ),
    "g-split": (lambda: RED, "subject.names[Latn].given"),
    "g-one-word": (
        lambda: _names(RED, PersonName(script="Latn", family="DOE", given=" JOHN"), _ARAB),
        "subject.names[Latn].given",
    ),
    "g-father-differs": (lambda: _s(RED, father_given="OMAR"), "subject.father_given"),
    "g-father-added": (lambda: _s(RED, father_given=None), "subject.father_given"),
    "g-rounded": (lambda: _s(RED, height_m=Decimal("1.785")), "subject.height_m"),
    "g-out-of-range": (lambda: _s(RED, weight_kg=Decimal(800)), "subject.weight_kg"),
    "g-colour": (lambda: _s(RED, eye_colours=(Colour.BROWNISH,)), "subject.eye_colours[0]"),
    "g-second-colour": (
        lambda: _s(RED, hair_colours=(Colour.BLACK, Colour.GREY)),
        "subject.hair_colours[1]",
    ),
    "g-h0": (lambda: RED, "notice.dissemination.handling_codes"),
    "g-excluded": (lambda: _d(RED, excluded=("DE",)), "notice.dissemination.excluded"),
    "g-note": (lambda: _d(RED, handling_note="police use"), "notice.dissemination.handling_note"),
    "g-h3-note": (
        lambda: _d(RED, handling_codes=(HandlingCode.H3,)),
        "notice.dissemination.handling_codes",
    ),
    "g-reliability": (
        lambda: _n(RED, evaluation=Evaluation(source_reliability="Z")),
        "notice.evaluation.source_reliability",
    ),
    "g-accuracy": (
        lambda: _n(RED, evaluation=Evaluation(information_accuracy="7")),
        "notice.evaluation.information_accuracy",
    ),
    "g-action": (lambda: _n(RED, requested_action=None), "notice.requested_action"),
    "g-issued": (lambda: _n(RED, issued=None), "notice.issued"),
    "g-diffusion": (lambda: _n(RED, is_diffusion=True), "notice.is_diffusion"),
    "g-un-reference": (lambda: _n(RED, un_reference="S/RES/1267"), "notice.un_reference"),
    "g-un-resolution": (lambda: _n(RED, un_resolution="1267 (1999)"), "notice.un_resolution"),
    "g-romanization": (
        lambda: _names(
            RED, PersonName(script="Latn", family="DOE", given="JOHN", romanization="PINYIN"), _ARAB
        ),
        "subject.names[Latn].romanization",
    ),
    "g-one-string": (lambda: RED, "subject.mother_names[0]"),
    "g-other-script": (
        lambda: _names(RED, _LATN, _ARAB, PersonName(script="Cyrl", family="Иванов")),
        "subject.names[Cyrl]",
    ),
    "g-language": (lambda: _s(RED, languages=("haw",)), "subject.languages[0]"),
    "g-document": (
        lambda: _s(RED, identity_documents=(IdentityDocument(type=" ", number="A1"),)),
        "subject.identity_documents[0]",
    ),
    "g-image": (
        lambda: _s(RED, image_links=("https://img.example.org/a.jpg",)),
        "subject.image_links[0]",
    ),
    "g-not-url": (
        lambda: _s(RED, image_links=("ftp://img.example.org/a",)),
        "subject.image_links[0]",
    ),
    "g-offence": (
        lambda: _n(RED, offences=(*RED.notice.offences, Offence(warrant=Warrant(reference="R1")))),
        "notice.offences[1]",
    ),
    "g-penalty": (
        lambda: _charges(RED, ("Theft", "en"), max_penalty_years=1000),
        "notice.offences[0].max_penalty_years",
    ),
    "g-no-tlp": (lambda: _d(RED, tlp=None), "notice.dissemination.tlp"),
    "g-tlp-beside": (
        lambda: _d(RED, classification=Classification.UNCLASSIFIED),
        "notice.dissemination.tlp",
    ),
    "g-tlp-inexact": (lambda: _d(RED, tlp=Tlp.RED), "notice.dissemination.tlp"),
}

# id → (make the message, the field the refusal names); `translate` unless marked direct
REFUSAL_EXAMPLES: dict[str, tuple[Make, str]] = {
    "i-un-country": (lambda: _n(MISSING, originating_country="XX"), "notice.originating_country"),
    "i-sex": (lambda: _s(MISSING, sex=Sex.NOT_APPLICABLE), "subject.sex"),
    "i-handling": (
        lambda: _d(MISSING, handling_codes=(HandlingCode.H2,)),
        "notice.dissemination.handling_codes[0]",
    ),
    "i-classified": (
        lambda: _d(MISSING, classification=Classification.CONFIDENTIAL),
        "notice.dissemination.classification",
    ),
    "i-no-reference": (lambda: MISSING, "notice.references[INTERPOL]"),  # direct encode
    "i-no-country": (lambda: _n(MISSING, originating_country=None), "notice.originating_country"),
    "i-red": (
        lambda: _n(MISSING, category=NoticeCategory.WANTED, offences=()),
        "notice.offences",
    ),
    "i-invalid": (lambda: _s(MISSING, height_m=Decimal("3.5")), "notice.height"),
    "g-un": (lambda: _n(RED, category=NoticeCategory.UN_SPECIAL), "notice.category"),
    "g-country": (lambda: _s(RED, birth_country="XX"), "subject.birth_country"),
    "g-hijri": (lambda: _s(RED, birth_date=PartialDate(year=1900)), "subject.birth_date"),
    "g-arabic": (lambda: _names(RED, _LATN), "subject.names[Arab]"),
    "g-no-parts": (lambda: _names(RED, _LATN, PersonName(script="Arab")), "subject.names[Arab]"),
    "g-subject": (lambda: _n(RED, subject=None), "notice.subject"),
    "g-alert-id": (
        lambda: _n(RED, references=(*RED.notice.references, Reference(system="GCCPOL", id="x"))),
        "notice.references[GCCPOL]",
    ),
    "g-no-country": (lambda: _n(RED, originating_country=None), "notice.originating_country"),
    "g-wanted": (lambda: _n(RED, offences=()), "notice.offences"),
    "g-not-expressible": (
        lambda: RED.model_copy(update={"message_id": "not-a-uuid"}),
        "Message.message_id",
    ),
}
_DIRECT = {"i-no-reference"}  # the gateway always mints this one; the adapter still refuses


def _describe(losses: tuple[Loss, ...]) -> str:
    return "\n".join(f"{x.field}: {x.reason}" for x in losses)


@pytest.mark.parametrize("entry", LOSS_REASONS, ids=[x.id for x in LOSS_REASONS])
def test_loss_is_reported(entry: Any) -> None:
    if entry.id == "i-cancel-reason":
        cancel = orjson.loads((DATA / "interpol-red-publish.json").read_bytes())
        cancel["message_type"] = "notice.cancel"
        cancel["notice"] = {
            "notice_type": "red",
            "entity_id": "2026/48213",
            "requesting_country_id": "FR",
            "cancel_reason": "arrested",
        }
        _, losses = decode_with_losses(orjson.dumps(cancel))
        assert [(x.field, x.source_value) for x in losses] == [("notice.cancel_reason", "arrested")]
        assert entry.reason in losses[0].reason
        return
    make, field = LOSS_EXAMPLES[entry.id]
    encoded = translate(make(), entry.target)
    adapter_for_schema(entry.target).decode(encoded.body)  # still a valid message
    matching = [x for x in encoded.losses if x.field == field and entry.reason in x.reason]
    assert matching, f"no loss {field!r} with {entry.reason!r} among:\n{_describe(encoded.losses)}"


@pytest.mark.parametrize("entry", REFUSALS, ids=[x.id for x in REFUSALS])
def test_translation_is_refused(entry: Any) -> None:
    make, field = REFUSAL_EXAMPLES[entry.id]
    with pytest.raises(TranslationRefused) as refused:
        if entry.id in _DIRECT:
            adapter_for_schema(entry.target).encode(make())
        else:
            translate(make(), entry.target)
    assert (refused.value.code, refused.value.field) == (entry.code, field)


def test_every_entry_has_an_example_and_every_example_an_entry() -> None:
    assert set(LOSS_EXAMPLES) | {"i-cancel-reason"} == {x.id for x in LOSS_REASONS}
    assert set(REFUSAL_EXAMPLES) == {x.id for x in REFUSALS}


def test_the_unchanged_samples_are_translated() -> None:
    # The examples are changes to these: on their own both translate without refusal.
    assert translate(RED, "gccpol").losses
    assert translate(MISSING, "interpol").losses
