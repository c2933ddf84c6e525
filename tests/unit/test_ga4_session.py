"""GA4 session ids: a plain id or the `_ga_<container id>` cookie value as a site copies it.

Cookie formats (Google documents neither and advises against parsing cookies; these are the
formats gtag.js writes, as described publicly):
- GS1 `GS1.1.<session id>.<session number>.<engaged>.<last hit>.…`: the examples in
  8ctopus/php-gtag `cookies.md` (e.g. `GS1.1.1689765380.3.1.1689766550.0.0.0`).
- GS2 `GS2.1.s<session id>$o<session number>$g…$t<last hit>$j…$l…$h…`, rolled out from May 2025:
  https://www.thyngster.com/google-analytics-4-cookie-format-change-from-gs1-to-gs2-explained
  (fields named by their first letter, order not guaranteed) and its example
  `GS2.1.s1746825440$o…`; also https://votus.com.ua/ga4-new-cookie-format
  (`GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0` → 1747132561).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from shared.errors import BadPayload
from shared.events import session_id_from
from shared.settings import Settings
from shared.sources import generic, twilio
from shared.sources.base import WebhookRequest

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(b"a test key of thirty-two bytes!!").decode()


@pytest.mark.parametrize(
    ("value", "session_id"),
    [
        ("1747132561", "1747132561"),
        (" 1747132561 ", "1747132561"),
        ("GS1.1.1689765380.3.1.1689766550.0.0.0", "1689765380"),
        ("GS1.2.1689828668.4.0.1689828668.0.0.0", "1689828668"),
        ("GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0", "1747132561"),
        ("GS2.1.s1747323152$o28$g0$t1747323152$j60$l0$h69286059", "1747323152"),
        # GS2 names its fields, so their order may change.
        ("GS2.1.o28$g1$s1747323152$t1747323200", "1747323152"),
    ],
)
def test_session_id_comes_from_a_plain_id_or_either_cookie_format(
    value: str, session_id: str
) -> None:
    assert session_id_from(value) == session_id


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1747132561.1",
        "GA1.1.1760224793.1424413995",  # the `_ga` cookie, pasted into the wrong field
        "GS1.1.notanumber.1.1",
        "GS1.1.1689765380",
        "GS2.1.o1$g0$t1747132655",
        "GS2.1.s$o1",
        "GS3.1.s1747132561",
    ],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="GA4 session id"):
        session_id_from(value)


def generic_request(document: object) -> WebhookRequest:
    body = json.dumps(document).encode()
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(NOW.timestamp())),
        "webhook-signature": generic.sign(SECRET, "msg_1", int(NOW.timestamp()), body),
    }
    return WebhookRequest("POST", "", "", headers, body, "https://hooks.example.com/generic", NOW)


def call(**fields: object) -> dict[str, object]:
    started = (NOW - timedelta(minutes=5)).isoformat()
    return {"call_id": "c-1", "status": "answered", "started_at": started, **fields}


def test_generic_call_takes_both_cookies_as_the_site_copied_them() -> None:
    document = call(
        client_id="GA1.1.1760224793.1424413995",
        session_id="GS2.1.s1764244500$o3$g1$t1764244700$j60$l0$h0",
    )

    [event] = generic.parse(generic_request(document), Settings()).events

    assert (event.client_id, event.session_id) == ("1760224793.1424413995", "1764244500")


def test_generic_call_with_a_garbage_session_id_is_a_bad_payload_naming_the_field() -> None:
    with pytest.raises(BadPayload) as raised:
        generic.parse(generic_request(call(session_id="GS2.1.o3$g1")), Settings())

    assert raised.value.field == "session_id"
    assert "GS2.1.o3" not in str(raised.value)


def test_garbage_session_id_in_a_batch_is_named_by_its_position() -> None:
    with pytest.raises(BadPayload) as raised:
        generic.parse(generic_request([call(), call(call_id="c-2", session_id="x")]), Settings())

    assert raised.value.field == "[1].session_id"


def test_twilio_callback_url_passes_the_session_cookie_through() -> None:
    # The Dial action's fields (twilio.com/docs/voice/twiml/dial#action); attribution rides on
    # the action URL's query string, which the site's TwiML app builds.
    token = "0123456789abcdef0123456789abcdef"
    fields = {
        "CallSid": "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": "+12015550123",
        "To": "+12015550188",
        "DialCallStatus": "completed",
        "DialCallSid": "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "DialCallDuration": "42",
    }
    query = urlencode(
        {"client_id": "GA1.1.111.222", "session_id": "GS1.1.1764244500.3.1.1764244700.0.0.0"}
    )
    url = f"https://hooks.example.com/twilio?{query}"
    body = urlencode(fields).encode()
    signature = twilio.sign(token, url, parse_qsl(body.decode()))
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
    }
    request = WebhookRequest("POST", "", query, headers, body, url, NOW)

    [event] = twilio.parse(request, Settings(webhook_secrets={"twilio": (token,)})).events

    assert (event.client_id, event.session_id) == ("111.222", "1764244500")


@pytest.mark.parametrize(
    ("value", "stored"), [("GRANTED", "GRANTED"), ("denied", "DENIED"), (" granted ", "GRANTED")]
)
def test_generic_call_takes_consent_in_either_case(value: str, stored: str) -> None:
    document = call(consent_ad_user_data=value, consent_ad_personalization=value)

    [event] = generic.parse(generic_request(document), Settings()).events

    assert (event.consent_ad_user_data, event.consent_ad_personalization) == (stored, stored)


def test_generic_call_with_an_unknown_consent_value_is_a_bad_payload_naming_the_field() -> None:
    with pytest.raises(BadPayload) as raised:
        generic.parse(generic_request(call(consent_ad_personalization="yes")), Settings())

    assert raised.value.field == "consent_ad_personalization"
