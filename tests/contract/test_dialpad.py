"""Dialpad call events, as Dialpad documents and public receivers observe them: one event per call.

Sources (each test names the ones it relies on):
- [events] https://developers.dialpad.com/docs/event-subscriptions — events are a JWT signed
  with the subscription's secret; the claims are the event JSON.
- [call-events] https://developers.dialpad.com/docs/call-events — one payload per state
  transition, and "there can be many calls that are created to service the end-to-end call flow".
- [spec] dialpad/dialpad-python-sdk, dialpad_api_spec.json — `schemas.call.CallProto` (call_id,
  entry_point_call_id, entry_point_target "where a call initially dialed for inbound calls",
  operator_call_id, proxy_target "caller ID used by the Dialpad user for outbound calls",
  date_* in ms, external_number, internal_number, was_recorded) and
  `schemas.call_event_subscription.CreateCallEventSubscription.call_states` (hangup, missed,
  voicemail, voicemail_uploaded, ringing, connected, …).
- [operators] https://help.dialpad.com/hc/en-us/articles/210456583-Working-as-an-Operator- —
  all operators ring at once; the one who answers has the call, the others log it as missed.
- [observed] public receivers built on live payloads: alext8900/dialpad-zendesk-bridge
  docs/ARCHITECTURE.md (operator legs name the call center's call as entry_point_call_id; the
  call center's call names the answering operator's call in operator_call_id; answered means
  date_connected plus operator_call_id or a user target) and GunnerRoofing/hubspot-dialpad
  CLAUDE.md (the entry-point leg's target is the call center; all simultaneous ring legs share
  entry_point_call_id; without a secret the body is plain JSON).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.errors import BadSignature
from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import dialpad
from shared.sources.base import WebhookRequest
from tests.contract.ledger import first_per_event_id
from tools.scenarios import dialpad as scenarios
from tools.scenarios.common import SECRETS, Sample

STARTED = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
NOW = STARTED + timedelta(minutes=5)
SETTINGS = Settings()


def _requests(name: str) -> list[Sample]:
    build, _ = scenarios.SCENARIOS[name]
    return build(STARTED, "https://hooks.example.com", NOW)


def _expected(name: str) -> list[CallEvent]:
    _, events = scenarios.SCENARIOS[name]
    return [parse_event({"source": "dialpad", **fields}, "US") for fields in events(STARTED)]


def _published(requests: Iterable[Sample]) -> list[CallEvent]:
    """What reaches destinations: each request verified and parsed, the first event per id."""
    return first_per_event_id(_verified_events(sample.request(NOW)) for sample in requests)


def _verified_events(request: WebhookRequest) -> Sequence[CallEvent]:
    dialpad.verify(request, [SECRETS["dialpad"]])
    return dialpad.parse(request, SETTINGS).events


def _claims(sample: Sample) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(sample.body, SECRETS["dialpad"], algorithms=["HS256"])
    return claims


# [call-events] states per transition; [spec] field names; [operators] one call, many rings.
@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_each_scenario_publishes_exactly_its_one_outcome_in_arrival_order(name: str) -> None:
    assert _published(_requests(name)) == _expected(name)


# [operators] + [observed]: the three operator legs and the call center's own call end in any
# order; only the call center's call (the customer's) decides, so every order agrees.
def test_call_center_call_answered_by_the_second_operator_is_one_answered_call_in_any_order() -> (
    None
):
    requests = _requests("multi-leg")
    endings = [sample for sample in requests if _claims(sample)["state"] in ("hangup", "missed")]
    before = [sample for sample in requests if sample not in endings]
    expected = _expected("multi-leg")

    for order in itertools.permutations(endings):
        assert _published([*before, *order]) == expected


# [operators]: nobody answers; every leg ends, in any order, as one missed call.
def test_call_center_call_nobody_answers_is_one_missed_call_in_any_order() -> None:
    requests = _requests("call-center-missed")
    endings = [sample for sample in requests if _claims(sample)["state"] in ("hangup", "missed")]
    before = [sample for sample in requests if sample not in endings]

    for order in itertools.permutations(endings):
        assert _published([*before, *order]) == _expected("call-center-missed")


# [observed]: an agent who answered is an operator leg; alone (a subscription scoped to the
# agent) it publishes nothing rather than a second call under its own id.
def test_answered_operator_leg_alone_publishes_nothing() -> None:
    legs = [s for s in _requests("multi-leg") if _claims(s).get("entry_point_call_id")]

    assert legs
    assert _published(legs) == []


# [spec] call_states voicemail / voicemail_uploaded; [observed] voicemail_link on the event.
# However the voicemail's states and its hangup arrive, the call is one voicemail.
def test_voicemail_call_is_voicemail_in_any_order() -> None:
    requests = _requests("voicemail")

    for order in itertools.permutations(requests[1:]):
        published = _published([requests[0], *order])
        assert [(e.call_id, e.status, e.caller, e.tracking_number) for e in published] == [
            (str(scenarios.DIRECT_CALL), "voicemail", "+12015550123", "+12015550188")
        ]


# [observed]: a main line's IVR connects the call; nobody took it, so it is missed.
def test_call_that_only_reached_the_ivr_is_missed() -> None:
    (event,) = _published(_requests("ivr-hangup"))

    assert (event.status, event.talk_s, event.duration_s) == ("missed", None, 20)


# [spec]: for outbound calls external_number is still the customer and proxy_target is the
# caller id the agent used.
def test_outbound_call_keeps_the_customer_as_caller_and_our_caller_id_as_tracking_number() -> None:
    hangup = _claims(_requests("answered")[-1])
    hangup.update(
        direction="outbound",
        external_number="+12015550177",
        internal_number="blocked",
        proxy_target={"type": "office", "phone": "+12015550199"},
    )
    body = jwt.encode(hangup, SECRETS["dialpad"], algorithm="HS256").encode()

    (event,) = _published([_requests("answered")[-1].with_body(body)])

    assert (event.direction, event.caller, event.tracking_number, event.status) == (
        "outbound",
        "+12015550177",
        "+12015550199",
        "answered",
    )


# [events]: every request is a compact JWT signed HS256 with the secret; the label public
# receivers parse it under (application/jwt) is one we accept.
def test_every_scenario_request_is_a_signed_jwt_we_accept() -> None:
    for name in scenarios.SCENARIOS:
        for sample in _requests(name):
            assert sample.headers["Content-Type"] in dialpad.CONTENT_TYPES
            dialpad.verify(sample.request(NOW), [SECRETS["dialpad"]])


# [observed] GunnerRoofing/hubspot-dialpad: without a secret Dialpad posts plain JSON. A source
# without a secret is never open, so such a webhook is refused rather than trusted.
def test_unsigned_plain_json_event_is_refused() -> None:
    claims = _claims(_requests("answered")[-1])
    unsigned = _requests("answered")[-1].with_body(json.dumps(claims).encode())

    with pytest.raises(BadSignature):
        dialpad.verify(unsigned.request(NOW), [SECRETS["dialpad"]])


# [spec] entry_point_call_id is "Call ID of the associated entry point call": a call that names
# itself is its own entry point, a direct call like one that names none.
def test_call_naming_itself_as_entry_point_is_the_customers_call() -> None:
    hangup = _claims(_requests("answered")[-1])
    hangup["entry_point_call_id"] = hangup["call_id"]
    body = jwt.encode(hangup, SECRETS["dialpad"], algorithm="HS256").encode()

    assert _published([_requests("answered")[-1].with_body(body)]) == _expected("answered")
