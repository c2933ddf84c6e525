"""Twilio: the SDK's known answers, URL variants, JSON bodies, stages and the signed timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from shared.errors import BadPayload, BadSignature
from shared.events import parse_event
from shared.settings import Settings
from shared.sources import twilio
from shared.sources.base import WebhookRequest

# Twilio SDK known answer (../shared/reference/vendor-webhooks.md §4).
SDK_TOKEN = "12345"
SDK_BODY = b'{"property": "value", "boolean": true}'
SDK_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
SDK_URL = f"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256={SDK_HASH}"
SDK_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="
TOKEN = "0123456789abcdef0123456789abcdef"
NOW = datetime(2024, 11, 5, 14, 20, 41, tzinfo=UTC)
SETTINGS = Settings(webhook_secrets={"twilio": (TOKEN,)})
FIELDS = {
    "CallSid": "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5",
    "CallStatus": "completed",
    "Direction": "inbound",
    "From": "+12015550123",
    "To": "+12015550188",
    "CallDuration": "42",
    "Timestamp": "Tue, 05 Nov 2024 14:20:41 +0000",
}
# The <Dial> action request (twilio.com/docs/voice/twiml/dial#action): the parent's fields.
DIAL_ACTION = {
    "CallSid": FIELDS["CallSid"],
    "CallStatus": "in-progress",
    "Direction": "inbound",
    "From": "+12015550123",
    "To": "+12015550188",
    "DialCallStatus": "completed",
    "DialCallSid": "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "DialCallDuration": "42",
    "DialBridged": "true",
}
URL = "https://hooks.example.com/twilio/status?tenant=acme"


def _form_request(
    fields: dict[str, str] = FIELDS, url: str = URL, signed_url: str = URL, now: datetime = NOW
) -> WebhookRequest:
    body = urlencode(fields).encode()
    signature = twilio.sign(TOKEN, signed_url, parse_qsl(body.decode(), keep_blank_values=True))
    return WebhookRequest(
        method="POST",
        subpath="/status",
        query=url.partition("?")[2],
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
        body=body,
        public_url=url,
        received_at=now,
    )


def test_body_hash_gives_the_sdk_known_answer() -> None:
    assert twilio.body_hash(SDK_BODY) == SDK_HASH


def test_url_signature_gives_the_sdk_known_answer() -> None:
    assert twilio.sign(SDK_TOKEN, SDK_URL) == SDK_SIGNATURE


def test_json_callback_with_matching_body_hash_verifies() -> None:
    request = WebhookRequest(
        method="POST",
        subpath="",
        query=SDK_URL.partition("?")[2],
        headers={"content-type": "application/json", "x-twilio-signature": SDK_SIGNATURE},
        body=SDK_BODY,
        public_url=SDK_URL,
        received_at=NOW,
    )

    twilio.verify(request, [SDK_TOKEN])


def test_json_callback_whose_body_does_not_match_its_hash_is_rejected() -> None:
    request = WebhookRequest(
        method="POST",
        subpath="",
        query=SDK_URL.partition("?")[2],
        headers={"content-type": "application/json", "x-twilio-signature": SDK_SIGNATURE},
        body=SDK_BODY.replace(b"true", b"false"),
        public_url=SDK_URL,
        received_at=NOW,
    )

    with pytest.raises(BadSignature, match="bodySHA256"):
        twilio.verify(request, [SDK_TOKEN])


def test_signature_over_the_url_with_the_default_port_verifies() -> None:
    signed = "https://hooks.example.com:443/twilio/status?tenant=acme"

    twilio.verify(_form_request(signed_url=signed), [TOKEN])


def test_signature_over_another_query_string_is_rejected() -> None:
    with pytest.raises(BadSignature):
        twilio.verify(_form_request(signed_url=URL.replace("acme", "other")), [TOKEN])


def test_signed_timestamp_older_than_an_hour_is_rejected() -> None:
    with pytest.raises(BadSignature, match="Timestamp"):
        twilio.verify(_form_request(now=NOW + timedelta(hours=1, seconds=1)), [TOKEN])


def test_get_callback_signed_over_the_url_alone_verifies() -> None:
    query = urlencode(DIAL_ACTION)
    url = f"https://hooks.example.com/twilio?{query}"
    request = WebhookRequest(
        method="GET",
        subpath="",
        query=query,
        headers={"x-twilio-signature": twilio.sign(TOKEN, url)},
        body=b"",
        public_url=url,
        received_at=NOW,
    )

    twilio.verify(request, [TOKEN])
    assert twilio.parse(request, SETTINGS).events[0].call_id == FIELDS["CallSid"]


@pytest.mark.parametrize("status", ["queued", "initiated", "ringing", "in-progress"])
def test_progress_callbacks_are_acknowledged_without_events(status: str) -> None:
    parsed = twilio.parse(_form_request({**FIELDS, "CallStatus": status}), SETTINGS)

    assert parsed.events == []
    assert parsed.note == f"CallStatus {status} is not a call outcome yet"


@pytest.mark.parametrize(
    ("call_status", "status"),
    [("busy", "busy"), ("no-answer", "missed"), ("canceled", "missed"), ("failed", "failed")],
)
def test_terminal_call_statuses_map_to_call_outcomes(call_status: str, status: str) -> None:
    parsed = twilio.parse(_form_request({**FIELDS, "CallStatus": call_status}), SETTINGS)

    assert parsed.events[0].status == status


def test_outbound_api_call_answered_by_a_person_takes_the_customer_from_to() -> None:
    fields = {
        **FIELDS,
        "Direction": "outbound-api",
        "From": "+12015550188",
        "To": "+12015550123",
        "AnsweredBy": "human",
    }

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert (event.status, event.direction, event.caller, event.tracking_number) == (
        "answered",
        "outbound",
        "+12015550123",
        "+12015550188",
    )


def test_client_leg_has_no_caller_phone() -> None:
    fields = {**DIAL_ACTION, "From": "client:alice"}

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert event.caller is None


def test_attribution_query_parameters_on_the_callback_url_are_copied() -> None:
    url = "https://hooks.example.com/twilio?utm_source=ivr&client_id=GA1.2.111.222"

    event = twilio.parse(_form_request(DIAL_ACTION, url=url, signed_url=url), SETTINGS).events[0]

    assert (event.utm_source, event.client_id) == ("ivr", "111.222")


# URL variants: exactly what the official SDK's RequestValidator.validate tries
# (twilio-python twilio/request_validator.py: `remove_port` and `add_port` of the URL).
@pytest.mark.parametrize(
    ("url", "variants"),
    [
        (
            "https://hooks.example.com/twilio?a=1",
            ["https://hooks.example.com/twilio?a=1", "https://hooks.example.com:443/twilio?a=1"],
        ),
        (
            "http://hooks.example.com/twilio",
            ["http://hooks.example.com/twilio", "http://hooks.example.com:80/twilio"],
        ),
        (
            "https://hooks.example.com:8443/twilio",
            ["https://hooks.example.com/twilio", "https://hooks.example.com:8443/twilio"],
        ),
        (
            "https://hooks.example.com:443/twilio",
            ["https://hooks.example.com/twilio", "https://hooks.example.com:443/twilio"],
        ),
        ("https://hooks.example.com:99999/twilio", []),
    ],
)
def test_signed_url_variants_are_the_sdks_with_and_without_port(
    url: str, variants: list[str]
) -> None:
    assert twilio.signed_url_variants(url) == variants


def test_signature_without_the_non_default_port_of_the_url_verifies() -> None:
    url = "https://hooks.example.com:8443/twilio/status?tenant=acme"
    signed = "https://hooks.example.com/twilio/status?tenant=acme"

    twilio.verify(_form_request(url=url, signed_url=signed), [TOKEN])


def test_signature_with_the_non_default_port_of_the_url_verifies() -> None:
    url = "https://hooks.example.com:8443/twilio/status?tenant=acme"

    twilio.verify(_form_request(url=url, signed_url=url), [TOKEN])


def test_signature_over_a_port_the_url_does_not_have_is_rejected() -> None:
    signed = "https://hooks.example.com:8443/twilio/status?tenant=acme"

    with pytest.raises(BadSignature):
        twilio.verify(_form_request(signed_url=signed), [TOKEN])


def test_signature_over_the_other_schemes_default_port_is_rejected() -> None:
    url = "https://hooks.example.com:443/twilio/status?tenant=acme"
    signed = "https://hooks.example.com:80/twilio/status?tenant=acme"

    with pytest.raises(BadSignature):
        twilio.verify(_form_request(url=url, signed_url=signed), [TOKEN])


def test_json_callback_on_a_non_default_port_signed_without_it_verifies() -> None:
    query = f"bodySHA256={SDK_HASH}"
    request = WebhookRequest(
        method="POST",
        subpath="",
        query=query,
        headers={
            "content-type": "application/json",
            "x-twilio-signature": twilio.sign(TOKEN, f"https://hooks.example.com/twilio?{query}"),
        },
        body=SDK_BODY,
        public_url=f"https://hooks.example.com:8443/twilio?{query}",
        received_at=NOW,
    )

    twilio.verify(request, [TOKEN])


def test_completed_customer_call_without_dial_information_publishes_nothing() -> None:
    parsed = twilio.parse(_form_request(), SETTINGS)

    assert parsed.events == []
    assert parsed.note == (
        "CallStatus completed says the call ended, not that a person talked: the "
        "outcome comes from the <Dial> action, a dialled leg or AnsweredBy"
    )


@pytest.mark.parametrize(
    ("dial_status", "status"),
    [
        ("completed", "answered"),
        ("answered", "answered"),
        ("busy", "busy"),
        ("no-answer", "missed"),
        ("canceled", "missed"),
        ("failed", "failed"),
    ],
)
def test_dial_action_statuses_map_to_call_outcomes(dial_status: str, status: str) -> None:
    fields = {**DIAL_ACTION, "DialCallStatus": dial_status}

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert (event.call_id, event.status) == (FIELDS["CallSid"], status)


def test_dial_action_becomes_the_customers_call_event() -> None:
    fields = {**DIAL_ACTION, "RecordingUrl": "https://api.twilio.com/Recordings/RE1"}

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert event == parse_event(
        {
            "source": "twilio",
            "call_id": FIELDS["CallSid"],
            "status": "answered",
            "direction": "inbound",
            # The dial ended when Twilio sent the action: the agent answered 42 s earlier.
            "started_at": NOW - timedelta(seconds=42),
            "talk_s": 42,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
            "recording_available": True,
        },
        "US",
    )


def test_unknown_dial_status_is_a_bad_payload_naming_the_field() -> None:
    with pytest.raises(BadPayload) as raised:
        twilio.parse(_form_request({**DIAL_ACTION, "DialCallStatus": "joined"}), SETTINGS)

    assert raised.value.field == "DialCallStatus"


LEG = {
    "CallSid": "CA1b2c3d4e5f60718293a4b5c6d7e8f9a0",
    "ParentCallSid": FIELDS["CallSid"],
    "CallStatus": "completed",
    "Direction": "outbound-dial",
    "From": "+12015550123",
    "To": "+12015550142",
    "CallDuration": "42",
    "Timestamp": "Tue, 05 Nov 2024 14:20:41 +0000",
}


def test_connected_dialled_leg_is_the_parent_call_answered_by_the_customer() -> None:
    event = twilio.parse(_form_request(LEG), SETTINGS).events[0]

    assert event == parse_event(
        {
            "source": "twilio",
            "call_id": FIELDS["CallSid"],
            "status": "answered",
            "direction": "inbound",
            "started_at": NOW - timedelta(seconds=42),
            "talk_s": 42,
            "caller": "+12015550123",
        },
        "US",
    )


@pytest.mark.parametrize("status", ["no-answer", "canceled", "busy", "failed"])
def test_dialled_leg_that_did_not_connect_is_acknowledged(status: str) -> None:
    parsed = twilio.parse(_form_request({**LEG, "CallStatus": status}), SETTINGS)

    assert parsed.events == []
    assert parsed.note == f"a dialled leg ended {status}: not the call's outcome"


API_CALL = {**FIELDS, "Direction": "outbound-api", "From": "+12015550188", "To": "+12015550123"}


@pytest.mark.parametrize(
    ("answered_by", "status"),
    [
        ("human", "answered"),
        ("machine_start", "voicemail"),
        ("machine_end_beep", "voicemail"),
        ("machine_end_silence", "voicemail"),
        ("machine_end_other", "voicemail"),
    ],
)
def test_api_call_outcome_comes_from_answering_machine_detection(
    answered_by: str, status: str
) -> None:
    event = twilio.parse(_form_request({**API_CALL, "AnsweredBy": answered_by}), SETTINGS).events[0]

    assert (event.status, event.caller, event.started_at) == (
        status,
        "+12015550123",
        NOW - timedelta(seconds=42),
    )


@pytest.mark.parametrize("answered_by", [None, "unknown", "fax"])
def test_api_call_completed_without_a_human_or_machine_verdict_is_acknowledged(
    answered_by: str | None,
) -> None:
    fields = API_CALL if answered_by is None else {**API_CALL, "AnsweredBy": answered_by}

    assert twilio.parse(_form_request(fields), SETTINGS).events == []


def test_inbound_call_ignores_answered_by() -> None:
    assert twilio.parse(_form_request({**FIELDS, "AnsweredBy": "human"}), SETTINGS).events == []


def test_unconnected_call_starts_when_its_callback_fired() -> None:
    fields = {**FIELDS, "CallStatus": "busy", "CallDuration": "0"}

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert (event.status, event.started_at, event.duration_s) == ("busy", NOW, 0)


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        ({"AnsweredBy": "human"}, "an answering machine detection result is not a call outcome"),
        ({"RecordingStatus": "completed"}, "a recording status is not a call outcome"),
    ],
)
def test_callbacks_without_a_call_status_are_acknowledged(extra: dict[str, str], note: str) -> None:
    fields = {"CallSid": FIELDS["CallSid"], "AccountSid": "AC0123456789abcdef0123456789abcdef"}

    parsed = twilio.parse(_form_request({**fields, **extra}), SETTINGS)

    assert (list(parsed.events), parsed.note) == ([], note)


def test_request_with_no_call_status_at_all_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload) as raised:
        twilio.parse(_form_request({"CallSid": FIELDS["CallSid"]}), SETTINGS)

    assert raised.value.field == "CallStatus"
