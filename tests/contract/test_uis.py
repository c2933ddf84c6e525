"""CallGear / UIS (CoMagic) notifications as published, request by request and call by call.

Sources:
- [UIS-HELP] uiscom.ru/academiya/spravochnyj-centr/uvedomleniya/uvedomleniya-o-sobytiyakh
  (UIS help, "Event notifications"): notifications per event (e.g. a lost call), sent by e-mail, SMS
  or HTTP; HTTP needs the "API Базовый" option.
- [PLANFIX-UIS] Planfix help, "Integration with UIS" (planfix.com/ru/help; mirrored in GitHub
  electronic777/planfix-docs, folder `Интеграции/`, the UIS page) and [PLANFIX-CALLGEAR] the same
  guide for CallGear (the CallGear page of that folder): the body templates of the
  "Завершение звонка" / "Call finished" notification (direction, contact_phone_number,
  virtual_phone_number, call_session_id, talk_time_duration, total_time_duration,
  wait_time_duration, …), of "Потерянный звонок" / "Lost call" (wait_time_duration,
  employee_ids, contact_phone_number, call_session_id; no direction and no talk time) and of
  "Ожидание ответа" / "Waiting for the answer" (one per leg: leg_id). Every placeholder is bare:
  `"talk_time_duration": {{talk_time_duration}}`.
- [FILLED] a call-ended body as UIS filled such a template, kept in public integration code (a
  PHP test script posting to a CRM): `"call_session_id": 998677427`, `"external_id": null`,
  `"notification_time": "2019-12-16 14:40:47.234"`, `"direction": "in"`, `"talk_time_duration":
  12`, `"total_time_duration": 23`, `"wait_time_duration": 11`: values are JSON literals, empty
  ones `null`, and total = talk + wait.
- [GET-TEMPLATE] public integration code that configures a UIS notification as a GET URL with
  `name={{name}}&…` query variables and reads `talk_time_duration` from the query string.
- [MGDEMO] a third-party wiki page listing the cabinet's "Завершение звонка" variables
  (mgdemo.ru doku.php?id=uis:settings:lk:notifications:callended): start_time,
  calling_phone_number, called_phone_number among them.
The phone numbers and ids below are ours; the shapes are the sources'.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from shared.errors import BadPayload
from shared.events import CallEvent, parse_event
from shared.settings import Settings
from shared.sources import uis
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
TOKEN = f"token={SECRETS['uis']}"
JSON = {"Content-Type": "application/json"}
# [FILLED], with our own numbers: a call-ended body exactly as UIS fills the published template.
FILLED_CALL_ENDED: dict[str, Any] = {
    "notification_name": "crm-out",
    "virtual_phone_number": "74955550188",
    "notification_time": "2019-12-16 14:40:47.234",
    "external_id": None,
    "contact_phone_number": "79990001122",
    "employee_full_name": "Sales desk 5",
    "employee_id": 323409,
    "call_source": "va",
    "direction": "in",
    "call_session_id": 998677427,
    "scenario_name": "Sales line",
    "talk_time_duration": 12,
    "total_time_duration": 23,
    "wait_time_duration": 11,
    "tag_names": None,
}
# What it means: no start_time in that template, so the start is the notification less the call.
FILLED_EVENT = parse_event(
    {
        "source": "uis",
        "call_id": "998677427",
        "status": "answered",
        "direction": "inbound",
        "started_at": datetime(2019, 12, 16, 11, 40, 24, 234000, tzinfo=UTC),
        "duration_s": 23,
        "talk_s": 12,
        "caller": "+79990001122",
        "tracking_number": "+74955550188",
        "custom": {"scenario_name": "Sales line", "call_source": "va"},
    },
    "US",
)


def _parse(sample: Sample) -> Parsed:
    return uis.parse(sample.request(NOW), SETTINGS)


def _published(samples: list[Sample]) -> list[CallEvent]:
    """What reaches the destinations: the first event per event id (the ledger drops the rest)."""
    return first_per_event_id(_parse(sample).events for sample in samples)


def _post(path: str, document: dict[str, Any]) -> Sample:
    return Sample("uis", "POST", f"/uis/{path}", TOKEN, json.dumps(document).encode(), JSON)


@pytest.mark.parametrize(
    "scenario", ["answered", "missed", "missed-lost-first", "multi-leg", "outbound"]
)
def test_each_scenario_publishes_exactly_its_expected_events(scenario: str) -> None:
    samples = build_requests("uis", scenario, STARTED)

    assert _published(samples) == expected_events("uis", scenario, STARTED)


def test_filled_published_template_is_one_answered_call() -> None:
    # [FILLED] + [PLANFIX-UIS]: bare placeholders, JSON literals, null for the empty ones.
    assert _published([_post("ended", FILLED_CALL_ENDED)]) == [FILLED_EVENT]


def test_template_with_quoted_placeholders_reads_the_same() -> None:
    # A template written `"x": "{{x}}"` (as this page once advised) gives every value as text.
    as_text = {
        key: None if value is None else str(value) for key, value in FILLED_CALL_ENDED.items()
    }

    assert _published([_post("ended", as_text)]) == [FILLED_EVENT]


def test_get_notification_with_query_variables_reads_the_same() -> None:
    # [GET-TEMPLATE]: the variables ride in the URL next to our token; null renders empty.
    query = urlencode(
        {key: "" if value is None else value for key, value in FILLED_CALL_ENDED.items()}
    )
    sample = Sample("uis", "GET", "/uis/ended", f"{TOKEN}&{query}", b"")

    assert _published([sample]) == [FILLED_EVENT]


@pytest.mark.parametrize("talk", [0, None])
def test_call_ended_with_no_talk_time_is_a_missed_call(talk: int | None) -> None:
    # total = talk + wait [FILLED]: a call nobody talked on lasted its wait.
    ended = _post(
        "ended", {**FILLED_CALL_ENDED, "talk_time_duration": talk, "total_time_duration": 11}
    )

    (event,) = _published([ended])

    assert event == FILLED_EVENT.model_copy(
        update={
            "status": "missed",
            "talk_s": talk,
            "duration_s": 11,
            "started_at": datetime(2019, 12, 16, 11, 40, 36, 234000, tzinfo=UTC),
        }
    )


def test_lost_call_notification_is_a_missed_inbound_call() -> None:
    # [PLANFIX-UIS] "Потерянный звонок": no direction, no talk time; its length is its wait.
    lost = _post(
        "lost",
        {
            "notification_name": "Lost call",
            "virtual_phone_number": "74955550188",
            "notification_time": "2019-12-16 14:40:47",
            "scenario_name": "Sales line",
            "wait_time_duration": 31,
            "employee_ids": [323409, 323410],
            "contact_phone_number": "79990001122",
            "communication_number": "79990001122",
            "contact_id": None,
            "contact_full_name": None,
            "call_session_id": 998677428,
        },
    )

    assert _published([lost]) == [
        parse_event(
            {
                "source": "uis",
                "call_id": "998677428",
                "status": "missed",
                "direction": "inbound",
                "started_at": datetime(2019, 12, 16, 11, 40, 16, tzinfo=UTC),
                "duration_s": 31,
                "talk_s": 0,
                "caller": "+79990001122",
                "tracking_number": "+74955550188",
                "custom": {"scenario_name": "Sales line"},
            },
            "US",
        )
    ]


@pytest.mark.parametrize("order", ["ended-first", "lost-first"])
def test_lost_call_reported_twice_publishes_one_missed_call(order: str) -> None:
    # A lost call gets "Call ended" and "Lost call" with one call_session_id, in either order:
    # whichever comes first is the missed call, and the second is the same call.
    ended, lost = build_requests("uis", "missed", STARTED)
    samples = [ended, lost] if order == "ended-first" else [lost, ended]

    events = [_parse(sample).events[0] for sample in samples]
    (published,) = _published(samples)

    assert {event.event_id for event in events} == {published.event_id}
    assert [event.status for event in events] == ["missed", "missed"]
    assert published.model_dump(exclude={"custom"}) == events[1].model_dump(exclude={"custom"})


def test_leg_notifications_are_acknowledged_and_the_call_ended_publishes_once() -> None:
    # [PLANFIX-UIS] "Ожидание ответа" comes once per leg (leg_id); the call has one call-ended.
    *legs, ended = build_requests("uis", "multi-leg", STARTED)

    assert [_parse(leg).events for leg in legs] == [[], [], []]
    assert [len(_parse(ended).events)] == [1]


def test_outbound_call_keeps_the_contact_as_the_caller() -> None:
    # [PLANFIX-UIS]: contact_phone_number is the customer's number in both directions.
    outbound = _post("ended", {**FILLED_CALL_ENDED, "direction": "out"})

    assert _published([outbound]) == [FILLED_EVENT.model_copy(update={"direction": "outbound"})]


def test_calling_and_called_numbers_stand_in_when_the_contact_is_not_in_the_template() -> None:
    # [MGDEMO]: calling_phone_number / called_phone_number are call-ended variables too.
    inbound = dict(FILLED_CALL_ENDED)
    del inbound["contact_phone_number"], inbound["virtual_phone_number"]
    inbound |= {"calling_phone_number": "79990001122", "called_phone_number": "74955550188"}
    outbound = inbound | {
        "direction": "out",
        "calling_phone_number": "74955550188",
        "called_phone_number": "79990001122",
    }

    assert _published([_post("ended", inbound)]) == [FILLED_EVENT]
    assert _published([_post("ended", outbound)]) == [
        FILLED_EVENT.model_copy(update={"direction": "outbound"})
    ]


def test_start_time_variable_is_the_call_start_in_the_account_zone() -> None:
    # [MGDEMO] start_time, `YYYY-MM-DD hh:mm:ss` in the account's time zone (Moscow here).
    with_start = _post("ended", {**FILLED_CALL_ENDED, "start_time": "2019-12-16 14:40:20"})

    (event,) = _published([with_start])

    assert event.started_at == datetime(2019, 12, 16, 11, 40, 20, tzinfo=UTC)


def test_call_ended_without_talk_time_variable_publishes_nothing() -> None:
    # Without talk_time_duration nothing tells a lost call from an answered one: no guess.
    template = dict(FILLED_CALL_ENDED)
    del template["talk_time_duration"]

    parsed = _parse(_post("ended", template))

    assert (parsed.events, parsed.note) == ([], uis._MISSING_TALK_TIME)


def test_direction_other_than_in_or_out_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload, match="direction"):
        _parse(_post("ended", {**FILLED_CALL_ENDED, "direction": "sideways"}))


def test_answered_scenario_body_is_the_published_template_filled() -> None:
    # The sample every other test uses has exactly the [PLANFIX-UIS] call-ended variables,
    # plus start_time [MGDEMO], and nothing of the Data API's (talk_duration, is_lost).
    (sample,) = build_requests("uis", "answered", STARTED)
    published_variables = {
        "notification_name",
        "virtual_phone_number",
        "notification_time",
        "external_id",
        "contact_phone_number",
        "communication_number",
        "employee_full_name",
        "employee_id",
        "call_source",
        "direction",
        "call_session_id",
        "scenario_name",
        "talk_time_duration",
        "total_time_duration",
        "wait_time_duration",
        "tag_names",
    }

    assert set(json.loads(sample.body)) == published_variables | {"start_time"}
