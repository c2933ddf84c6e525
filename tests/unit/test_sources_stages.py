"""Vendor stages and quirks: what is an outcome, how it maps, and handshakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest

from shared.errors import BadPayload, BadSignature
from shared.settings import Settings
from shared.sources import aircall, calltouch, dialpad, ringcentral, ringostat, uis
from shared.sources.base import WebhookRequest
from tools.vendor_samples import SECRETS, TIMEZONES, sample

STARTED = datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)
NOW = STARTED + timedelta(minutes=4)
SETTINGS = Settings(
    webhook_secrets={name: (secret,) for name, secret in SECRETS.items()},
    source_timezones={name: ZoneInfo(zone) for name, zone in TIMEZONES.items()},
)


def _json_request(vendor: str, change: dict[str, Any], path: str | None = None) -> WebhookRequest:
    original = sample(vendor, STARTED)
    document = {**json.loads(original.body), **change}
    request = original.with_body(json.dumps(document).encode()).request(NOW)
    if path is None:
        return request
    return WebhookRequest(**{**request.__dict__, "subpath": path})


def test_aircall_events_other_than_call_ended_are_acknowledged() -> None:
    parsed = aircall.parse(_json_request("aircall", {"event": "call.hungup"}), SETTINGS)

    assert parsed.events == []
    assert parsed.note == "call.hungup is not a call outcome; waiting for call.ended"


def test_aircall_call_never_answered_is_missed_without_talk_time() -> None:
    original = json.loads(sample("aircall", STARTED).body)
    data = {**original["data"], "answered_at": None}

    event = aircall.parse(_json_request("aircall", {"data": data}), SETTINGS).events[0]

    assert (event.status, event.talk_s) == ("missed", None)


def test_aircall_body_that_is_not_json_is_a_bad_signature() -> None:
    request = sample("aircall", STARTED).with_body(b"token=x").request(NOW)

    with pytest.raises(BadSignature):
        aircall.verify(request, [SECRETS["aircall"]])


def _ringcentral_handshake(token: str) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        subpath="",
        query="",
        headers={"validation-token": token},
        body=b"",
        public_url="https://hooks.example.com/ringcentral",
        received_at=NOW,
    )


def test_ringcentral_handshake_is_answered_200_with_the_token_echoed() -> None:
    request = _ringcentral_handshake("9f1c2b3a-4d5e-6f70")

    ringcentral.verify(request, [SECRETS["ringcentral"]])
    parsed = ringcentral.parse(request, SETTINGS)

    assert (parsed.events, parsed.status, dict(parsed.headers)) == (
        [],
        200,
        {"Validation-Token": "9f1c2b3a-4d5e-6f70"},
    )


def test_ringcentral_handshake_token_that_is_not_a_token_is_not_echoed() -> None:
    with pytest.raises(BadPayload):
        ringcentral.parse(_ringcentral_handshake("a b <script>"), SETTINGS)


def test_ringcentral_ringing_party_is_acknowledged() -> None:
    original = json.loads(sample("ringcentral", STARTED).body)
    original["body"]["parties"][0]["status"]["code"] = "Proceeding"

    parsed = ringcentral.parse(_json_request("ringcentral", original), SETTINGS)

    assert parsed.events == []
    assert parsed.note == "party status Proceeding does not settle the call"


def test_ringcentral_missed_call_is_missed() -> None:
    original = json.loads(sample("ringcentral", STARTED).body)
    original["body"]["parties"][0]["missedCall"] = True

    event = ringcentral.parse(_json_request("ringcentral", original), SETTINGS).events[0]

    assert event.status == "missed"


def _dialpad_request(claims: dict[str, Any], algorithm: str = "HS256") -> WebhookRequest:
    # HS512 wants a 64-byte key; the secret is repeated so PyJWT does not warn.
    key = SECRETS["dialpad"] * (2 if algorithm == "HS512" else 1)
    body = jwt.encode(claims, key, algorithm=algorithm).encode()
    return sample("dialpad", STARTED).with_body(body).request(NOW)


def test_dialpad_token_signed_with_another_algorithm_is_rejected() -> None:
    with pytest.raises(BadSignature, match="HS256"):
        dialpad.verify(_dialpad_request({"state": "hangup"}, "HS512"), [SECRETS["dialpad"]])


def test_dialpad_unsigned_token_is_rejected() -> None:
    body = jwt.encode({"state": "hangup"}, "", algorithm="none").encode()
    request = sample("dialpad", STARTED).with_body(body).request(NOW)

    with pytest.raises(BadSignature):
        dialpad.verify(request, [SECRETS["dialpad"]])


def test_dialpad_expired_token_is_rejected() -> None:
    claims = {"state": "hangup", "exp": int((NOW - timedelta(minutes=10)).timestamp())}

    with pytest.raises(BadSignature, match="expired"):
        dialpad.verify(_dialpad_request(claims), [SECRETS["dialpad"]])


def test_dialpad_token_issued_over_an_hour_ago_is_rejected() -> None:
    claims = {"state": "hangup", "iat": int((NOW - timedelta(hours=2)).timestamp())}

    with pytest.raises(BadSignature, match="iat"):
        dialpad.verify(_dialpad_request(claims), [SECRETS["dialpad"]])


def test_dialpad_ringing_state_is_acknowledged() -> None:
    parsed = dialpad.parse(_dialpad_request({"state": "ringing", "call_id": 1}), SETTINGS)

    assert parsed.events == []


def test_ringostat_webhook_without_disposition_is_acknowledged_with_200() -> None:
    original = json.loads(sample("ringostat", STARTED).body)
    del original["disposition"]
    request = sample("ringostat", STARTED).with_body(json.dumps(original).encode()).request(NOW)

    parsed = ringostat.parse(request, SETTINGS)

    assert (parsed.events, parsed.status) == ([], 200)


@pytest.mark.parametrize(
    ("disposition", "status"),
    [("NO ANSWER", "missed"), ("BUSY", "busy"), ("FAILED", "failed"), ("answered", "answered")],
)
def test_ringostat_dispositions_map_to_statuses(disposition: str, status: str) -> None:
    request = _json_request("ringostat", {"disposition": disposition})

    assert ringostat.parse(request, SETTINGS).events[0].status == status


def test_ringostat_unknown_disposition_is_a_400_naming_the_field() -> None:
    with pytest.raises(BadPayload) as caught:
        ringostat.parse(_json_request("ringostat", {"disposition": "MAYBE"}), SETTINGS)

    assert caught.value.field == "disposition"


def test_ringostat_outgoing_call_takes_the_customer_from_dst() -> None:
    event = ringostat.parse(_json_request("ringostat", {"call_type": "out"}), SETTINGS).events[0]

    assert (event.direction, event.caller) == ("outbound", "+442079460001")


def test_ringostat_naive_calldate_is_read_in_the_configured_zone() -> None:
    request = _json_request("ringostat", {"calldate": "2024-11-05 16:18:12"})

    assert ringostat.parse(request, SETTINGS).events[0].started_at == STARTED


def test_uis_lost_call_path_is_missed() -> None:
    event = uis.parse(_json_request("uis", {}, path="/lost"), SETTINGS).events[0]

    assert event.status == "missed"


def test_uis_notification_on_another_path_is_acknowledged() -> None:
    parsed = uis.parse(_json_request("uis", {}, path="/incoming"), SETTINGS)

    assert parsed.events == []


def test_uis_call_ended_with_no_talk_time_is_missed() -> None:
    event = uis.parse(_json_request("uis", {"talk_time_duration": 0}), SETTINGS).events[0]

    assert (event.status, event.talk_s) == ("missed", 0)


def test_uis_call_ended_without_talk_time_variable_publishes_nothing() -> None:
    original = json.loads(sample("uis", STARTED).body)
    del original["talk_time_duration"]
    request = sample("uis", STARTED).with_body(json.dumps(original).encode()).request(NOW)

    parsed = uis.parse(request, SETTINGS)

    assert (parsed.events, parsed.note) == ([], uis._MISSING_TALK_TIME)


def _calltouch_request(change: str) -> WebhookRequest:
    original = sample("calltouch", STARTED)
    return original.with_query(f"{original.query}&{change}").request(NOW)


def test_calltouch_call_start_phase_is_acknowledged() -> None:
    original = sample("calltouch", STARTED)
    query = original.query.replace("callphase=calldisconnected", "callphase=callconnected")

    parsed = calltouch.parse(original.with_query(query).request(NOW), SETTINGS)

    assert parsed.events == []


def test_calltouch_unsuccessful_call_is_missed() -> None:
    original = sample("calltouch", STARTED)
    query = original.query.replace("successful=true", "successful=false")

    event = calltouch.parse(original.with_query(query).request(NOW), SETTINGS).events[0]

    assert event.status == "missed"


def test_calltouch_field_sent_twice_with_different_values_is_a_400() -> None:
    with pytest.raises(BadPayload) as caught:
        calltouch.parse(_calltouch_request("callId=other"), SETTINGS)

    assert caught.value.field == "callId"
