"""Twilio: the SDK's known answers, URL variants, JSON bodies, stages and the signed timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from shared.errors import BadSignature
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
    query = urlencode(FIELDS)
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


def test_outbound_call_takes_the_customer_from_to() -> None:
    fields = {**FIELDS, "Direction": "outbound-api", "From": "+12015550188", "To": "+12015550123"}

    event = twilio.parse(_form_request(fields), SETTINGS).events[0]

    assert (event.direction, event.caller, event.tracking_number) == (
        "outbound",
        "+12015550123",
        "+12015550188",
    )


def test_client_leg_has_no_caller_phone() -> None:
    event = twilio.parse(_form_request({**FIELDS, "From": "client:alice"}), SETTINGS).events[0]

    assert event.caller is None


def test_attribution_query_parameters_on_the_callback_url_are_copied() -> None:
    url = "https://hooks.example.com/twilio?utm_source=ivr&client_id=GA1.2.111.222"

    event = twilio.parse(_form_request(url=url, signed_url=url), SETTINGS).events[0]

    assert (event.utm_source, event.client_id) == ("ivr", "111.222")
