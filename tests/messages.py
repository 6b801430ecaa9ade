"""Wire messages for tests, built from the shared samples with fresh ids."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
INTERPOL = "application/vnd.interpol.notice+json"
GCCPOL = "application/vnd.gccpol.alert+xml"


def interpol_red(
    *,
    message_id: str | None = None,
    sender: str = "ipsg",
    kind: str = "notice.publish",
    entity_id: str = "2026/48213",
    nationalities: list[str] | None = None,
    caveats: dict[str, Any] | None = None,
    **notice_overrides: Any,
) -> bytes:
    doc: dict[str, Any] = json.loads((DATA / "interpol-red-publish.json").read_text("utf-8"))
    doc = copy.deepcopy(doc)
    doc["message_id"] = message_id or str(uuid.uuid4())
    doc["sender_id"] = sender
    doc["message_type"] = kind
    doc["notice"]["entity_id"] = entity_id
    if nationalities is not None:
        doc["notice"]["nationalities"] = nationalities
    if caveats is not None:
        doc["notice"]["caveats"] = caveats
    doc["notice"].update(notice_overrides)
    if kind == "notice.cancel":
        keep = {"notice_type", "entity_id", "requesting_country_id"}
        doc["notice"] = {k: v for k, v in doc["notice"].items() if k in keep}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def gcc_missing(
    *,
    message_id: str | None = None,
    sender: str = "ae-moi",
    kind: str = "NEW",
    alert_id: str = "GCC-ARE-1448-000123",
    handling_code: str = "H0",
    classification: str = "RESTRICTED",
) -> bytes:
    text = (DATA / "gccpol-missing-new.xml").read_text("utf-8")
    text = re.sub(r"<gcc:MessageID>[^<]*<", f"<gcc:MessageID>{message_id or uuid.uuid4()}<", text)
    text = text.replace("<gcc:Sender>ae-moi<", f"<gcc:Sender>{sender}<")
    text = text.replace("<gcc:MessageType>NEW<", f"<gcc:MessageType>{kind}<")
    text = text.replace("GCC-ARE-1448-000123", alert_id)
    text = text.replace("<gcc:HandlingCode>H0<", f"<gcc:HandlingCode>{handling_code}<")
    text = text.replace("<gcc:Classification>RESTRICTED<", f"<gcc:Classification>{classification}<")
    return text.encode("utf-8")
