"""Twilio contract: Twilio's documented requests, alone and as a call's sequence, in any order.

Sources: the <Dial> action's parameters and DialCallStatus values
(https://www.twilio.com/docs/voice/twiml/dial#action), status callback parameters
(https://www.twilio.com/docs/voice/api/call-resource#statuscallback), <Number> ringing up to
ten numbers at once (https://www.twilio.com/docs/voice/twiml/number), AnsweredBy values
(https://www.twilio.com/docs/voice/answering-machine-detection), and the signature rules of
twilio-python `twilio/request_validator.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import permutations
from urllib.parse import parse_qsl, urlencode

import pytest

from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import twilio
from shared.sources.base import WebhookRequest
from tests.contract.ledger import first_per_event_id
from tools.scenarios import build_requests, expected_events
from tools.scenarios import twilio as scenario
from tools.scenarios.common import SECRETS, Sample

STARTED = datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)
ENDED = STARTED + scenario.ENDED_AFTER
SETTINGS = Settings(webhook_secrets={"twilio": (SECRETS["twilio"],)})


def _published(samples: list[Sample] | tuple[Sample, ...]) -> list[CallEvent]:
    """What the delivery ledger lets through: the first event per event id, in order."""
    return first_per_event_id(_verified_events(sample.request(ENDED)) for sample in samples)


def _verified_events(request: WebhookRequest) -> Sequence[CallEvent]:
    twilio.verify(request, [SECRETS["twilio"]])
    return twilio.parse(request, SETTINGS).events


def _form(fields: dict[str, str], url: str, received_at: datetime = ENDED) -> WebhookRequest:
    body = urlencode(fields).encode()
    token = SECRETS["twilio"]
    return WebhookRequest(
        method="POST",
        subpath="/status",
        query=url.partition("?")[2],
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio.sign(token, url, parse_qsl(body.decode(), True)),
        },
        body=body,
        public_url=url,
        received_at=received_at,
    )


def test_published_outbound_api_no_answer_callback_is_a_missed_outbound_call() -> None:
    # A real status callback posted in somleng/somleng-switch issue #7 (Twilio's request for
    # an API call nobody answered); its redacted `To`, `Called`, `AccountSid` and `CallSid`
    # are filled with fictional values.
    fields = {
        "ApiVersion": "2010-04-01",
        "Called": "+12015550123",
        "CallStatus": "no-answer",
        "Duration": "0",
        "From": "+12013800532",
        "Direction": "outbound-api",
        "CallDuration": "0",
        "Timestamp": "Tue, 01 Nov 2016 01:59:13 +0000",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "CallbackSource": "call-progress-events",
        "SipResponseCode": "487",
        "Caller": "+12013800532",
        "SequenceNumber": "0",
        "CallSid": "CA5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
        "To": "+12015550123",
    }
    received = datetime(2016, 11, 1, 1, 59, 14, tzinfo=UTC)
    request = _form(fields, "https://hooks.example.com/twilio/status", received)
    twilio.verify(request, [SECRETS["twilio"]])

    events = twilio.parse(request, SETTINGS).events

    assert list(events) == [
        parse_event(
            {
                "source": "twilio",
                "call_id": "CA5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
                "status": "missed",
                "direction": "outbound",
                "started_at": "2016-11-01T01:59:13Z",
                "duration_s": 0,
                "caller": "+12015550123",
                "tracking_number": "+12013800532",
            },
            "US",
        )
    ]


@pytest.mark.parametrize(
    "name", ["answered", "missed", "voicemail", "multi-leg", "ivr-hangup", "outbound-api"]
)
def test_scenario_in_arrival_order_publishes_its_expected_events(name: str) -> None:
    samples = build_requests("twilio", name, STARTED, "https://hooks.example.com", ENDED)

    assert _published(samples) == expected_events("twilio", name, STARTED)


@pytest.mark.parametrize("name", ["missed", "voicemail"])
def test_unanswered_dial_is_missed_in_every_arrival_order(name: str) -> None:
    # The Dial action (no-answer), the recording status callback of a message left after it,
    # and the parent's `completed` callback: asynchronous requests may arrive in any order.
    samples = build_requests("twilio", name, STARTED, "https://hooks.example.com", ENDED)
    expected = expected_events("twilio", name, STARTED)

    for order in permutations(samples):
        assert _published(order) == expected


def test_three_agents_ringing_one_answering_is_one_answered_call_in_every_order() -> None:
    # Three <Number>s ring at once; the second connects, the others are hung up; the Dial
    # action and the connected leg both report the call on the parent CallSid.
    samples = build_requests("twilio", "multi-leg", STARTED, "https://hooks.example.com", ENDED)
    dial_action, connected_leg = samples[2], samples[3]
    from_dial_action = expected_events("twilio", "multi-leg", STARTED)
    # The connected leg knows the customer (its From) but not the number they dialled.
    from_leg = [from_dial_action[0].model_copy(update={"tracking_number": None})]

    for order in permutations(samples):
        dial_first = order.index(dial_action) < order.index(connected_leg)
        assert _published(order) == (from_dial_action if dial_first else from_leg)


def test_customer_hanging_up_in_the_ivr_publishes_nothing() -> None:
    samples = build_requests("twilio", "ivr-hangup", STARTED, "https://hooks.example.com", ENDED)

    assert _published(samples) == []


def test_answering_machine_on_an_api_call_is_voicemail() -> None:
    samples = build_requests(
        "twilio", "outbound-voicemail", STARTED, "https://hooks.example.com", ENDED
    )

    assert _published(samples) == expected_events("twilio", "outbound-voicemail", STARTED)
    assert _published(samples)[0].status == "voicemail"


def test_documented_dial_action_for_a_conference_is_answered() -> None:
    # "When calling a conference ... answered"; DialCallSid and DialCallDuration "not sent
    # after dialing a conference" (twilio.com/docs/voice/twiml/dial#dialcallstatus).
    fields = {
        "CallSid": scenario.CALL_SID,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": scenario.CUSTOMER,
        "To": scenario.TWILIO_NUMBER,
        "DialCallStatus": "answered",
        "DialBridged": "true",
    }

    events = twilio.parse(_form(fields, "https://hooks.example.com/twilio/dial"), SETTINGS).events

    assert list(events) == [
        parse_event(
            {
                "source": "twilio",
                "call_id": scenario.CALL_SID,
                "status": "answered",
                "direction": "inbound",
                "started_at": ENDED,
                "caller": scenario.CUSTOMER,
                "tracking_number": scenario.TWILIO_NUMBER,
            },
            "US",
        )
    ]


# twilio-python tests/unit/test_request_validator.py: token 12345, these form fields, and the
# signatures Twilio's validator accepts for each URL (its port tests).
SDK_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
SDK_URI = "https://mycompany.com/myapp.php?foo=1&bar=2"


@pytest.mark.parametrize(
    ("uri", "signature"),
    [
        (SDK_URI, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # test_validation
        # test_validation_removes_port_on_https
        (SDK_URI.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        # test_validation_removes_port_on_http ("hash of http uri with port 1234")
        (
            SDK_URI.replace(".com", ".com:1234").replace("https", "http"),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
        (SDK_URI, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # adds_port_on_https: with :443
        (SDK_URI.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # adds :80
    ],
)
def test_sdk_port_known_answers_verify(uri: str, signature: str) -> None:
    body = urlencode(SDK_PARAMS).encode()
    request = WebhookRequest(
        method="POST",
        subpath="",
        query=uri.partition("?")[2],
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
        body=body,
        public_url=uri,
        received_at=ENDED,
    )

    twilio.verify(request, ["12345"])


def test_sdk_known_answer_for_a_json_callback_verifies() -> None:
    # twilio-python tests/unit/test_request_validator.py, test_validation_of_body_succeeds
    # (also ../shared/reference/vendor-webhooks.md §4).
    body = b'{"property": "value", "boolean": true}'
    body_sha = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256={body_sha}"
    request = WebhookRequest(
        method="POST",
        subpath="",
        query=url.partition("?")[2],
        headers={
            "content-type": "application/json",
            "x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4=",
        },
        body=body,
        public_url=url,
        received_at=ENDED - timedelta(seconds=1),
    )

    twilio.verify(request, ["12345"])
