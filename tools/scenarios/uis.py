"""uis: the requests a real call sends, per scenario, and the call events they must give.

Bodies follow the notification templates UIS integrators publish (Planfix's UIS and CallGear
integration guides): bare `{{variable}}` placeholders, which UIS fills with JSON literals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, local_time, template

NAME = "uis"
_ZONE = "Europe/Moscow"
_CUSTOMER = "74955550123"
_LINE = "74955550188"
_JSON = {"Content-Type": "application/json"}
# Employees a call rings: (id, full name), as the notifications name them.
_EMPLOYEES = ((41207, "Anna Petrova"), (41208, "Oleg Smirnov"), (41209, "Irina Volkova"))


def _post(path: str, body: str) -> Sample:
    return Sample(NAME, "POST", f"/uis/{path}", f"token={SECRETS[NAME]}", body.encode(), _JSON)


def _call_ended(
    started: datetime,
    call_session_id: int,
    *,
    talk: int,
    wait: int,
    direction: str = "in",
    employee: tuple[int, str] | None = None,
) -> Sample:
    total = talk + wait
    body = template(
        "uis_call_ended.json",
        start_local=local_time(started, _ZONE),
        end_local=local_time(started + timedelta(seconds=total), _ZONE),
        contact=_CUSTOMER,
        direction=direction,
        call_session_id=call_session_id,
        employee_id=employee[0] if employee else "null",
        employee_full_name=f'"{employee[1]}"' if employee else "null",
        talk=talk,
        total=total,
        wait=wait,
    )
    return _post("ended", body)


def _lost_call(started: datetime, call_session_id: int, wait: int) -> Sample:
    body = template(
        "uis_lost_call.json",
        end_local=local_time(started + timedelta(seconds=wait), _ZONE),
        contact=_CUSTOMER,
        wait=wait,
        employee_ids=", ".join(str(employee_id) for employee_id, _ in _EMPLOYEES),
        call_session_id=call_session_id,
    )
    return _post("lost", body)


def _waiting_for_answer(
    started: datetime, call_session_id: int, leg_id: int, employee: tuple[int, str]
) -> Sample:
    body = template(
        "uis_waiting_for_answer.json",
        sent_local=local_time(started + timedelta(seconds=8), _ZONE),
        contact=_CUSTOMER,
        employee_id=employee[0],
        employee_full_name=employee[1],
        call_session_id=call_session_id,
        leg_id=leg_id,
    )
    return _post("waiting", body)


def _event(
    started: datetime, call_id: str, status: str, duration_s: int, talk_s: int
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "status": status,
        "direction": "inbound",
        "started_at": started,
        "duration_s": duration_s,
        "talk_s": talk_s,
        "caller": "+" + _CUSTOMER,
        "tracking_number": "+" + _LINE,
        "custom": {"scenario_name": "Sales line", "call_source": "va"},
    }


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [_call_ended(started, 3254187923, talk=51, wait=12, employee=_EMPLOYEES[0])]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, "3254187923", "answered", 63, 51)]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # UIS sends "Call ended" for every call and "Lost call" for a lost one, in either order.
    return [_call_ended(started, 3254187990, talk=0, wait=27), _lost_call(started, 3254187990, 27)]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, "3254187990", "missed", 27, 0)]


def _missed_lost_first(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return list(reversed(_missed(started, base_url, sent)))


def _missed_lost_first_events(started: datetime) -> list[dict[str, Any]]:
    # The lost-call notification has no call_source variable; otherwise the same event.
    return [
        {
            **_event(started, "3254187990", "missed", 27, 0),
            "custom": {"scenario_name": "Sales line"},
        }
    ]


def _multi_leg(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Ringing three employees sends one "Waiting for answer" per leg (if pointed here at all);
    # the call is still one call_session_id, with one "Call ended".
    legs = [
        _waiting_for_answer(started, 3254188011, 7010441 + number, employee)
        for number, employee in enumerate(_EMPLOYEES)
    ]
    return [*legs, _call_ended(started, 3254188011, talk=74, wait=21, employee=_EMPLOYEES[1])]


def _multi_leg_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, "3254188011", "answered", 95, 74)]


def _outbound(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # An employee calls the customer from the virtual number: the contact is still the customer.
    return [
        _call_ended(started, 3254188102, talk=133, wait=9, direction="out", employee=_EMPLOYEES[2])
    ]


def _outbound_events(started: datetime) -> list[dict[str, Any]]:
    return [{**_event(started, "3254188102", "answered", 142, 133), "direction": "outbound"}]


# scenario name → (the requests in arrival order, the events they must publish). No voicemail:
# no published notification variable reports one (see docs/platforms/uis.md).
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "multi-leg": (_multi_leg, _multi_leg_events),
    "missed-lost-first": (_missed_lost_first, _missed_lost_first_events),
    "outbound": (_outbound, _outbound_events),
}
