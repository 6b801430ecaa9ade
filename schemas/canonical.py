"""The canonical notice model: the hub every wire schema translates through.

Every adapter decodes its wire bytes into a `CanonicalMessage` and encodes a
`CanonicalMessage` back into wire bytes plus a tuple of `Loss` entries. The model is the
union of what both sides can say, in neutral vocabulary:

- countries are ISO 3166-1 alpha-2 (upper case),
- languages are ISO 639-3 / 639-2/T alpha-3 codes (lower case, pycountry's ``alpha_3``),
- dates are Gregorian `PartialDate`s (the Hijri form is derived when needed),
- heights are metres and weights kilograms, as `Decimal` so 1.78 m stays 1.78 m,
- names keep both the whole given-name string and, when the source states it, the
  four-part split (first, father, grandfather, family).

The model knows nothing of adapters, HTTP or storage.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MessageKind(StrEnum):
    PUBLISH = "publish"
    UPDATE = "update"  # a full replacement of an earlier notice's content
    CANCEL = "cancel"  # withdrawn: recipients must delete it


class NoticeCategory(StrEnum):
    """What the notice asks for; INTERPOL colour / GCC alert category in neutral words."""

    WANTED = "wanted"  # red / WANTED
    MISSING = "missing"  # yellow / MISSING
    UNIDENTIFIED_BODY = "unidentified_body"  # black / UNIDENTIFIED_BODY
    INFO_REQUEST = "info_request"  # blue / INFO_REQUEST
    WARNING = "warning"  # green / WARNING
    THREAT = "threat"  # orange / THREAT
    MODUS_OPERANDI = "modus_operandi"  # purple / MODUS_OPERANDI
    UN_SPECIAL = "un_special"  # un: no GCC counterpart


class RequestedAction(StrEnum):
    ARREST = "arrest"
    LOCATE = "locate"
    IDENTIFY = "identify"
    INFORM = "inform"
    MONITOR = "monitor"


class SubjectRole(StrEnum):
    """The person's standing in the notice (INTERPOL person_status / GCC Subject/@role)."""

    ACCUSED = "accused"
    CONVICTED = "convicted"
    SUSPECT = "suspect"
    MISSING = "missing"
    ABDUCTED = "abducted"
    UNIDENTIFIED = "unidentified"
    WITNESS = "witness"
    VICTIM = "victim"
    PERSON_OF_INTEREST = "person_of_interest"


class Sex(StrEnum):
    UNKNOWN = "unknown"  # M/F/U: U, ISO/IEC 5218: 0
    MALE = "male"
    FEMALE = "female"
    NOT_APPLICABLE = "not_applicable"  # ISO/IEC 5218: 9, no INTERPOL counterpart


class Colour(StrEnum):
    """Eye and hair colours; the union of both sides' code lists."""

    BLACK = "black"
    BROWN = "brown"
    BROWNISH = "brownish"  # INTERPOL BROH (eyes); GCC has only brown
    BLUE = "blue"
    GREEN = "green"
    GREY = "grey"
    HAZEL = "hazel"
    BLOND = "blond"
    RED = "red"
    WHITE = "white"
    BALD = "bald"
    OTHER = "other"


class Tlp(StrEnum):
    CLEAR = "TLP:CLEAR"
    GREEN = "TLP:GREEN"
    AMBER = "TLP:AMBER"
    AMBER_STRICT = "TLP:AMBER+STRICT"
    RED = "TLP:RED"


class Classification(StrEnum):
    UNCLASSIFIED = "UNCLASSIFIED"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"  # noqa: S105 (a classification, not a password)


class HandlingCode(StrEnum):
    H0 = "H0"  # use only to prevent and combat crime
    H1 = "H1"  # not in court without permission
    H2 = "H2"  # no dissemination without permission
    H3 = "H3"  # other restriction (see handling_note)


