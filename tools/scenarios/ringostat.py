"""ringostat: the requests a real call sends, per scenario, and the call events they must give.

Ringostat's "Webhooks 2.0" sends, per incoming call, optional webhooks before the call, at each
forwarding step and on pick-up (no outcome), then ONE after-call webhook whose `disposition`
is the call log's status (help.ringostat.com: "How to realise the Ringostat integration using
Webhooks", "Webhooks. Incoming call event", "Call log. Description of call statuses"). The
parameter names are the ones docs/platforms/ringostat.md tells the user to configure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, local_time, template

NAME = "ringostat"
_ZONE = "Europe/Kyiv"
_CALL_ID = "1730816292.48213"
_CUSTOMER = "+442079460123"
_LINE = "+442079460001"
_EMPLOYEES = ("Olena Petrenko", "Taras Melnyk", "Iryna Bondar")


def _post(document: dict[str, Any]) -> Sample:
    query = f"token={SECRETS['ringostat']}"
    headers = {"Content-Type": "application/json"}
    return Sample(NAME, "POST", "/ringostat", query, json.dumps(document).encode(), headers)


def _document(name: str, started: datetime, **values: object) -> dict[str, Any]:
    text = template(name, start_local=local_time(started, _ZONE), **values)
    document: dict[str, Any] = json.loads(text)
    return document


def _after_call(started: datetime, **changes: Any) -> Sample:
    return _post({**_document("ringostat_after_call.json", started), **changes})


def _before_call(started: datetime) -> Sample:
    return _post(_document("ringostat_before_call.json", started))


def _forwarding_step(started: datetime, employee: str) -> Sample:
    return _post(_document("ringostat_forwarding_step.json", started, employee=employee))


def _event(started: datetime, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "call_id": _CALL_ID,
        "status": "answered",
        "direction": "inbound",
        "started_at": started,
        "duration_s": 112,
        "talk_s": 96,
        "caller": _CUSTOMER,
        "tracking_number": _LINE,
        "client_id": "1498823377.1730810044",
        "utm_source": "facebook",
        "utm_medium": "paid_social",
        "utm_campaign": "nov_leads",
        "recording_available": True,
        "custom": {"call_type": "in"},
    }
    return {**event, **changes}


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [_before_call(started), _after_call(started)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started)]


_UNANSWERED = {"billsec": 0, "duration": 31, "recording": ""}


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [_before_call(started), _after_call(started, disposition="NO ANSWER", **_UNANSWERED)]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, status="missed", duration_s=31, talk_s=0, recording_available=False)]


def _voicemail(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The message left is the recording; the customer talked to no one.
    return [_after_call(started, disposition="VOICEMAIL", billsec=0, duration=48)]


def _voicemail_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, status="voicemail", duration_s=48, talk_s=0)]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Three employees are rung at forwarding steps; the third picks up; the after-call
    # webhook is the call's one outcome, a target ("proper") call.
    steps = [_forwarding_step(started, employee) for employee in _EMPLOYEES]
    return [_before_call(started), *steps, _after_call(started, disposition="PROPER")]


def _multi_leg_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, lead_status="proper")]


def _callback(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The visitor asked the site's callback widget to call them: Ringostat counts it as an
    # incoming call, so the customer stays the caller even though Ringostat dialled out.
    return [_after_call(started, call_type="callback")]


def _callback_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, custom={"call_type": "callback"})]


def _outbound(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # An agent dials the customer from the business line: `dst` is the customer.
    return [_after_call(started, call_type="out", caller=_LINE[1:], dst=_CUSTOMER[1:])]


def _outbound_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, direction="outbound", custom={"call_type": "out"})]


def _repeat(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [_after_call(started, disposition="REPEATED")]


def _repeat_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, first_call=False)]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "voicemail": (_voicemail, _voicemail_events),
    "multi-leg": (_multi_leg, _multi_leg_events),
    "callback": (_callback, _callback_events),
    "outbound": (_outbound, _outbound_events),
    "repeat-call": (_repeat, _repeat_events),
}
