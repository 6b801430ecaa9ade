"""The messages the demo sends: the shared samples (an INTERPOL red notice, a GCCPOL
missing-person alert) with fresh ids, and the variants each step of the script needs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson

from adapters.provenance import GCC_MEDIA_TYPE, INTERPOL_MEDIA_TYPE

__all__ = ["GCC_MEDIA_TYPE", "INTERPOL_MEDIA_TYPE", "gcc_missing_alert", "red_notice"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def red_notice(
    *,
    entity_id: str,
    nationality: str = "SA",
    kind: str = "notice.publish",
    message_id: str | None = None,
) -> bytes:
    """The red notice of samples/interpol-red-publish.json (schemas.md), from ipsg."""
    notice: dict[str, Any] = {
        "notice_type": "red",
        "entity_id": entity_id,
        "requesting_country_id": "FR",
    }
    if kind != "notice.cancel":  # a cancel names the notice only (tests/messages.py too)
        notice |= {
            "is_diffusion": False,
            "date_of_publication": "2026/11/20",
            "person_status": "accused",
            "name": "AL QAHTANI",
            "forename": "MOHAMMED ABDULLAH SAAD",
            "name_in_original_script": "القحطاني",
            "forename_in_original_script": "محمد عبدالله سعد",
            "father_forename": "ABDULLAH",
            "mother_forename": "NOURA",
            "mother_name": "AL DOSARI",
            "aliases": [{"name": "AL-KAHTANI", "forename": "MOHAMED"}],
            "sex_id": "M",
            "date_of_birth": "1980/05/13",
            "place_of_birth": "RIYADH",
            "country_of_birth_id": "SA",
            "nationalities": [nationality],
            "languages_spoken_ids": ["ARA", "ENG"],
            "height": 1.78,
            "weight": 80,
            "eyes_colors_id": ["BRO"],
            "hairs_id": ["BLA"],
            "distinguishing_marks": "Scar on left cheek",
            "identity_documents": [
                {
                    "type": "PASSPORT",
                    "number": "A1234567",
                    "issuing_country_id": "SA",
                    "expiry_date": "2029/01/31",
                }
            ],
            "arrest_warrants": [
                {
                    "issuing_country_id": "FR",
                    "charge": "Vol à main armée",
                    "charge_translation": "Armed robbery",
                    "warrant_reference": "PAR/2026/7781",
                    "issuing_authority": "Tribunal judiciaire de Paris",
                    "date_of_warrant": "2026/09/01",
                }
            ],
            "date_of_event": None,
            "place": None,
            "country": None,
            "un_reference": None,
            "un_resolution": None,
            "caveats": {
                "restricted_to_country_ids": [],
                "excluded_country_ids": [],
                "tlp": "TLP:AMBER",
            },
        }
    return orjson.dumps(
        {
            "message_id": message_id or str(uuid.uuid4()),
            "message_type": kind,
            "sent_at": _now(),
            "sender_id": "ipsg",
            "notice": notice,
        }
    )


_GCC_ALERT = """<?xml version="1.0" encoding="UTF-8"?>
<gcc:Message xmlns:gcc="urn:gccpol:alert:1" schemaVersion="1.0">
  <gcc:MessageID>{message_id}</gcc:MessageID>
  <gcc:MessageType>NEW</gcc:MessageType>
  <gcc:SentAt>{sent_at}</gcc:SentAt>
  <gcc:Sender>ae-moi</gcc:Sender>
  <gcc:Alert>
    <gcc:Header>
      <gcc:AlertID>{alert_id}</gcc:AlertID>
      <gcc:AlertCategory>MISSING</gcc:AlertCategory>
      <gcc:RequestedAction>LOCATE</gcc:RequestedAction>
      <gcc:OriginatingState>ARE</gcc:OriginatingState>
      <gcc:OriginatingAgency xml:lang="ar">وزارة الداخلية</gcc:OriginatingAgency>
      <gcc:IssueDate><gcc:Hijri>1448-06-10</gcc:Hijri><gcc:Gregorian>2026-11-20</gcc:Gregorian>\
</gcc:IssueDate>
      <gcc:Handling>
        <gcc:Classification>RESTRICTED</gcc:Classification>
        <gcc:HandlingCode>{handling_code}</gcc:HandlingCode>
        <gcc:ReleasableTo>ALL</gcc:ReleasableTo>
        <gcc:SourceReliability>B</gcc:SourceReliability>
        <gcc:InformationAccuracy>2</gcc:InformationAccuracy>
      </gcc:Handling>
    </gcc:Header>
    <gcc:Subject role="MISSING">
      <gcc:Name script="Arab" xml:lang="ar">
        <gcc:FirstName>مريم</gcc:FirstName><gcc:FatherName>خالد</gcc:FatherName>
        <gcc:GrandfatherName>سالم</gcc:GrandfatherName><gcc:FamilyName>المزروعي</gcc:FamilyName>
      </gcc:Name>
      <gcc:Name script="Latn" xml:lang="en" romanization="ICAO9303">
        <gcc:FirstName>MARYAM</gcc:FirstName><gcc:FatherName>KHALED</gcc:FatherName>
        <gcc:GrandfatherName>SALEM</gcc:GrandfatherName><gcc:FamilyName>AL MAZROUEI</gcc:FamilyName>
      </gcc:Name>
      <gcc:MotherName xml:lang="ar">فاطمة الكعبي</gcc:MotherName>
      <gcc:Sex>2</gcc:Sex>
      <gcc:BirthDate precision="day"><gcc:Hijri>1411-08-18</gcc:Hijri>\
<gcc:Gregorian>1991-03-04</gcc:Gregorian></gcc:BirthDate>
      <gcc:BirthPlace><gcc:Locality xml:lang="ar">العين</gcc:Locality>\
<gcc:Country>ARE</gcc:Country></gcc:BirthPlace>
      <gcc:Nationality>ARE</gcc:Nationality>
      <gcc:Language>ar</gcc:Language>
      <gcc:PhysicalDescription>
        <gcc:HeightCm>162</gcc:HeightCm><gcc:WeightKg>55</gcc:WeightKg>
        <gcc:EyeColour>02</gcc:EyeColour><gcc:HairColour>01</gcc:HairColour>
      </gcc:PhysicalDescription>
    </gcc:Subject>
    <gcc:Event>
      <gcc:Date><gcc:Hijri>1448-06-08</gcc:Hijri><gcc:Gregorian>2026-11-18</gcc:Gregorian></gcc:Date>
      <gcc:Place xml:lang="en">Dubai International Airport</gcc:Place><gcc:State>ARE</gcc:State>
    </gcc:Event>
  </gcc:Alert>
</gcc:Message>
"""


def gcc_missing_alert(
    *, alert_id: str, handling_code: str = "H0", message_id: str | None = None
) -> bytes:
    """The missing-person alert of samples/gccpol-missing-new.xml (schemas.md), from ae-moi."""
    return _GCC_ALERT.format(
        message_id=message_id or uuid.uuid4(),
        sent_at=_now(),
        alert_id=alert_id,
        handling_code=handling_code,
    ).encode("utf-8")
