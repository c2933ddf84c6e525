"""dialpad: the requests a real call sends, per scenario, and the call events they must give.

Dialpad sends one event per state of every call it creates for the customer's call (see
docs/platforms/dialpad.md): a direct call is one Dialpad call, a call-center call is the
call center's call plus one operator call per agent rung.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import jwt

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "dialpad"

DIRECT_CALL = 6290382475853824
CENTER_CALL = 5066163829817344
OPERATOR_CALLS = (6192846130413568, 4638276812587008, 5764176719429632)
MAIN_LINE_CALL = 4520148193984512
CUSTOMER = "+12015550123"
AGENT_LINE = "+12015550188"
CENTER_LINE = "+12015550100"
MAIN_LINE = "+12015550199"
CENTER = {"id": 4849539296968704, "type": "callcenter", "name": "Sales", "phone": CENTER_LINE}
OFFICE = {"id": 5348024557502464, "type": "office", "name": "Main line", "phone": MAIN_LINE}
AGENTS = tuple(
    {"id": 5712081599245312 + n, "type": "user", "name": f"Agent {n}", "phone": f"+1201555014{n}"}
    for n in (1, 2, 3)
)
VOICEMAIL_LINK = "https://dialpad.com/r/voicemail/4983702847012864"


def _at(started: datetime, seconds: int) -> int:
    return (int(started.timestamp()) + seconds) * 1000


def _state(
    started: datetime, call_id: int, state: str, at_s: int, **changes: Any
) -> dict[str, Any]:
    """One call event's claims: the template with times as offsets from the call's start."""
    claims: dict[str, Any] = json.loads(
        template(
            "dialpad_call.json",
            call_id=call_id,
            state=state,
            start_ms=_at(started, changes.pop("started_s", 0)),
            event_ms=_at(started, at_s),
        )
    )
    for name in ("connected_s", "ended_s"):
        if name in changes:
            claims[f"date_{name.removesuffix('_s')}"] = _at(started, changes.pop(name))
    return {**claims, **changes}


def _signed(claims: dict[str, Any], sent: datetime) -> Sample:
    body = jwt.encode({**claims, "iat": int(sent.timestamp())}, SECRETS["dialpad"], "HS256")
    return Sample(
        "dialpad", "POST", "/dialpad", "", body.encode(), {"Content-Type": "application/jwt"}
    )


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    talk = {"connected_s": 8, "was_recorded": True}
    states = [
        _state(started, DIRECT_CALL, "ringing", 0),
        _state(started, DIRECT_CALL, "connected", 8, **talk),
        _state(started, DIRECT_CALL, "hangup", 95, ended_s=95, duration=87000, **talk),
    ]
    return [_signed(claims, sent) for claims in states]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": str(DIRECT_CALL),
            "status": "answered",
            "direction": "inbound",
            "started_at": started,
            "duration_s": 95,
            "talk_s": 87,
            "caller": CUSTOMER,
            "tracking_number": AGENT_LINE,
            "recording_available": True,
        }
    ]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    states = [
        _state(started, DIRECT_CALL, "ringing", 0),
        _state(started, DIRECT_CALL, "missed", 30, ended_s=30),
        _state(started, DIRECT_CALL, "hangup", 30, ended_s=30),
    ]
    return [_signed(claims, sent) for claims in states]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_unanswered(DIRECT_CALL, "missed", started, 30, AGENT_LINE)]


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    message = {"voicemail_link": VOICEMAIL_LINK, "voicemail_recording_id": "4983702847012864"}
    states = [
        _state(started, DIRECT_CALL, "ringing", 0),
        # Sent when the greeting starts: the call has not ended yet.
        _state(started, DIRECT_CALL, "voicemail", 25),
        _state(started, DIRECT_CALL, "hangup", 55, ended_s=55, voicemail_link=VOICEMAIL_LINK),
        _state(started, DIRECT_CALL, "voicemail_uploaded", 58, ended_s=55, **message),
    ]
    return [_signed(claims, sent) for claims in states]


def _voicemail_events(started: datetime) -> list[dict[str, Any]]:
    return [_unanswered(DIRECT_CALL, "voicemail", started, None, AGENT_LINE)]


def _center_leg(started: datetime, state: str, at_s: int, **changes: Any) -> dict[str, Any]:
    return _state(
        started,
        CENTER_CALL,
        state,
        at_s,
        internal_number=CENTER_LINE,
        target=CENTER,
        entry_point_target=CENTER,
        **changes,
    )


def _operator_leg(
    started: datetime, agent: int, state: str, at_s: int, **changes: Any
) -> dict[str, Any]:
    return _state(
        started,
        OPERATOR_CALLS[agent],
        state,
        at_s,
        started_s=2,
        internal_number=CENTER_LINE,
        entry_point_call_id=CENTER_CALL,
        target=AGENTS[agent],
        entry_point_target=CENTER,
        **changes,
    )


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    answer = {"connected_s": 9}
    bridged = {"operator_call_id": OPERATOR_CALLS[1], **answer}
    states = [
        _center_leg(started, "ringing", 0),
        *(_operator_leg(started, agent, "ringing", 2) for agent in range(3)),
        _operator_leg(started, 1, "connected", 9, **answer),
        _center_leg(started, "connected", 9, **bridged),
        *(
            _operator_leg(started, agent, state, 9, ended_s=9)
            for agent in (0, 2)
            for state in ("missed", "hangup")
        ),
        _operator_leg(started, 1, "hangup", 190, ended_s=190, **answer),
        _center_leg(started, "hangup", 190, ended_s=190, **bridged),
    ]
    return [_signed(claims, sent) for claims in states]


def _multi_leg_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": str(CENTER_CALL),
            "status": "answered",
            "direction": "inbound",
            "started_at": started,
            "duration_s": 190,
            "talk_s": 181,
            "caller": CUSTOMER,
            "tracking_number": CENTER_LINE,
            "recording_available": False,
        }
    ]


def _center_missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    states = [
        _center_leg(started, "ringing", 0),
        *(_operator_leg(started, agent, "ringing", 2) for agent in range(3)),
        *(_operator_leg(started, agent, "hangup", 40, ended_s=40) for agent in range(3)),
        _center_leg(started, "missed", 40, ended_s=40),
        _center_leg(started, "hangup", 40, ended_s=40),
    ]
    return [_signed(claims, sent) for claims in states]


def _center_missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_unanswered(CENTER_CALL, "missed", started, 40, CENTER_LINE)]


def _ivr_hangup(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    line = {"internal_number": MAIN_LINE, "target": OFFICE, "entry_point_target": OFFICE}
    states = [
        _state(started, MAIN_LINE_CALL, "connected", 1, connected_s=1, **line),
        _state(started, MAIN_LINE_CALL, "hangup", 20, connected_s=1, ended_s=20, **line),
    ]
    return [_signed(claims, sent) for claims in states]


def _ivr_hangup_events(started: datetime) -> list[dict[str, Any]]:
    return [_unanswered(MAIN_LINE_CALL, "missed", started, 20, MAIN_LINE)]


def _unanswered(
    call_id: int, status: str, started: datetime, duration_s: int | None, line: str
) -> dict[str, Any]:
    return {
        "call_id": str(call_id),
        "status": status,
        "direction": "inbound",
        "started_at": started,
        "duration_s": duration_s,
        "talk_s": None,
        "caller": CUSTOMER,
        "tracking_number": line,
        "recording_available": False,
    }


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _voicemail_events),
    "multi-leg": (_multi_leg, _multi_leg_events),
    "call-center-missed": (_center_missed, _center_missed_events),
    "ivr-hangup": (_ivr_hangup, _ivr_hangup_events),
}
