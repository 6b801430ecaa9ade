"""Every wire field of both sides, how it maps through the canonical model, when it is a loss
and when a refusal: the data behind docs/translation.md.

    .venv/bin/python -m adapters.field_map > docs/translation.md

`ROWS` has one row per canonical field (a row names every wire path that carries it);
`LOSS_REASONS` and `REFUSALS` list every loss reason and refusal code the adapters produce,
each with the test that shows it. tests/unit/test_field_map.py fails when the document
differs from `render()`, when a wire field of either model is missing from `ROWS`, or when
an adapter reports a loss reason or refusal code that is not listed here.

Paths: INTERPOL JSON paths as in violations (``notice.aliases[].name``; ``[]`` marks a list
element); GCCPOL XML paths from the root without prefixes (``/Message/Alert/Subject/Sex``;
``/#`` is not used: an element's text is its own path, ``/@name`` an attribute); canonical
paths as in loss reports (``subject.…`` for the person, ``notice.…`` for the rest).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final

__all__ = [
    "LOSS_REASONS",
    "REFUSALS",
    "ROWS",
    "FieldRow",
    "LossReason",
    "Refusal",
    "render",
]


@dataclass(frozen=True, slots=True)
class FieldRow:
    canonical: str
    interpol: tuple[str, ...]
    gccpol: tuple[str, ...]
    how: str
    loss: str = ""
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class LossReason:
    id: str  # the parameter id of the catalogue test that shows it
    target: str  # the schema being written ("interpol" | "gccpol"); "interpol decode" for one
    field: str  # canonical path (a pattern: [i], <script>, <key>)
    reason: str  # the reason's fixed text, as the adapter writes it


@dataclass(frozen=True, slots=True)
class Refusal:
    id: str
    target: str
    code: str
    field: str
    when: str


LOSS_TEST: Final = "tests/unit/test_translation_catalogue.py::test_loss_is_reported"
REFUSAL_TEST: Final = "tests/unit/test_translation_catalogue.py::test_translation_is_refused"

_M = "/Message"
_H = "/Message/Alert/Header"
_S = "/Message/Alert/Subject"
_N = "/Message/Alert/Subject/Name"
_P = "/Message/Alert/Subject/PhysicalDescription"
_O = "/Message/Alert/Offence"
_E = "/Message/Alert/Event"
_V = "/Message/Provenance"

DATE_PAIR: Final = ("*/Hijri", "*/Gregorian", "*/@precision")

# ---------------------------------------------------------------------------------- fields

ROWS: Final[tuple[FieldRow, ...]] = (
    # envelope
    FieldRow("message_id", ("message_id",), (f"{_M}/MessageID",),
             "copied; the gateway writes its own id per recipient"),
    FieldRow("kind", ("message_type",), (f"{_M}/MessageType",),
             "notice.publish/update/cancel ↔ NEW/AMEND/WITHDRAW"),
    FieldRow("sent_at", ("sent_at",), (f"{_M}/SentAt",), "RFC 3339, held in UTC, written with Z"),
    FieldRow("sender", ("sender_id",), (f"{_M}/Sender",),
             "participant id; the gateway sends as itself"),
    FieldRow("(schema version)", (), (f"{_M}/@schemaVersion",), "always 1.0; not in the model"),
    FieldRow("provenance.*",
             ("_provenance.origin", "_provenance.origin_message_id", "_provenance.body_sha256",
              "_provenance.keyid", "_provenance.signature", "_provenance.audit_index",
              "_provenance.losses[].field", "_provenance.losses[].source_value",
              "_provenance.losses[].reason"),
             (f"{_V}/Origin", f"{_V}/OriginMessageID", f"{_V}/BodySHA256", f"{_V}/KeyID",
              f"{_V}/Signature", f"{_V}/AuditIndex", f"{_V}/Loss/@field",
              f"{_V}/Loss/@sourceValue", f"{_V}/Loss"),
             "written by the gateway on delivery; never translated from the origin's"),
    # header
    FieldRow("notice.category", ("notice.notice_type",), (f"{_H}/AlertCategory",),
             "red yellow black blue green orange purple ↔ WANTED MISSING UNIDENTIFIED_BODY "
             "INFO_REQUEST WARNING THREAT MODUS_OPERANDI",
             refusal="`un` → GCC: no-counterpart"),
    FieldRow("notice.is_diffusion", ("notice.is_diffusion",), (),
             "INTERPOL only", loss="→ GCC: true is carried as an alert"),
    FieldRow("notice.requested_action", (), (f"{_H}/RequestedAction",),
             "GCC only; INTERPOL implies it from the notice type (arrest, locate, identify, "
             "inform)", loss="→ INTERPOL: differs from the implied one; → GCC: none given "
             "(the default is written)"),
    FieldRow("notice.references[INTERPOL]", ("notice.entity_id",),
             (f"{_H}/ExternalReference", f"{_H}/ExternalReference/@system"),
             "cross-reference; each side mints its own (`with_references`)",
             refusal="→ INTERPOL: none and none mintable: required-field-unavailable"),
    FieldRow("notice.references[GCCPOL]",
             ("notice.external_references[].system", "notice.external_references[].id"),
             (f"{_H}/AlertID",),
             "AlertID ↔ external reference system GCCPOL; minted "
             "GCC-<alpha-3>-<Hijri year>-<6 digits>",
             refusal="→ GCC: not an AlertID: required-field-unavailable"),
    FieldRow("notice.originating_country", ("notice.requesting_country_id",),
             (f"{_H}/OriginatingState",), "alpha-2 ↔ alpha-3",
             refusal="absent: required-field-unavailable; not ISO 3166-1: unknown-country"),
    FieldRow("notice.originating_agency", (),
             (f"{_H}/OriginatingAgency", f"{_H}/OriginatingAgency/@xml:lang"),
             "GCC only", loss="→ INTERPOL: always"),
    FieldRow("notice.issued", ("notice.date_of_publication",), (f"{_H}/IssueDate",),
             "partial date ↔ date pair", loss="→ GCC: month/year precision (a range in the "
             "other calendar); none given (the sending date is written)",
             refusal="→ GCC: outside 1924-08-01..2077-11-16: date-outside-hijri-range"),
    FieldRow("notice.dissemination.classification", (), (f"{_H}/Handling/Classification",),
             "GCC only; → INTERPOL as the TLP when none is given (UNCLASSIFIED → GREEN, "
             "RESTRICTED → AMBER)", loss="→ INTERPOL: beside a TLP",
             refusal="→ INTERPOL: CONFIDENTIAL or SECRET: dissemination-downgrade"),
    FieldRow("notice.dissemination.handling_codes", (), (f"{_H}/Handling/HandlingCode",),
             "GCC only; an INTERPOL notice is written with H0",
             loss="→ INTERPOL: H0; → GCC: none given (H0 written)",
             refusal="→ INTERPOL: H1, H2, H3: dissemination-downgrade"),
    FieldRow("notice.dissemination.handling_note", (), (f"{_H}/Handling/HandlingNote",),
             "GCC only, with H3", loss="→ INTERPOL: always; → GCC: without H3"),
    FieldRow("notice.dissemination.restricted_to",
             ("notice.caveats.restricted_to_country_ids[]",), (f"{_H}/Handling/ReleasableTo",),
             "alpha-2 list (empty = all) ↔ ALL or alpha-3 list"),
    FieldRow("notice.dissemination.excluded", ("notice.caveats.excluded_country_ids[]",), (),
             "INTERPOL only; → GCC as H3 with the note `Not releasable to: …`",
             loss="→ GCC: always (carried as a handling note)"),
    FieldRow("notice.dissemination.tlp", ("notice.caveats.tlp",), (),
             "INTERPOL only; → GCC as the classification (GREEN → UNCLASSIFIED, AMBER → "
             "RESTRICTED)", loss="→ GCC: CLEAR, AMBER+STRICT, RED, or none given"),
    FieldRow("notice.evaluation.source_reliability", (), (f"{_H}/Handling/SourceReliability",),
             "GCC only", loss="→ INTERPOL: always"),
    FieldRow("notice.evaluation.information_accuracy", (),
             (f"{_H}/Handling/InformationAccuracy",), "GCC only", loss="→ INTERPOL: always"),
    FieldRow("(cancel reason)", ("notice.cancel_reason",),
             (f"{_H}/WithdrawalReason", f"{_H}/WithdrawalReason/@xml:lang"),
             "not in the model: a cancel carries identification only",
             loss="INTERPOL decode: reported by `decode_with_losses`; GCC: dropped"),
    FieldRow("notice.un_reference", ("notice.un_reference",), (),
             "INTERPOL `un` notices only", loss="→ GCC: always; → INTERPOL: on another type"),
    FieldRow("notice.un_resolution", ("notice.un_resolution",), (),
             "INTERPOL `un` notices only", loss="→ GCC: always; → INTERPOL: on another type"),
    # subject
    FieldRow("subject.role", ("notice.person_status",), (f"{_S}/@role",),
             "lower case ↔ upper case, same nine values"),
    FieldRow("subject.names[Latn].family", ("notice.name",), (f"{_N}[@script=Latn]/FamilyName",),
             "copied"),
    FieldRow("subject.names[Latn].given", ("notice.forename",),
             (f"{_N}[@script=Latn]/FirstName", f"{_N}[@script=Latn]/FatherName",
              f"{_N}[@script=Latn]/GrandfatherName"),
             "→ INTERPOL: parts joined (exact); → GCC: split first word / second / rest",
             loss="→ GCC: split by guess (more than one word); → INTERPOL: parts that do not "
             "come back from the words"),
    FieldRow("subject.names[Arab].family", ("notice.name_in_original_script",),
             (f"{_N}[@script=Arab]/FamilyName",), "copied; script Arab when it has Arabic "
             "letters", loss="→ GCC: a name in another script",
             refusal="→ GCC: no Arabic name: required-field-unavailable"),
    FieldRow("subject.names[Arab].given", ("notice.forename_in_original_script",),
             (f"{_N}[@script=Arab]/FirstName", f"{_N}[@script=Arab]/FatherName",
              f"{_N}[@script=Arab]/GrandfatherName"), "as the Latin given name",
             loss="as the Latin given name"),
    FieldRow("subject.names[<script>].script", (), (f"{_N}/@script",), "Arab | Latn"),
    FieldRow("subject.names[<script>].lang", (), (f"{_N}/@xml:lang",), "GCC only",
             loss="→ INTERPOL: always"),
    FieldRow("subject.names[Latn].romanization", (), (f"{_N}/@romanization",),
             "GCC only; UNKNOWN ↔ none", loss="→ INTERPOL: stated"),
    FieldRow("subject.father_given", ("notice.father_forename",),
             (f"{_N}[@script=Latn]/FatherName",),
             "GCC: the Latin FatherName", loss="→ GCC: differs from the FatherName written"),
    FieldRow("subject.mother_names", ("notice.mother_forename", "notice.mother_name"),
             (f"{_S}/MotherName", f"{_S}/MotherName/@xml:lang"),
             "forename + name ↔ one string", loss="→ GCC: a given name (written as one "
             "string); → INTERPOL: not Latin, a second one, a language"),
    FieldRow("subject.aliases", ("notice.aliases[].name", "notice.aliases[].forename"),
             (f"{_S}/Alias", f"{_S}/Alias/@xml:lang"), "{name, forename} ↔ one string",
             loss="→ GCC: a forename (one string); → INTERPOL: one string, or not Latin"),
    FieldRow("subject.kunya", (), (f"{_S}/Kunya",), "GCC only", loss="→ INTERPOL: always"),
    FieldRow("subject.laqab", (), (f"{_S}/Laqab",), "GCC only", loss="→ INTERPOL: always"),
    FieldRow("subject.tribe", (), (f"{_S}/Tribe",), "GCC only", loss="→ INTERPOL: always"),
    FieldRow("subject.sex", ("notice.sex_id",), (f"{_S}/Sex",), "M F U ↔ 1 2 0",
             refusal="→ INTERPOL: 9: sex-not-applicable"),
    FieldRow("subject.birth_date", ("notice.date_of_birth",), (f"{_S}/BirthDate",),
             "partial date ↔ date pair with @precision", loss="→ GCC: month/year precision; "
             "→ INTERPOL: 1 Rajab (a possible placeholder day)",
             refusal="→ GCC: outside the Hijri table: date-outside-hijri-range"),
    FieldRow("subject.birth_place", ("notice.place_of_birth",),
             (f"{_S}/BirthPlace/Locality", f"{_S}/BirthPlace/Locality/@xml:lang"),
             "text; the language is GCC only", loss="→ INTERPOL: a language tag"),
    FieldRow("subject.birth_country", ("notice.country_of_birth_id",),
             (f"{_S}/BirthPlace/Country",), "alpha-2 ↔ alpha-3",
             refusal="not ISO 3166-1: unknown-country"),
    FieldRow("subject.nationalities", ("notice.nationalities[]",), (f"{_S}/Nationality",),
             "alpha-2 ↔ alpha-3, duplicates dropped", refusal="not ISO 3166-1: unknown-country"),
    FieldRow("subject.languages", ("notice.languages_spoken_ids[]",), (f"{_S}/Language",),
             "ISO 639-2/B upper case ↔ canonical 639-3 ↔ ISO 639-1",
             loss="→ GCC: no 639-1 code; → INTERPOL: not an ISO 639 code"),
    FieldRow("subject.height_m", ("notice.height",), (f"{_P}/HeightCm",),
             "metres ↔ centimetres (×100, half up); 0 ↔ absent",
             loss="→ GCC: rounded, or outside 1-300 cm"),
    FieldRow("subject.weight_kg", ("notice.weight",), (f"{_P}/WeightKg",),
             "kg ↔ whole kg; 0 ↔ absent", loss="→ GCC: rounded, or outside 1-700 kg"),
    FieldRow("subject.eye_colours", ("notice.eyes_colors_id[]",), (f"{_P}/EyeColour",),
             "code tables; GCC carries one", loss="→ GCC: a second colour, brownish; "
             "→ INTERPOL: no code (OTHD)"),
    FieldRow("subject.hair_colours", ("notice.hairs_id[]",), (f"{_P}/HairColour",),
             "code tables; GCC carries one", loss="→ GCC: a second colour; → INTERPOL: no "
             "code (OTHD)"),
    FieldRow("subject.distinguishing_marks", ("notice.distinguishing_marks",),
             (f"{_P}/DistinguishingMarks", f"{_P}/DistinguishingMarks/@xml:lang"),
             "text; the GCC language tag is accepted and not carried"),
    FieldRow("subject.identity_documents",
             ("notice.identity_documents[].type", "notice.identity_documents[].number",
              "notice.identity_documents[].issuing_country_id",
              "notice.identity_documents[].expiry_date"),
             (f"{_S}/IdentityDocument/Type", f"{_S}/IdentityDocument/Number",
              f"{_S}/IdentityDocument/IssuingState", f"{_S}/IdentityDocument/ExpiryDate"),
             "one for one; country alpha-2 ↔ alpha-3; expiry a date pair",
             loss="→ GCC: no type or number", refusal="expiry outside the Hijri table"),
    FieldRow("subject.image_links", ("notice.image_links[]",), (f"{_S}/ImageReference",),
             "http(s) URLs", loss="always: an image carried as a reference only"),
    # offences
    FieldRow("notice.offences[i].descriptions",
             ("notice.arrest_warrants[].charge", "notice.arrest_warrants[].charge_translation"),
             (f"{_O}/Description", f"{_O}/Description/@xml:lang"),
             "charge (language unknown = und) + English translation ↔ descriptions; an "
             "English-only charge fills both keys",
             loss="→ INTERPOL: a third text, a language, the order, the same text twice; "
             "→ GCC: an offence without a charge",
             refusal="red / WANTED with none: missing-judicial-data"),
    FieldRow("notice.offences[i].legal_basis", (), (f"{_O}/LegalBasis",), "GCC only",
             loss="→ INTERPOL: always"),
    FieldRow("notice.offences[i].max_penalty_years", (), (f"{_O}/MaxPenaltyYears",),
             "GCC only", loss="→ INTERPOL: always; → GCC: outside 0-999"),
    FieldRow("notice.offences[i].warrant.reference",
             ("notice.arrest_warrants[].warrant_reference",), (f"{_O}/Warrant/Reference",),
             "copied"),
    FieldRow("notice.offences[i].warrant.issuing_country",
             ("notice.arrest_warrants[].issuing_country_id",), (f"{_O}/Warrant/IssuingState",),
             "alpha-2 ↔ alpha-3", refusal="not ISO 3166-1: unknown-country"),
    FieldRow("notice.offences[i].warrant.issuing_authority",
             ("notice.arrest_warrants[].issuing_authority",), (f"{_O}/Warrant/IssuingAuthority",),
             "copied"),
    FieldRow("notice.offences[i].warrant.date", ("notice.arrest_warrants[].date_of_warrant",),
             (f"{_O}/Warrant/Date",), "partial date ↔ date pair",
             loss="→ GCC: month/year precision", refusal="outside the Hijri table"),
    # event
    FieldRow("notice.event.date", ("notice.date_of_event",), (f"{_E}/Date",),
             "partial date ↔ date pair", loss="→ INTERPOL: not yellow/black; → GCC: month/year",
             refusal="→ GCC: outside the Hijri table"),
    FieldRow("notice.event.place", ("notice.place",), (f"{_E}/Place", f"{_E}/Place/@xml:lang"),
             "text; the language is GCC only",
             loss="→ INTERPOL: not yellow/black, or a language tag"),
    FieldRow("notice.event.country", ("notice.country",), (f"{_E}/State",), "alpha-2 ↔ alpha-3",
             loss="→ INTERPOL: not yellow/black", refusal="not ISO 3166-1: unknown-country"),
    # every date pair
    FieldRow("(every GCC date)", (), DATE_PAIR,
             "Umm al-Qura Hijri + Gregorian that agree (schemas/hijri.py); @precision day | "
             "month | year"),
)  # fmt: skip

# ----------------------------------------------------------------------------- loss reasons

_I, _G = "interpol", "gccpol"
LOSS_REASONS: Final[tuple[LossReason, ...]] = (
    # written to the INTERPOL side
    LossReason("i-rajab", _I, "subject.birth_date", "the date is 1 Rajab"),
    LossReason("i-text-lang", _I, "subject.birth_place.lang",
               "the INTERPOL side carries no language tag here"),
    LossReason("i-image", _I, "subject.image_links[i]", "image carried as a reference only"),
    LossReason("i-h0", _I, "notice.dissemination.handling_codes[i]",
               "handling code H0 not expressible"),
    LossReason("i-note", _I, "notice.dissemination.handling_note", "handling note not carried"),
    LossReason("i-action", _I, "notice.requested_action", "INTERPOL states no requested action"),
    LossReason("i-agency", _I, "notice.originating_agency", "originating agency not carried"),
    LossReason("i-parts", _I, "subject.names[<script>].<part>",
               "the name parts travel joined as one forename"),
    LossReason("i-mother-script", _I, "subject.mother_names[i]",
               "mother's name not in Latin script"),
    LossReason("i-alias-script", _I, "subject.aliases[i]",
               "INTERPOL aliases are in Latin script only"),
    LossReason("i-alias-string", _I, "subject.aliases[i]",
               "alias given as one string: sent as the alias name"),
    LossReason("i-colour", _I, "subject.eye_colours[i]", "no INTERPOL code for"),
    LossReason("i-language", _I, "subject.languages[i]", "not an ISO 639 language code"),
    LossReason("i-kunya", _I, "subject.kunya", "the INTERPOL notice has no"),
    LossReason("i-legal-basis", _I, "notice.offences[i].legal_basis", "legal basis not carried"),
    LossReason("i-penalty", _I, "notice.offences[i].max_penalty_years",
               "maximum penalty not carried"),
    LossReason("i-offence", _I, "notice.offences[i]",
               "an offence without charge or warrant reference is dropped"),
    LossReason("i-classification", _I, "notice.dissemination.classification",
               "classification not carried: the TLP given was sent instead"),
    LossReason("i-full-name", _I, "subject.names[<script>].full",
               "name given as one string: sent as name"),
    LossReason("i-romanization", _I, "subject.names[Latn].romanization",
               "romanization not carried"),
    LossReason("i-name-lang", _I, "subject.names[<script>].lang", "name language not carried"),
    LossReason("i-second-name", _I, "subject.names[<script>]",
               "only one Latin and one original-script name are carried"),
    LossReason("i-second-mother", _I, "subject.mother_names[i]",
               "only one mother's name is carried"),
    LossReason("i-order", _I, "notice.offences[i].descriptions",
               "the English translation is written after the charge"),
    LossReason("i-event", _I, "notice.event.<key>",
               "INTERPOL carries an event on yellow and black only"),
    LossReason("i-evaluation", _I, "notice.evaluation.<key>", "evaluation codes not carried"),
    LossReason("i-un", _I, "notice.un_reference", "only un notices carry it"),
    LossReason("i-third-text", _I, "notice.offences[i].descriptions[j]",
               "only one charge text is carried"),
    LossReason("i-same-text", _I, "notice.offences[i].descriptions[j]",
               "the charge is the same text as its English translation"),
    LossReason("i-charge-lang", _I, "notice.offences[i].descriptions[j].lang",
               "charge language not carried"),
    LossReason("i-cancel-reason", "interpol decode", "notice.cancel_reason",
               "cancel reason not carried"),
    # written to the GCC side
    LossReason("g-bcp47", _G, "<path>.lang", "not a BCP 47 language tag; xml:lang left out"),
    LossReason("g-xml-chars", _G, "<text field>", "characters XML 1.0 cannot carry were removed"),
    LossReason("g-collapsed", _G, "<text field>",
               "line breaks and repeated spaces were collapsed to one space"),
    LossReason("g-blank", _G, "<text field>", "only blank text remained; the element is left out"),
    LossReason("g-calendar", _G, "<date field>", "-precision date is"),
    LossReason("g-split", _G, "subject.names[<script>].given", "name split by guess"),
    LossReason("g-one-word", _G, "subject.names[<script>].given",
               "one word: the white space around it is not kept"),
    LossReason("g-father-differs", _G, "subject.father_given",
               "the father's forename is carried only as the Latin FatherName, which differs"),
    LossReason("g-father-added", _G, "subject.father_given", "no father's forename was given"),
    LossReason("g-rounded", _G, "subject.height_m", "rounded to whole"),
    LossReason("g-out-of-range", _G, "subject.weight_kg", "is outside 1-"),
    LossReason("g-colour", _G, "subject.eye_colours[0]", "no GCC code for"),
    LossReason("g-second-colour", _G, "subject.hair_colours[i]", "the GCC side carries one"),
    LossReason("g-h0", _G, "notice.dissemination.handling_codes",
               "no handling code was given; H0"),
    LossReason("g-excluded", _G, "notice.dissemination.excluded",
               "exclusion carried as handling note (H3)"),
    LossReason("g-note", _G, "notice.dissemination.handling_note",
               "a handling note needs H3; not carried"),
    LossReason("g-h3-note", _G, "notice.dissemination.handling_codes",
               "H3 had no note; a note is written"),
    LossReason("g-reliability", _G, "notice.evaluation.source_reliability", "not A, B, C or X"),
    LossReason("g-accuracy", _G, "notice.evaluation.information_accuracy", "not 1, 2, 3 or 4"),
    LossReason("g-action", _G, "notice.requested_action", "no requested action was given"),
    LossReason("g-issued", _G, "notice.issued",
               "no issue date was given; the sending date was written"),
    LossReason("g-diffusion", _G, "notice.is_diffusion", "the GCC side has no diffusions"),
    LossReason("g-un-reference", _G, "notice.un_reference", "the GCC side has no UN reference"),
    LossReason("g-un-resolution", _G, "notice.un_resolution",
               "the GCC side has no UN resolution"),
    LossReason("g-romanization", _G, "subject.names[Latn].romanization",
               "not a GCC romanization; UNKNOWN"),
    LossReason("g-one-string", _G, "subject.mother_names[i]",
               "written as one string (given name, then family name)"),
    LossReason("g-other-script", _G, "subject.names[<script>]",
               "the GCC side carries Arabic and Latin names only"),
    LossReason("g-language", _G, "subject.languages[i]", "the language has no ISO 639-1 code"),
    LossReason("g-document", _G, "subject.identity_documents[i]",
               "a document needs a type and a number"),
    LossReason("g-image", _G, "subject.image_links[i]", "image carried as a reference only"),
    LossReason("g-not-url", _G, "subject.image_links[i]", "not an http(s) URL; left out"),
    LossReason("g-offence", _G, "notice.offences[i]", "an offence without a description"),
    LossReason("g-penalty", _G, "notice.offences[i].max_penalty_years",
               "outside 0-999 years; left out"),
    LossReason("g-no-tlp", _G, "notice.dissemination.tlp", "no TLP was given"),
    LossReason("g-tlp-beside", _G, "notice.dissemination.tlp", "the classification"),
    LossReason("g-tlp-inexact", _G, "notice.dissemination.tlp", "written as classification"),
)  # fmt: skip

REFUSALS: Final[tuple[Refusal, ...]] = (
    Refusal("i-un-country", _I, "unknown-country", "notice.originating_country",
            "a country that is not an assigned ISO 3166-1 alpha-2 code"),
    Refusal("i-sex", _I, "sex-not-applicable", "subject.sex", "ISO/IEC 5218 9 (not applicable)"),
    Refusal("i-handling", _I, "dissemination-downgrade",
            "notice.dissemination.handling_codes[i]", "H1, H2 or H3"),
    Refusal("i-classified", _I, "dissemination-downgrade", "notice.dissemination.classification",
            "CONFIDENTIAL or SECRET"),
    Refusal("i-no-reference", _I, "required-field-unavailable", "notice.references[INTERPOL]",
            "no INTERPOL entity_id"),
    Refusal("i-no-country", _I, "required-field-unavailable", "notice.originating_country",
            "no originating country"),
    Refusal("i-red", _I, "missing-judicial-data", "notice.offences",
            "a red notice without charge or warrant reference"),
    Refusal("i-invalid", _I, "invalid-value", "<wire path>",
            "a value the INTERPOL wire model rejects (e.g. a height over 3 m)"),
    Refusal("g-un", _G, "no-counterpart", "notice.category", "a UN special notice"),
    Refusal("g-country", _G, "unknown-country", "<country field>",
            "a country that is not an assigned ISO 3166-1 alpha-2 code"),
    Refusal("g-hijri", _G, "date-outside-hijri-range", "<date field>",
            "a date outside 1924-08-01 .. 2077-11-16"),
    Refusal("g-arabic", _G, "required-field-unavailable", "subject.names[Arab]",
            "no name in Arabic script"),
    Refusal("g-no-parts", _G, "required-field-unavailable", "subject.names[<script>]",
            "a name with no name parts"),
    Refusal("g-subject", _G, "required-field-unavailable", "notice.subject", "no subject"),
    Refusal("g-alert-id", _G, "required-field-unavailable", "notice.references[GCCPOL]",
            "no GCCPOL reference, or one that is not an AlertID"),
    Refusal("g-no-country", _G, "required-field-unavailable", "notice.originating_country",
            "no originating country (OriginatingState, AlertID)"),
    Refusal("g-wanted", _G, "missing-judicial-data", "notice.offences",
            "a WANTED alert with no offence that has a description"),
    Refusal("g-not-expressible", _G, "value-not-expressible", "<wire path>",
            "a value the GCC wire model rejects (e.g. a message id that is not a UUID)"),
)  # fmt: skip

# ----------------------------------------------------------------------------------- render


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def _paths(paths: tuple[str, ...]) -> str:
    return "<br>".join(f"`{p}`" for p in paths) if paths else "—"


def render() -> str:
    out = [
        "# Translation: every field, both sides",
        "",
        "Generated by `.venv/bin/python -m adapters.field_map > docs/translation.md` from the",
        "tables in `adapters/field_map.py`; `tests/unit/test_field_map.py` fails when this page",
        "differs from them, when a wire field of either model is missing, or when an adapter",
        "reports a loss reason or a refusal code not listed below. The contract is",
        "spec/schemas.md; docs/interpol.md and docs/gccpol.md give each side's decisions.",
        "",
        "A translation goes wire → canonical → wire (`adapters/translate.py`). A **loss** is",
        "reported (`{field, source_value, reason}`, `field` the canonical path) when the target",
        "cannot carry the value exactly; a **refusal** (`TranslationRefused`, a stable code) when",
        "it may not carry the notice at all. INTERPOL → GCCPOL → INTERPOL and the reverse give",
        "back the original except the fields the two loss reports name",
        "(`tests/unit/test_round_trips.py`).",
        "",
        "## Fields",
        "",
        "| canonical | INTERPOL JSON | GCCPOL XML | how | loss when | refused when |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in ROWS:
        cells = (
            f"`{row.canonical}`",
            _paths(row.interpol),
            _paths(row.gccpol),
            _cell(row.how),
            _cell(row.loss) or "—",
            _cell(row.refusal) or "—",
        )
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "`*` in a GCCPOL path is any date element (IssueDate, BirthDate, ExpiryDate, Warrant/Date,",
        "Event/Date). `→ GCC` means when written to the GCCPOL side, `→ INTERPOL` to the",
        "INTERPOL side.",
        "",
        "## Loss reasons",
        "",
        f"Each is shown by `{LOSS_TEST}[<id>]`.",
        "",
        "| id | written to | field | reason (fixed text) |",
        "| --- | --- | --- | --- |",
    ]
    for loss in LOSS_REASONS:
        out.append(f"| `{loss.id}` | {loss.target} | `{loss.field}` | {_cell(loss.reason)} |")
    out += [
        "",
        "## Refusals",
        "",
        f"Each is shown by `{REFUSAL_TEST}[<id>]`.",
        "",
        "| id | written to | code | field | when |",
        "| --- | --- | --- | --- | --- |",
    ]
    for refusal in REFUSALS:
        out.append(
            f"| `{refusal.id}` | {refusal.target} | `{refusal.code}` | `{refusal.field}` | "
            f"{_cell(refusal.when)} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
