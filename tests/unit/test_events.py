"""The call event model: normalisation, validation, derived ids, JSON and its schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.errors import BadPayload
from shared.events import (
    CallEvent,
    CallStatus,
    call_event_json_schema,
    derive_event_id,
    derive_qualification_id,
    event_from_json,
    event_to_json,
    parse_event,
)
from tools.export_schema import SCHEMA_PATH


def call(**overrides: Any) -> dict[str, Any]:
    """A minimal valid call as a vendor sends it, with overrides."""
    return {
        "source": "generic",
        "call_id": "CA-1001",
        "status": "answered",
        "started_at": "2024-05-01T12:00:00Z",
        **overrides,
    }


def test_caller_in_national_format_is_normalised_to_e164_with_the_default_region() -> None:
    event = parse_event(call(caller="020 7946 0123"), "GB")
    assert event.caller == "+442079460123"


def test_tracking_number_in_national_format_is_normalised_to_e164() -> None:
    event = parse_event(call(tracking_number="(201) 555-0188"), "US")
    assert event.tracking_number == "+12015550188"


def test_the_same_national_number_depends_on_the_default_region() -> None:
    assert parse_event(call(caller="2015550123"), "US").caller == "+12015550123"
    assert parse_event(call(caller="2015550123"), "GB").caller == "+442015550123"


def test_international_caller_keeps_its_country_whatever_the_default_region() -> None:
    event = parse_event(call(caller="+44 20 7946 0123"), "US")
    assert event.caller == "+442079460123"


def test_unparseable_caller_is_a_bad_payload_naming_the_field() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(caller="call me 555"), "US")
    assert raised.value.field == "caller"


def test_unparseable_caller_is_not_echoed_in_the_error() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(caller="12345 secret-ish 678"), "US")
    assert "12345" not in str(raised.value)
    assert "secret-ish" not in raised.value.detail


def test_ga_cookie_value_becomes_the_client_id() -> None:
    event = parse_event(call(client_id="GA1.2.1760224793.1424413995"), "US")
    assert event.client_id == "1760224793.1424413995"


def test_plain_client_id_is_kept_as_sent() -> None:
    event = parse_event(call(client_id="1760224793.1424413995"), "US")
    assert event.client_id == "1760224793.1424413995"


def test_event_id_is_derived_from_source_call_id_and_status() -> None:
    event = parse_event(call(), "US")
    assert event.event_id == derive_event_id("generic", "CA-1001")
    assert event.event_id.startswith("ev_")


def test_derived_event_id_is_the_same_for_a_retried_webhook() -> None:
    first = parse_event(call(duration_s=10), "US")
    retry = parse_event(call(duration_s=10), "US")
    assert first.event_id == retry.event_id


def test_two_reports_of_one_call_share_the_derived_event_id_whatever_their_status() -> None:
    # One real call is one event: a second report (another leg, stage or notification) of the
    # same call is a duplicate to the delivery ledger, not a second call.
    answered = parse_event(call(status="answered"), "US")
    missed = parse_event(call(status="missed"), "US")
    assert answered.event_id == missed.event_id


def test_derived_event_ids_differ_per_call_and_per_source() -> None:
    first = parse_event(call(call_id="CA-1"), "US")
    second = parse_event(call(call_id="CA-2"), "US")
    other_source = parse_event(call(call_id="CA-1", source="callrail"), "US")
    assert len({first.event_id, second.event_id, other_source.event_id}) == 3


def test_lead_signals_are_read_and_checked() -> None:
    event = parse_event(
        call(first_call=True, spam=False, lead_status="good_lead", value=49.5, currency="USD"),
        "US",
    )
    assert (event.first_call, event.spam, event.lead_status, event.value, event.currency) == (
        True,
        False,
        "good_lead",
        49.5,
        "USD",
    )
    for field, bad in (("currency", "usd"), ("currency", "US"), ("value", -1)):
        with pytest.raises(BadPayload) as caught:
            parse_event(call(**{field: bad}), "US")
        assert caught.value.field == field


def test_given_event_id_is_kept() -> None:
    event = parse_event(call(event_id="vendor-evt_42"), "US")
    assert event.event_id == "vendor-evt_42"


def test_naive_started_at_is_rejected() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(started_at="2024-05-01T12:00:00"), "US")
    assert raised.value.field == "started_at"


def test_started_at_with_an_offset_is_stored_in_utc() -> None:
    event = parse_event(call(started_at="2024-05-01T14:30:00+02:00"), "US")
    assert event.started_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert event.started_at.utcoffset() is not None
    assert event.started_at.tzinfo == UTC


def test_unknown_field_is_rejected_by_name() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(colour="blue"), "US")
    assert raised.value.field == "colour"


def test_unknown_status_is_rejected_by_name() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(status="hung_up"), "US")
    assert raised.value.field == "status"


def test_empty_strings_are_dropped_as_absent() -> None:
    event = parse_event(call(caller="", utm_term="", client_id="", referrer=""), "US")
    assert (event.caller, event.utm_term, event.client_id, event.referrer) == (
        None,
        None,
        None,
        None,
    )


def test_event_survives_a_json_round_trip() -> None:
    event = parse_event(
        call(
            caller="+12015550123",
            tracking_number="+12015550188",
            duration_s=0,
            client_id="GA1.2.1760224793.1424413995",
            utm_source="google",
            custom={"agent": "Dana", "score": 4, "qualified": True, "value": 12.5},
        ),
        "US",
    )
    assert event_from_json(event_to_json(event)) == event


def test_event_json_leaves_out_absent_fields_and_writes_utc_with_z() -> None:
    event = parse_event(call(started_at="2024-05-01T14:30:00+02:00", duration_s=0), "US")
    assert json.loads(event_to_json(event)) == {
        "schema_version": 1,
        "event_id": derive_event_id("generic", "CA-1001"),
        "source": "generic",
        "call_id": "CA-1001",
        "status": "answered",
        "direction": "inbound",
        "started_at": "2024-05-01T12:30:00.000Z",
        "duration_s": 0,
        "custom": {},
    }


def test_event_from_json_refuses_what_is_not_a_call_event() -> None:
    with pytest.raises(BadPayload):
        event_from_json(b'{"hello": "world"}')


def test_event_is_immutable() -> None:
    event = parse_event(call(), "US")
    with pytest.raises(ValueError, match="frozen"):
        event.status = CallStatus.MISSED  # type: ignore[misc]


def test_committed_json_schema_is_current() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == call_event_json_schema()


def test_json_schema_forbids_unknown_fields_and_does_not_require_event_id() -> None:
    schema = call_event_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"source", "call_id", "status", "started_at"}
    assert set(schema["properties"]) == set(CallEvent.model_fields)


def test_start_time_out_of_range_in_utc_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload) as caught:
        parse_event(call(started_at="0001-01-01T00:00:00+05:00"), "US")
    assert caught.value.field == "started_at"


def qualification(**overrides: Any) -> dict[str, Any]:
    return call(
        **{
            "kind": "qualification",
            "lead_status": "good_lead",
            "qualified_at": "2024-05-03T09:30:00+02:00",
            **overrides,
        }
    )


def test_qualification_id_differs_from_its_calls_and_repeats_for_the_same_status() -> None:
    first = parse_event(qualification(), "US")
    retry = parse_event(qualification(lead_status=" Good_Lead "), "US")
    other = parse_event(qualification(lead_status="not_a_lead"), "US")

    assert (
        first.event_id
        == retry.event_id
        == derive_qualification_id("generic", "CA-1001", "good_lead")
    )
    assert len({first.event_id, other.event_id, derive_event_id("generic", "CA-1001")}) == 3
    assert first.call_event_id == derive_event_id("generic", "CA-1001")


def test_qualification_is_dated_by_qualified_at_in_utc_and_survives_pub_sub() -> None:
    event = parse_event(qualification(), "US")

    assert event.occurred_at == datetime(2024, 5, 3, 7, 30, tzinfo=UTC)
    assert event_from_json(event_to_json(event)) == event
    assert json.loads(event_to_json(event))["kind"] == "qualification"


def test_a_calls_message_has_no_kind_so_earlier_readers_still_read_it() -> None:
    event = parse_event(call(), "US")

    assert "kind" not in json.loads(event_to_json(event))
    assert event.occurred_at == event.started_at


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("lead_status", "a qualification needs lead_status"),
        ("qualified_at", "a qualification needs qualified_at"),
    ],
)
def test_qualification_without_its_status_or_time_is_a_bad_payload(
    missing: str, message: str
) -> None:
    data = {key: value for key, value in qualification().items() if key != missing}

    with pytest.raises(BadPayload) as raised:
        parse_event(data, "US")

    assert raised.value.detail == f"body: Value error, {message}"


def test_a_call_with_qualified_at_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload) as raised:
        parse_event(call(qualified_at="2024-05-03T09:30:00Z"), "US")

    assert raised.value.detail == "body: Value error, qualified_at is for kind qualification only"
