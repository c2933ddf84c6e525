"""Aircall call webhooks as published, event by event and call by call.

Sources:
- [API-CALL] Aircall API reference, the Call object (developer.aircall.io/api-references/#call):
  `id` (one per call), `direction`, `status` (initial, answered, done), `started_at`,
  `answered_at`, `ended_at` (Unix s; answered_at null when nobody answered), `duration`,
  `raw_digits` ("International format of the number of the caller or the callee", or
  `anonymous`), `voicemail` ("Only present if a voicemail was left"), `recording` (live
  recording URL, valid 1 h), `missed_call_reason` (out_of_opening_hours, short_abandoned,
  abandoned_in_ivr, abandoned_in_classic, no_available_agent, agents_did_not_answer),
  `number` (`digits`; `e164_digits` "only available in Webhook events"), `user`,
  `transfered_by` / `transfered_to` (Aircall's spelling), `tags`, `comments`.
- [WEBHOOK-EVENTS] Aircall API reference, webhook events, and developer.aircall.io/docs/
  webhooks-overview, as summarised in GitHub hookdeck/webhook-skills
  `skills/aircall-webhooks/references/overview.md`: the envelope {resource, event, timestamp,
  token, data}; the 19 call events (call.created, call.ringing_on_agent, call.agent_declined,
  call.answered, call.transferred, call.external_transferred, call.unsuccessful_transfer,
  call.hungup, call.ended, …); "multiple call events fire for a single call", upsert on
  data.id; delivery "at least once" and in no guaranteed order; and the documented
  `call.created` sample (status initial, answered_at null, raw_digits "+1 800-123-4567").
Phone numbers and ids below are ours where the samples give none; the shapes are the sources'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

import pytest

from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import aircall
from shared.sources.base import WebhookRequest
from tests.contract.ledger import first_per_event_id

TOKEN = "45XXYYZZa08"
STARTED = 1732622895
NOW = datetime.fromtimestamp(STARTED, UTC) + timedelta(minutes=5)
SETTINGS = Settings(webhook_secrets={"aircall": (TOKEN,)})
USERS = [{"id": 120 + index, "name": name} for index, name in enumerate(("Ana", "Ben", "Chloe"))]
# [WEBHOOK-EVENTS] the documented call.created sample, made inbound to our line.
CREATED: dict[str, Any] = {
    "id": 123,
    "direct_link": "https://api.aircall.io/v1/calls/123",
    "direction": "inbound",
    "call_uuid": "CAed058bba60a84d62c77cee898a852b05",
    "status": "initial",
    "missed_call_reason": None,
    "started_at": STARTED,
    "answered_at": None,
    "ended_at": None,
    "duration": 0,
    "cost": "0",
    "hangup_cause": None,
    "voicemail": None,
    "recording": None,
    "raw_digits": "+1 800-123-4567",
    "participants": [{"phone_number": "+1 800-123-4567", "type": "external"}],
    "user": {},
    "contact": {},
    "number": {"id": 456, "digits": "+1 201-555-0188", "e164_digits": "+12015550188"},
}
ANSWERED = CREATED | {"status": "answered", "answered_at": STARTED + 8, "user": USERS[1]}
ENDED = ANSWERED | {"status": "done", "ended_at": STARTED + 187, "duration": 187}
ANSWERED_EVENT = parse_event(
    {
        "source": "aircall",
        "call_id": "123",
        "status": "answered",
        "direction": "inbound",
        "started_at": STARTED,
        "duration_s": 187,
        "talk_s": 179,
        "caller": "+18001234567",
        "tracking_number": "+12015550188",
    },
    "US",
)


def _request(event: str, data: dict[str, Any]) -> WebhookRequest:
    envelope = {"resource": "call", "event": event, "timestamp": STARTED, "token": TOKEN}
    body = json.dumps(envelope | {"data": data}).encode()
    return WebhookRequest(
        method="POST",
        subpath="",
        query="",
        headers={"content-type": "application/json"},
        body=body,
        public_url="https://hooks.example.com/aircall",
        received_at=NOW,
    )


def _published(requests: list[WebhookRequest]) -> list[CallEvent]:
    """What reaches destinations: the first event per event id (the ledger drops the rest)."""
    return first_per_event_id(_verified_events(request) for request in requests)


def _verified_events(request: WebhookRequest) -> Sequence[CallEvent]:
    aircall.verify(request, [TOKEN])
    return aircall.parse(request, SETTINGS).events


def test_documented_call_created_sample_is_acknowledged() -> None:
    # [WEBHOOK-EVENTS]
    parsed = aircall.parse(_request("call.created", CREATED), SETTINGS)

    assert parsed.events == []
    assert parsed.note == "call.created is not a call outcome; waiting for call.ended"


def _ring_three_agents_one_answers() -> list[WebhookRequest]:
    return [
        _request("call.created", CREATED),
        *(_request("call.ringing_on_agent", CREATED | {"user": user}) for user in USERS),
        _request("call.answered", ANSWERED),
        _request("call.hungup", ENDED),
        _request("call.ended", ENDED),
    ]


def test_ringing_three_agents_one_answering_is_one_answered_call() -> None:
    # [WEBHOOK-EVENTS]: every event carries the same call id; call.ended is the outcome.
    assert _published(_ring_three_agents_one_answers()) == [ANSWERED_EVENT]


@pytest.mark.parametrize("seed", range(12))
def test_events_in_any_order_still_publish_one_answered_call(seed: int) -> None:
    # [WEBHOOK-EVENTS]: delivery is at least once and unordered; a repeat is the same event.
    requests = _ring_three_agents_one_answers()
    orders = list(permutations(range(len(requests))))
    order = orders[(seed * 7919) % len(orders)]
    repeated = [requests[index] for index in order] + [requests[-1]]

    assert _published(repeated) == [ANSWERED_EVENT]


def test_transferred_call_keeps_its_id_and_is_one_answered_call() -> None:
    # [API-CALL] transfered_by / transfered_to on the same call; [WEBHOOK-EVENTS]
    # call.transferred.
    transferred = ANSWERED | {
        "user": USERS[2],
        "transfered_by": USERS[1],
        "transfered_to": USERS[2],
    }
    ended = ENDED | {"user": USERS[2], "transfered_by": USERS[1], "transfered_to": USERS[2]}

    published = _published(
        [
            _request("call.created", CREATED),
            _request("call.answered", ANSWERED),
            _request("call.transferred", transferred),
            _request("call.ringing_on_agent", transferred),
            _request("call.hungup", ended),
            _request("call.ended", ended),
        ]
    )

    assert published == [ANSWERED_EVENT]


@pytest.mark.parametrize(
    "reason",
    [
        "out_of_opening_hours",
        "short_abandoned",
        "abandoned_in_ivr",
        "abandoned_in_classic",
        "no_available_agent",
        "agents_did_not_answer",
    ],
)
def test_every_missed_call_reason_is_a_missed_call_without_talk_time(reason: str) -> None:
    # [API-CALL] missed_call_reason values; answered_at stays null.
    ended = CREATED | {
        "status": "done",
        "ended_at": STARTED + 20,
        "duration": 20,
        "missed_call_reason": reason,
    }

    published = _published([_request("call.hungup", ended), _request("call.ended", ended)])

    assert published == [
        parse_event(
            {**ANSWERED_EVENT.model_dump(exclude={"event_id", "talk_s"}), "status": "missed"}
            | {"duration_s": 20},
            "US",
        )
    ]


def test_ivr_answering_then_the_caller_hanging_up_is_missed_even_with_answered_at() -> None:
    # [API-CALL]: a missed_call_reason says nobody talked, whatever answered the line.
    ended = ENDED | {"user": None, "missed_call_reason": "abandoned_in_ivr"}

    (event,) = _published([_request("call.ended", ended)])

    assert (event.status, event.talk_s) == ("missed", None)


def test_voicemail_left_is_a_voicemail_call() -> None:
    # [API-CALL] voicemail: "Only present if a voicemail was left".
    left = CREATED | {
        "status": "done",
        "ended_at": STARTED + 58,
        "duration": 58,
        "voicemail": "https://example.com/voicemail.mp3",
    }

    published = _published(
        [
            _request("call.created", CREATED),
            _request("call.voicemail_left", left),
            _request("call.ended", left),
        ]
    )

    assert [(event.status, event.duration_s, event.talk_s) for event in published] == [
        ("voicemail", 58, None)
    ]


def test_outbound_call_keeps_the_customer_as_caller_and_our_line_as_tracking_number() -> None:
    # [API-CALL] raw_digits is the callee on an outbound call; [WEBHOOK-EVENTS] the documented
    # call.created sample is outbound.
    ended = ENDED | {"direction": "outbound"}

    (event,) = _published([_request("call.ended", ended)])

    assert (event.direction, event.caller, event.tracking_number) == (
        "outbound",
        "+18001234567",
        "+12015550188",
    )


def test_anonymous_caller_still_counts_without_a_number() -> None:
    # [API-CALL] raw_digits is `anonymous` for a withheld number.
    (event,) = _published([_request("call.ended", ENDED | {"raw_digits": "anonymous"})])

    assert (event.status, event.caller) == ("answered", None)


def test_recording_url_travels_only_as_its_presence() -> None:
    # [API-CALL] recording: the live recording URL, when the number records.
    recorded = ENDED | {"recording": "https://example.com/recording.mp3?sig=1"}

    (with_url,) = _published([_request("call.ended", recorded)])
    (without,) = _published([_request("call.ended", ENDED)])

    assert (with_url.recording_available, without.recording_available) == (True, None)
    assert "example.com" not in with_url.model_dump_json()
