"""Ringostat's documented webhook semantics, request by request and call by call.

Sources (help.ringostat.com):
- [HOWTO] "How to realise the Ringostat integration using Webhooks" (article 6313229): the
  incoming-call moments (before, after, rating menu, pick-up, forwarding step), user-named
  parameters, and "no resend unless 200 OK".
- [INCOMING] "Webhooks. Incoming call event" (article 6559993): "Callback is considered an
  incoming call".
- [STATUSES] "Call log. Description of call statuses" (article 6413217): Answered (non-target),
  No answer, Busy, Failed, Voicemail, Proper (a target call), Repeat call (after the first
  target call within the sale cycle).
- [CALLS-LIST] "Ringostat API: export of the call log" (article 6312678, api.ringostat.net/
  calls/list): the call log's field names uniqueid, calldate, caller, dst, disposition,
  duration, billsec, call_type, recording, utm_*.
The parameter names are those docs/platforms/ringostat.md asks the user to configure; the
bodies are the scenarios' (tools/scenarios/ringostat.py), built from the sources above.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import permutations
from zoneinfo import ZoneInfo

import pytest

from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import ringostat
from shared.sources.base import Parsed
from tests.contract.ledger import first_per_event_id
from tools.scenarios import build_requests, expected_events
from tools.scenarios.common import SECRETS, TIMEZONES, Sample

STARTED = datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)
NOW = STARTED + timedelta(minutes=4)
SETTINGS = Settings(
    webhook_secrets={name: (secret,) for name, secret in SECRETS.items()},
    source_timezones={name: ZoneInfo(zone) for name, zone in TIMEZONES.items()},
)


def _parse(sample: Sample) -> Parsed:
    return ringostat.parse(sample.request(NOW), SETTINGS)


def _published(samples: list[Sample]) -> list[CallEvent]:
    """What reaches the destinations: the first event per event id (the ledger drops the rest)."""
    return first_per_event_id(_parse(sample).events for sample in samples)


def _scenario(name: str) -> list[Sample]:
    return build_requests("ringostat", name, STARTED)


def _with(sample: Sample, **changes: object) -> Sample:
    document = {**json.loads(sample.body), **changes}
    return sample.with_body(json.dumps(document).encode())


@pytest.mark.parametrize(
    "scenario",
    ["answered", "missed", "voicemail", "multi-leg", "callback", "outbound", "repeat-call"],
)
def test_each_scenario_publishes_exactly_its_expected_events(scenario: str) -> None:
    assert _published(_scenario(scenario)) == expected_events("ringostat", scenario, STARTED)


def test_webhooks_without_an_outcome_are_acknowledged_with_200() -> None:
    # [HOWTO]: before-call and forwarding-step webhooks carry no outcome; Ringostat marks
    # anything but 200 as an error and never resends.
    before_call, *forwarding_steps, _after = _scenario("multi-leg")

    for sample in (before_call, *forwarding_steps):
        parsed = _parse(sample)
        assert (parsed.events, parsed.status) == ([], 200)


def test_after_call_webhook_is_one_event_answered_with_200() -> None:
    # [HOWTO] + [CALLS-LIST]: the after-call webhook is the call log's row.
    parsed = _parse(_scenario("answered")[-1])

    assert parsed.status == 200
    assert parsed.events == [
        parse_event(
            {
                "source": "ringostat",
                "call_id": "1730816292.48213",
                "status": "answered",
                "direction": "inbound",
                "started_at": "2024-11-05T14:18:12Z",
                "duration_s": 112,
                "talk_s": 96,
                "caller": "+442079460123",
                "tracking_number": "+442079460001",
                "client_id": "1498823377.1730810044",
                "utm_source": "facebook",
                "utm_medium": "paid_social",
                "utm_campaign": "nov_leads",
                "recording_available": True,
                "custom": {"call_type": "in"},
            },
            "US",
        )
    ]


def test_callback_is_the_customers_incoming_call() -> None:
    # [INCOMING]: "Callback is considered an incoming call": the customer is `caller`.
    (event,) = _parse(_scenario("callback")[-1]).events

    assert (event.direction, event.caller, event.tracking_number) == (
        "inbound",
        "+442079460123",
        "+442079460001",
    )


def test_outgoing_call_takes_the_customer_from_dst() -> None:
    (event,) = _parse(_scenario("outbound")[-1]).events

    assert (event.direction, event.caller, event.tracking_number) == (
        "outbound",
        "+442079460123",
        "+442079460001",
    )


def test_proper_call_is_answered_and_qualified() -> None:
    # [STATUSES]: "Proper — a target call"; it is computed from the talk length.
    (event,) = _parse(_scenario("multi-leg")[-1]).events

    assert (event.status, event.lead_status, event.first_call) == ("answered", "proper", None)


def test_repeat_call_is_not_a_first_call() -> None:
    # [STATUSES]: "Repeat call — repeated after the first target one within the sale cycle".
    (event,) = _parse(_scenario("repeat-call")[-1]).events

    assert (event.status, event.first_call, event.lead_status) == ("answered", False, None)


def test_repeat_call_without_talk_time_is_missed() -> None:
    # Whether a repeat call was talked through is not in its status: the talk time says.
    sample = _with(_scenario("repeat-call")[-1], billsec=0)

    (event,) = _parse(sample).events

    assert (event.status, event.first_call) == ("missed", False)


@pytest.mark.parametrize(
    ("disposition", "status"),
    [("NO ANSWER", "missed"), ("BUSY", "busy"), ("FAILED", "failed"), ("VOICEMAIL", "voicemail")],
)
def test_documented_unanswered_statuses_are_not_answered(disposition: str, status: str) -> None:
    # [STATUSES]: No answer, Busy, Failed, Voicemail.
    sample = _with(_scenario("answered")[-1], disposition=disposition, billsec=0)

    (event,) = _parse(sample).events

    assert (event.status, event.talk_s) == (status, 0)


@pytest.mark.parametrize(
    "value", ["1732871234", "GS1.1.1732871234.3.1.1732871290.0.0.0", "GS2.1.s1732871234$o3$g1$t9"]
)
def test_a_ga4_session_tracking_entity_becomes_the_session_id(value: str) -> None:
    # Tracking entities (help.ringostat.com/en/articles/6519131-tracking-entities) carry any
    # page variable into the webhook under the name the user gives it; ours: ga_session_id.
    sample = _with(_scenario("answered")[-1], ga_session_id=value)

    (event,) = _parse(sample).events

    assert event.session_id == "1732871234"


def test_empty_recording_parameter_means_no_recording() -> None:
    (event,) = _parse(_scenario("missed")[-1]).events

    assert event.recording_available is False


def test_without_a_recording_parameter_nothing_is_said_about_it() -> None:
    document = json.loads(_scenario("answered")[-1].body)
    del document["recording"]
    sample = _scenario("answered")[-1].with_body(json.dumps(document).encode())

    (event,) = _parse(sample).events

    assert event.recording_available is None


@pytest.mark.parametrize("order", list(permutations(range(5))))
def test_multi_leg_call_publishes_its_one_outcome_in_any_arrival_order(
    order: tuple[int, ...],
) -> None:
    # Before-call, three forwarding steps and the after-call webhook, however they arrive.
    samples = _scenario("multi-leg")
    arrived = [samples[index] for index in order]

    assert _published(arrived) == expected_events("ringostat", "multi-leg", STARTED)
