"""aircall: the requests a real call sends, per scenario, and the call events they must give.

Aircall sends every event of a call (call.created, call.ringing_on_agent for each user rung,
call.answered, call.transferred, call.hungup, call.ended…) with the same Call object and `id`;
call.ended, about 30 s after hang-up, is the one with the final duration and the one we send.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "aircall"
CALL_ID = "1947310234"
_USERS = (
    {"id": 4411, "name": "Ana Ortiz", "email": "ana@example.com"},
    {"id": 4412, "name": "Ben Cole", "email": "ben@example.com"},
    {"id": 4413, "name": "Chloe Ng", "email": "chloe@example.com"},
)


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def call_body(started: datetime, sent: datetime, event: str, **data: Any) -> dict[str, Any]:
    """An Aircall webhook envelope for the demo call: `event`, with some call fields changed."""
    envelope: dict[str, Any] = json.loads(
        template(
            "aircall_call.json",
            sent_unix=_unix(sent),
            token=SECRETS[NAME],
            start_unix=_unix(started),
        )
    )
    envelope["event"] = event
    envelope["data"] = {**envelope["data"], **data}
    return envelope


def posted(body: dict[str, Any]) -> Sample:
    """The request Aircall makes for one event (its token is in the body, nothing is signed)."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    return Sample(NAME, "POST", "/aircall", "", raw, {"Content-Type": "application/json"})


def _sequence(
    started: datetime, sent: datetime, steps: list[tuple[str, int, dict[str, Any]]]
) -> list[Sample]:
    # steps: (event, seconds after the call started, call fields at that point)
    return [
        posted(call_body(started, sent + timedelta(seconds=at), event, **data))
        for event, at, data in steps
    ]


def _answered_steps(started: datetime) -> list[tuple[str, int, dict[str, Any]]]:
    start = _unix(started)
    answered = {"status": "answered", "answered_at": start + 8, "user": _USERS[1]}
    ended = {
        **answered,
        "status": "done",
        "ended_at": start + 187,
        "duration": 187,
        "recording": "https://aircall-recordings.example.com/1947310234.mp3?Expires=3600",
    }
    return [
        ("call.created", 0, {"status": "initial"}),
        ("call.ringing_on_agent", 1, {"status": "initial", "user": _USERS[1]}),
        ("call.answered", 8, answered),
        ("call.hungup", 187, {**ended, "recording": None}),
        ("call.ended", 217, ended),
    ]


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return _sequence(started, sent, _answered_steps(started))


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": CALL_ID,
            "status": "answered",
            "started_at": started,
            "duration_s": 187,
            "talk_s": 179,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
            "recording_available": True,
        }
    ]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    start = _unix(started)
    over = {
        "status": "done",
        "ended_at": start + 31,
        "duration": 31,
        "missed_call_reason": "agents_did_not_answer",
    }
    return _sequence(
        started,
        sent,
        [
            ("call.created", 0, {"status": "initial"}),
            ("call.ringing_on_agent", 1, {"user": _USERS[0]}),
            ("call.agent_declined", 9, {"user": _USERS[0]}),
            ("call.hungup", 31, over),
            ("call.ended", 61, over),
        ],
    )


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": CALL_ID,
            "status": "missed",
            "started_at": started,
            "duration_s": 31,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
        }
    ]


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    start = _unix(started)
    left = {
        "status": "done",
        "ended_at": start + 58,
        "duration": 58,
        "voicemail": "https://aircall-voicemails.example.com/1947310234.mp3?Expires=3600",
    }
    return _sequence(
        started,
        sent,
        [
            ("call.created", 0, {"status": "initial"}),
            ("call.ringing_on_agent", 1, {"user": _USERS[2]}),
            ("call.hungup", 58, {"status": "done", "ended_at": start + 58, "duration": 58}),
            ("call.voicemail_left", 60, left),
            ("call.ended", 88, left),
        ],
    )


def _voicemail_events(started: datetime) -> list[dict[str, Any]]:
    return [{**_missed_events(started)[0], "status": "voicemail", "duration_s": 58}]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The number rings three users at once; the second one picks up.
    steps = _answered_steps(started)
    ringing = [("call.ringing_on_agent", 1, {"status": "initial", "user": user}) for user in _USERS]
    return _sequence(started, sent, [steps[0], *ringing, *steps[2:]])


def _transfer(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Ben answers and transfers to Chloe, who finishes the call: still one call id.
    start = _unix(started)
    steps = _answered_steps(started)
    transferred = {
        "status": "answered",
        "answered_at": start + 8,
        "user": _USERS[2],
        "transfered_by": _USERS[1],
        "transfered_to": _USERS[2],
    }
    ended = {**steps[-1][2], **transferred, "status": "done"}
    return _sequence(
        started,
        sent,
        [
            *steps[:3],
            ("call.transferred", 64, transferred),
            ("call.ringing_on_agent", 65, {**transferred, "user": _USERS[2]}),
            ("call.hungup", 187, {**ended, "recording": None}),
            ("call.ended", 217, ended),
        ],
    )


def _ivr_hangup(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The caller hears the IVR menu and hangs up before any user rings.
    start = _unix(started)
    over = {
        "status": "done",
        "ended_at": start + 14,
        "duration": 14,
        "missed_call_reason": "abandoned_in_ivr",
    }
    return _sequence(
        started,
        sent,
        [
            ("call.created", 0, {"status": "initial"}),
            ("call.hungup", 14, over),
            ("call.ended", 44, over),
        ],
    )


def _ivr_hangup_events(started: datetime) -> list[dict[str, Any]]:
    return [{**_missed_events(started)[0], "duration_s": 14}]


def _outbound(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Ben calls the customer back from the support line; raw_digits is still the customer.
    start = _unix(started)
    talked = {"direction": "outbound", "user": _USERS[1], "answered_at": start + 12}
    ended = {**talked, "status": "done", "ended_at": start + 95, "duration": 95}
    return _sequence(
        started,
        sent,
        [
            ("call.created", 0, {"direction": "outbound", "user": _USERS[1]}),
            ("call.answered", 12, {**talked, "status": "answered"}),
            ("call.hungup", 95, ended),
            ("call.ended", 125, ended),
        ],
    )


def _outbound_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            **_missed_events(started)[0],
            "status": "answered",
            "direction": "outbound",
            "duration_s": 95,
            "talk_s": 83,
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _voicemail_events),
    "multi-leg": (_multi_leg, _answered_events),
    "transfer": (_transfer, _answered_events),
    "ivr-hangup": (_ivr_hangup, _ivr_hangup_events),
    "outbound": (_outbound, _outbound_events),
}
