"""RingCentral's documented telephony-session semantics, notification by notification.

Sources:
- [GUIDE] ringcentral/ringcentral-api-docs `docs/voice/telephony-session-notifications.md`
  (developers.ringcentral.com/guide/voice/telephony-session-notifications): status codes per
  party direction; an Inbound party is `Answered` "when the call is answered on a target
  endpoint and media is established"; an Outbound party's `Answered` means a destination
  (company, user, call queue) was reached; `Gone`: the party transferred the call; sequence
  numbers may arrive out of order.
- [TRACE-IN], [TRACE-OUT], [TRACE-RC]: the example flows that guide links, dibyenduroy/csn-data
  `PSTN-RingCentral-DataStreams.txt`, `RingCentral-PSTN.txt`, `RingCentral-RingCentral.txt`
  (account-level subscription, one party per notification; reproduced below, fields kept).
- [FILTER] ringcentral-api-docs `docs/notifications/event-filters/account-telephony-sessions.md`
  and ringcentral/ringcentral-extensible `packages/core/src/definitions/
  TelephonySessionsEventPartyInfo.ts`, `CallStatusInfo.ts`, `RecordingInfo.ts`: party fields
  `extensionId`, `queueCall`, `missedCall`, `recordings`; codes `VoiceMail`, `Gone`, ….
- [SAMPLE] ringcentral-api-docs `code-samples/voice/telephony-session-event.json`.
Multi-party flows without a published trace (queue, voicemail, transfer) are the scenarios of
tools/scenarios/ringcentral.py, built from the fields and codes above.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import ringcentral
from shared.sources.base import Parsed
from tests.contract.ledger import first_per_event_id
from tools.scenarios import build_requests, expected_events
from tools.scenarios.common import SECRETS, Sample
from tools.scenarios.ringcentral import multi_leg

STARTED = datetime(2024, 11, 5, 14, 18, 12, tzinfo=UTC)
NOW = STARTED + timedelta(minutes=4)
SETTINGS = Settings(webhook_secrets={"ringcentral": (SECRETS["ringcentral"],)})
HEADERS = {"Content-Type": "application/json", "Verification-Token": SECRETS["ringcentral"]}


def _post(document: dict[str, Any]) -> Sample:
    return Sample("ringcentral", "POST", "/ringcentral", "", json.dumps(document).encode(), HEADERS)


def _parse(sample: Sample) -> Parsed:
    request = sample.request(NOW)
    ringcentral.verify(request, [SECRETS["ringcentral"]])
    return ringcentral.parse(request, SETTINGS)


def _published(samples: list[Sample]) -> list[CallEvent]:
    """What reaches the destinations: the first event per event id (the ledger drops the rest)."""
    return first_per_event_id(_parse(sample).events for sample in samples)


def _event(**fields: Any) -> CallEvent:
    return parse_event({"source": "ringcentral", **fields}, "US")


# [TRACE-IN] PSTN → IVR menu → user 809646016 (who owns the account-level subscription).
_IN_SESSION = "s-718107795d564867a6f635fd81e89940"
_IN_CALLER = {"phoneNumber": "+14083388064"}
_IN_CALLER_NAMED = {"phoneNumber": "+14083388064", "name": "DIBYENDU ROY"}
_IVR_TO = {"phoneNumber": "+18003151571", "name": "IVR Menu 1001", "extensionId": "62242421016"}
_USER_TO = {"phoneNumber": "+18003151571", "name": "TESTER Babji", "extensionId": "809646016"}


def _trace_in(sequence: int, time: str, party: dict[str, Any]) -> Sample:
    extension = party.get("extensionId")
    scope = f"/extension/{extension}" if extension else ""
    return _post(
        {
            "uuid": f"46547933293597247{sequence:02d}",
            "event": f"/restapi/v1.0/account/809646016{scope}/telephony/sessions",
            "timestamp": time,
            "subscriptionId": "2461434a-276a-4073-bd26-34089effbad5",
            "ownerId": "809646016",
            "body": {
                "sequence": sequence,
                "sessionId": "429180487016",
                "telephonySessionId": _IN_SESSION,
                "serverId": "10.13.22.27.TAM",
                "eventTime": time,
                "parties": [party],
                "origin": {"type": "Call"},
            },
        }
    )


def _party(
    number: int,
    direction: str,
    frm: dict[str, Any],
    to: dict[str, Any],
    code: str,
    extension: str | None = None,
    session: str = _IN_SESSION,
) -> dict[str, Any]:
    party: dict[str, Any] = {
        "accountId": "809646016",
        "id": f"p-{session[2:]}-{number}",
        "direction": direction,
        "to": to,
        "from": frm,
        "status": {"code": code, "rcc": False},
        "park": {},
        "missedCall": False,
        "standAlone": False,
        "muted": False,
    }
    return {**party, "extensionId": extension} if extension else party


TRACE_IN = [
    _trace_in(
        2,
        "2020-06-23T01:05:43.940Z",
        _party(1, "Outbound", _IN_CALLER, {"phoneNumber": "+18003151571"}, "Setup"),
    ),
    _trace_in(
        3,
        "2020-06-23T01:05:43.964Z",
        _party(2, "Inbound", _IN_CALLER, _IVR_TO, "Setup", "62242421016"),
    ),
    _trace_in(
        4, "2020-06-23T01:05:44.083Z", _party(1, "Outbound", _IN_CALLER, _IVR_TO, "Answered")
    ),
    _trace_in(
        5,
        "2020-06-23T01:05:52.627Z",
        _party(2, "Inbound", _IN_CALLER, _IVR_TO, "Disconnected", "62242421016"),
    ),
    _trace_in(
        6,
        "2020-06-23T01:05:52.627Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Setup", "809646016"),
    ),
    _trace_in(
        7,
        "2020-06-23T01:05:52.656Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Proceeding", "809646016"),
    ),
    _trace_in(
        8,
        "2020-06-23T01:06:00.001Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Answered", "809646016"),
    ),
    _trace_in(
        9,
        "2020-06-23T01:06:04.601Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Hold", "809646016"),
    ),
    _trace_in(
        10,
        "2020-06-23T01:06:06.994Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Answered", "809646016"),
    ),
    _trace_in(
        11,
        "2020-06-23T01:06:14.808Z",
        _party(3, "Inbound", _IN_CALLER_NAMED, _USER_TO, "Disconnected", "809646016"),
    ),
    _trace_in(
        12,
        "2020-06-23T01:06:14.812Z",
        _party(1, "Outbound", _IN_CALLER_NAMED, _IVR_TO, "Disconnected"),
    ),
]
ANSWERED_IN = _event(
    call_id=_IN_SESSION,
    status="answered",
    direction="inbound",
    started_at=datetime(2020, 6, 23, 1, 6, 0, 1000, tzinfo=UTC),
    caller="+14083388064",
    tracking_number="+18003151571",
)


def test_published_inbound_trace_through_an_ivr_is_one_answered_call_from_the_customer() -> None:
    # [TRACE-IN]: the PSTN party comes first and has no extensionId; its Answered (seq 4) is
    # the IVR picking up; the user's Inbound party answering (seq 8) is the person talking.
    assert _published(TRACE_IN) == [ANSWERED_IN]


def test_ivr_reached_and_ivr_left_are_not_outcomes() -> None:
    # [GUIDE]: an Outbound party's Answered = a destination reached; the IVR party leaves
    # (Disconnected) when it routes the call on.
    assert [_parse(sample).events for sample in TRACE_IN[:6]] == [[]] * 6


def test_inbound_trace_in_every_order_of_its_routing_notifications_is_answered() -> None:
    # [GUIDE] FAQ: later sequence numbers may arrive first. The routing notifications before
    # the answer can come in any order; the answer and the end keep theirs (seconds apart).
    for routing in permutations(TRACE_IN[:6]):
        assert _published([*routing, *TRACE_IN[6:]]) == [ANSWERED_IN]


def test_user_leaving_and_customer_hanging_up_in_either_order_keep_the_answer() -> None:
    ending = TRACE_IN[9:]
    assert _published([*TRACE_IN[:9], *reversed(ending)]) == [ANSWERED_IN]


# [TRACE-OUT] user 809646016 dials +14083388064 from +18003151571.
_OUT_SESSION = "s-2d9b3c1f8e4a4b6f9c0d7e5a3b1c9f2e"  # the trace's party ids, our session id
_OUT_USER_FROM = {
    "phoneNumber": "+18003151571",
    "extensionId": "809646016",
    "deviceId": "210074565016",
}
_OUT_PSTN_FROM = {"phoneNumber": "+18003151571", "name": "TESTER Babji", "extensionId": "809646016"}
_OUT_CUSTOMER = {"phoneNumber": "+14083388064"}


def _trace_out(sequence: int, time: str, party: dict[str, Any]) -> Sample:
    document = json.loads(_trace_in(sequence, time, party).body)
    document["body"]["telephonySessionId"] = _OUT_SESSION
    return _post(document)


TRACE_OUT = [
    _trace_out(
        2,
        "2020-06-23T01:19:21.627Z",
        _party(1, "Outbound", _OUT_USER_FROM, _OUT_CUSTOMER, "Setup", "809646016", _OUT_SESSION),
    ),
    _trace_out(
        3,
        "2020-06-23T01:19:21.663Z",
        _party(2, "Inbound", _OUT_PSTN_FROM, _OUT_CUSTOMER, "Proceeding", None, _OUT_SESSION),
    ),
    _trace_out(
        4,
        "2020-06-23T01:19:25.166Z",
        _party(
            1, "Outbound", _OUT_USER_FROM, _OUT_CUSTOMER, "Proceeding", "809646016", _OUT_SESSION
        ),
    ),
    _trace_out(
        5,
        "2020-06-23T01:19:28.872Z",
        _party(2, "Inbound", _OUT_PSTN_FROM, _OUT_CUSTOMER, "Answered", None, _OUT_SESSION),
    ),
    _trace_out(
        6,
        "2020-06-23T01:19:28.900Z",
        _party(1, "Outbound", _OUT_USER_FROM, _OUT_CUSTOMER, "Answered", "809646016", _OUT_SESSION),
    ),
    _trace_out(
        9,
        "2020-06-23T01:19:45.018Z",
        _party(
            1, "Outbound", _OUT_USER_FROM, _OUT_CUSTOMER, "Disconnected", "809646016", _OUT_SESSION
        ),
    ),
    _trace_out(
        10,
        "2020-06-23T01:19:45.032Z",
        _party(2, "Inbound", _OUT_PSTN_FROM, _OUT_CUSTOMER, "Disconnected", None, _OUT_SESSION),
    ),
]


def test_published_outbound_trace_is_one_answered_outbound_call_to_the_customer() -> None:
    # [TRACE-OUT]: the customer's PSTN party is Inbound (RingCentral called it) and answers
    # first; the user's Outbound party answers 28 ms later: the same outcome either way.
    expected = _event(
        call_id=_OUT_SESSION,
        status="answered",
        direction="outbound",
        started_at=datetime(2020, 6, 23, 1, 19, 28, 872000, tzinfo=UTC),
        caller="+14083388064",
        tracking_number="+18003151571",
    )
    assert _published(TRACE_OUT) == [expected]
    assert [event.status for event in _parse(TRACE_OUT[4]).events] == ["answered"]


def test_published_extension_to_extension_trace_publishes_nothing() -> None:
    # [TRACE-RC]: both parties are extensions (the caller's end has an extensionId).
    caller = {"phoneNumber": "11104", "name": "Message Dispatcher", "extensionId": "979428016"}
    callee = {"phoneNumber": "11101", "name": "TESTER Babji", "extensionId": "809646016"}
    codes = ("Setup", "Proceeding", "Answered", "Disconnected")
    samples = [
        _trace_in(
            3 + index,
            f"2020-06-23T01:28:0{index}.000Z",
            _party(2, "Inbound", caller, callee, code, "809646016"),
        )
        for index, code in enumerate(codes)
    ]
    parsed = [_parse(sample) for sample in samples]
    assert [(p.events, p.note) for p in parsed] == [([], "internal call between extensions")] * 4


def test_documented_sample_notification_in_setup_is_acknowledged() -> None:
    # [SAMPLE], verbatim fields.
    document = {
        "uuid": "1823485288313944239",
        "event": "/restapi/v1.0/account/809646016/extension/809646016/telephony/sessions",
        "timestamp": "2020-06-14T19:27:18.390Z",
        "subscriptionId": "53300e7c-5e69-42bf-ab4d-179aabc6e869",
        "ownerId": "809646016",
        "body": {
            "sequence": 3,
            "sessionId": "425008160016",
            "telephonySessionId": "s-a6abd24ca6774373a8120a3390d3cbe8",
            "serverId": "10.13.22.28.TAM",
            "eventTime": "2020-06-14T19:27:18.340Z",
            "parties": [
                {
                    "accountId": "809646016",
                    "extensionId": "809646016",
                    "id": "p-a6abd24ca6774373a8120a3390d3cbe8-2",
                    "direction": "Inbound",
                    "to": {
                        "phoneNumber": "+19043014558",
                        "name": "TESTER Babji",
                        "extensionId": "809646016",
                    },
                    "from": {"phoneNumber": "+14083388064"},
                    "status": {"code": "Setup", "rcc": False},
                    "park": {},
                    "missedCall": False,
                    "standAlone": False,
                    "muted": False,
                }
            ],
            "origin": {"type": "Call"},
        },
    }
    parsed = _parse(_post(document))
    assert (parsed.events, parsed.note) == ([], "party status Setup does not settle the call")


def _scenario(name: str) -> list[Sample]:
    return build_requests("ringcentral", name, STARTED)


def _expected(name: str) -> list[CallEvent]:
    return expected_events("ringcentral", name, STARTED)


def test_queue_call_answered_by_one_of_three_agents_in_any_order_is_answered() -> None:
    # [GUIDE]: the queue party leaves (Disconnected) once an agent accepts; the agents not
    # taking it leave too, `queueCall` [FILTER] marks them. Around the answer, any order.
    samples = multi_leg(STARTED)
    before, around, after = samples[:8], samples[8:12], samples[12:]
    for order in permutations(around):
        assert _published([*before, *order, *after]) == _expected("multi-leg")
    assert _expected("multi-leg") == [
        _event(
            call_id="s-d3a0e8f6b5c47d9ec0bf0b9c8d7e6f5a",
            status="answered",
            started_at=STARTED + timedelta(seconds=16),
            caller="+12015550123",
            tracking_number="+12015550188",
        )
    ]


def test_ringing_agents_who_miss_a_queue_call_publish_nothing() -> None:
    missed_ring = multi_leg(STARTED)[9]
    assert _parse(missed_ring).events == []


def test_caller_hanging_up_in_the_ivr_publishes_nothing_in_either_order() -> None:
    # The customer's party leaving does not say whether anyone talked, and an earlier
    # "answered" may still be in delivery (Pub/Sub keeps no order): it publishes nothing.
    samples = _scenario("ivr-hangup")
    assert _published(samples) == []
    assert _published([*samples[:3], samples[4], samples[3]]) == []


def test_voicemail_is_reported_by_the_missed_disconnect_not_by_the_voicemail_state() -> None:
    # [FILTER]: `VoiceMail` is a status code; the reason enum is another field. The party's
    # `VoiceMail` state and its later `missedCall` disconnect would be two different outcomes
    # for one call in a race: only the disconnect publishes, so the call is one missed call.
    samples = _scenario("voicemail")
    assert [event.status for event in _parse(samples[2]).events] == []
    assert _published(samples) == _expected("voicemail")
    assert [event.status for event in _published(samples)] == ["missed"]


def test_direct_call_nobody_answers_is_missed() -> None:
    assert _published(_scenario("missed")) == [
        _event(
            call_id="s-b1e8c6d4f3a25b7cae9d8f7a6b5c4d3e",
            status="missed",
            started_at=STARTED + timedelta(seconds=31),
            caller="+12015550123",
            tracking_number="+12015550188",
        )
    ]


def test_transfer_gone_party_and_consultation_leg_keep_one_answered_call() -> None:
    # [GUIDE]: `Gone` = the party transferred the call; the consultation call between the two
    # agents is a session of extensions only.
    samples = _scenario("transfer")
    gone = next(s for s in samples if b'"Gone"' in s.body)
    assert _parse(gone).events == []
    assert _published(samples) == _expected("transfer")
    assert [event.status for event in _expected("transfer")] == ["answered"]


def test_answered_direct_call_publishes_answered_at_pickup_and_at_the_owners_hangup() -> None:
    samples = _scenario("answered")
    statuses = [[event.status for event in _parse(sample).events] for sample in samples]
    assert statuses == [[], [], ["answered"], ["answered"]]


def test_party_recordings_mean_a_recording_is_available() -> None:
    # [FILTER] RecordingInfo: recording ids only; the recording itself never travels.
    sample = multi_leg(STARTED)[8]
    document = json.loads(sample.body)
    document["body"]["parties"][0]["recordings"] = [{"id": "2034509012", "active": True}]
    (event,) = _parse(sample.with_body(json.dumps(document).encode())).events
    assert (event.status, event.recording_available) == ("answered", True)
