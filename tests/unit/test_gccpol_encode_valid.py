"""The GCC encoder only writes documents the gateway would accept (docs/performance.md).

`encode_alert` no longer reads its own output back nor runs the XSD on it per message; these
properties are what replaces that check: over generated notices from both sides, every body
it writes passes the full input path (hardened parser, wire models with the message-kind
rules, the published XSD), and every Hijri/Gregorian pair it writes without validation
passes the `DualDate` validators it skips.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters._errors import TranslationRefused
from adapters.gccpol import ADAPTER as GCCPOL
from adapters.gccpol import _dual, _LossReport, decode_alert, encode_alert
from adapters.interpol import ADAPTER as INTERPOL
from adapters.xml_parser import parse_untrusted_xml
from schemas import gccpol as wire
from schemas.canonical import CanonicalMessage, PartialDate, Reference
from tests.strategies_gccpol import gccpol_messages, partial_dates, with_gccpol_reference
from tests.strategies_interpol import interpol_messages, wire_bytes

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _accepted_as_input(body: bytes) -> None:
    root = parse_untrusted_xml(body).getroot()
    model, problems = wire.read_message(root)
    assert problems == [] and model is not None
    assert list(wire.xsd_problems(root)) == []
    decode_alert(body)  # the whole decoder as well: what a GCC system's alert goes through


@_SETTINGS
@given(interpol_messages())
def test_every_alert_written_from_an_interpol_notice_is_valid_input(
    message: dict[str, object],
) -> None:
    canonical = with_gccpol_reference(INTERPOL.decode(wire_bytes(message)))
    try:
        encoded = encode_alert(canonical)
    except TranslationRefused:
        return  # a refusal is an allowed answer; writing an invalid document is not
    _accepted_as_input(encoded.body)


@_SETTINGS
@given(gccpol_messages())
def test_every_alert_written_from_a_gcc_alert_is_valid_input(body: bytes) -> None:
    encoded = encode_alert(decode_alert(body))
    _accepted_as_input(encoded.body)


@settings(max_examples=1000, deadline=None)
@given(partial_dates(), st.booleans())
def test_unvalidated_dual_dates_pass_the_validators_they_skip(
    date: object, state_precision: bool
) -> None:
    written = _dual(date, "d", _LossReport(), precision=state_precision)  # type: ignore[arg-type]
    assert written is not None
    again = wire.DualDate.model_validate(written.model_dump(by_alias=True))
    assert again == written


def test_the_hijri_range_ends_are_written_validly() -> None:
    for day in (dt.date(1924, 8, 1), dt.date(2077, 11, 16)):
        pd = PartialDate(year=day.year, month=day.month, day=day.day)
        written = _dual(pd, "d", _LossReport(), precision=True)
        assert written is not None
        wire.DualDate.model_validate(written.model_dump(by_alias=True))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gccpol_messages(), st.lists(st.uuids(), min_size=1, max_size=3, unique=True))
def test_encode_each_is_encode_under_each_id(body: bytes, ids: list[object]) -> None:
    """Recipients sharing a schema: one translation, each copy exactly what `encode` writes
    for that message id (ingress.translate_for relies on it)."""
    message = decode_alert(body)
    wanted = [str(i) for i in ids]
    for adapter in (GCCPOL, INTERPOL):
        canonical = _with_interpol_reference(message)
        try:
            alone = [adapter.encode(canonical.model_copy(update={"message_id": m})) for m in wanted]
        except TranslationRefused as exc:
            try:
                adapter.encode_each(canonical, wanted)
            except TranslationRefused as again:
                assert (again.code, again.field) == (exc.code, exc.field)
                continue
            raise AssertionError("encode refused, encode_each did not") from None
        assert list(adapter.encode_each(canonical, wanted)) == alone


def _with_interpol_reference(message: CanonicalMessage) -> CanonicalMessage:
    notice = message.notice
    if notice.reference("INTERPOL") is None:
        refs = (
            *notice.references,
            Reference(system="INTERPOL", id=INTERPOL.mint_reference(notice)),
        )
        notice = notice.model_copy(update={"references": refs})
    return message.model_copy(update={"notice": notice})