class PartialDate(_Frozen):
    """A Gregorian date that may lack its day, or its day and month."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def precision(self) -> str:
        """``day``, ``month`` or ``year``."""
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"


class LocalizedText(_Frozen):
    text: str
    lang: str | None = None  # ISO 639-1 or BCP 47 tag as the source gave it; None = not stated


class PersonName(_Frozen):
    """One rendering of a person's name in one script.

    ``given`` is the whole given-name string as written (INTERPOL ``forename``).
    ``first``/``father``/``grandfather`` are the four-part split when the source states
    it (GCC); a Latin-only source leaves them None and the GCC encoder must guess.
    ``full`` is used when the source gives the name only as one unsplit string.
    """

    script: str  # ISO 15924: "Latn", "Arab", ... ; "Zyyy" when unknown
    family: str | None = None
    given: str | None = None
    first: str | None = None
    father: str | None = None
    grandfather: str | None = None
    full: str | None = None
    lang: str | None = None
    romanization: str | None = None  # ICAO9303 | UNGEGN | ALA-LC | NATIONAL | UNKNOWN (Latin only)


class IdentityDocument(_Frozen):
    type: str
    number: str
    issuing_country: str | None = None  # alpha-2
    expiry_date: PartialDate | None = None


class Subject(_Frozen):
    role: SubjectRole | None = None
    names: tuple[PersonName, ...] = ()  # at most one per script; Latin first when present
    aliases: tuple[PersonName, ...] = ()
    father_given: str | None = None  # INTERPOL father_forename (Latin)
    mother_names: tuple[PersonName, ...] = ()
    kunya: str | None = None
    laqab: str | None = None
    tribe: str | None = None
    sex: Sex | None = None
    birth_date: PartialDate | None = None
    birth_place: LocalizedText | None = None
    birth_country: str | None = None  # alpha-2
    nationalities: tuple[str, ...] = ()  # alpha-2
    languages: tuple[str, ...] = ()  # ISO 639 alpha-3 (T form)
    height_m: Decimal | None = None
    weight_kg: Decimal | None = None
    eye_colours: tuple[Colour, ...] = ()
    hair_colours: tuple[Colour, ...] = ()
    distinguishing_marks: str | None = None
    identity_documents: tuple[IdentityDocument, ...] = ()
    image_links: tuple[str, ...] = ()


class Warrant(_Frozen):
    reference: str | None = None
    issuing_country: str | None = None  # alpha-2
    issuing_authority: str | None = None
    date: PartialDate | None = None


class Offence(_Frozen):
    descriptions: tuple[LocalizedText, ...] = ()  # the charge, each in its own language
    legal_basis: str | None = None
    max_penalty_years: int | None = None
    warrant: Warrant | None = None


class Event(_Frozen):
    date: PartialDate | None = None
    place: LocalizedText | None = None
    country: str | None = None  # alpha-2


class Dissemination(_Frozen):
    """The sender's caveats: they beat every routing rule."""

    restricted_to: tuple[str, ...] = ()  # alpha-2; empty means all
    excluded: tuple[str, ...] = ()  # alpha-2
    tlp: Tlp | None = None
    classification: Classification | None = None
    handling_codes: tuple[HandlingCode, ...] = ()
    handling_note: str | None = None


class Evaluation(_Frozen):
    source_reliability: str | None = None  # A B C X
    information_accuracy: str | None = None  # 1-4


class Reference(_Frozen):
    """An identifier one system gave the notice (``INTERPOL`` entity_id, ``GCCPOL`` AlertID)."""

    system: str
    id: str


class Notice(_Frozen):
    category: NoticeCategory
    is_diffusion: bool = False
    requested_action: RequestedAction | None = None
    references: tuple[Reference, ...] = ()
    originating_country: str | None = None  # alpha-2
    originating_agency: LocalizedText | None = None
    issued: PartialDate | None = None
    subject: Subject | None = None
    offences: tuple[Offence, ...] = ()
    event: Event | None = None
    un_reference: str | None = None
    un_resolution: str | None = None
    dissemination: Dissemination = Dissemination()
    evaluation: Evaluation | None = None

    def reference(self, system: str) -> str | None:
        """The identifier ``system`` gave this notice, if known."""
        for ref in self.references:
            if ref.system == system:
                return ref.id
        return None


class Loss(_Frozen):
    """One thing a translation could not carry exactly (schemas.md, loss report)."""

    field: str  # path in the source message, e.g. "notice.eyes_colors_id[1]"
    source_value: str
    reason: str


class Provenance(_Frozen):
    """What travels with a delivered message so the chain origin → gateway can be checked."""

    origin: str  # the origin participant id
    origin_message_id: str
    body_sha256: str  # hex SHA-256 of the origin's signed body
    keyid: str
    signature: str  # the origin's Signature header value, as received
    audit_index: int  # index of the "received" event in the audit log
    losses: tuple[Loss, ...] = ()


class CanonicalMessage(_Frozen):
    message_id: str
    kind: MessageKind
    sent_at: dt.datetime  # timezone-aware, UTC
    sender: str  # participant id named in the envelope
    source_schema: str  # "interpol" | "gccpol"
    notice: Notice
    provenance: Provenance | None = None
