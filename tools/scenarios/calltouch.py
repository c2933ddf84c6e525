"""calltouch: the requests a real call sends, per scenario, and the call events they must give.

Calltouch's lead webhook for calls sends the parameters the user selected, URL-encoded, by
GET or POST, when a call starts or ends, as chosen in its settings (Calltouch support article
"sending information from Calltouch with webhooks", calltouch.ru/support). Calltouch tracks
the call on its virtual number and forwards it; it reports one call (`callId`) per customer
call, not per agent leg, so there is no multi-leg scenario. Calltouch documents no voicemail
outcome, so there is no voicemail scenario either (see docs/platforms/calltouch.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "calltouch"


def _call_end(started: datetime, **flags: str) -> Sample:
    values = {
        "successful": "true",
        "callback": "false",
        "unique": "true",
        "target": "true",
        "uniq_target": "true",
        **flags,
    }
    fields = template("calltouch_call_end.form", start_unix=int(started.timestamp()), **values)
    query = f"{fields}&token={SECRETS['calltouch']}"
    return Sample(NAME, "GET", "/calltouch", query, b"")


def _event(started: datetime, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "call_id": "4517893",
        "status": "answered",
        "direction": "inbound",
        "started_at": started,
        "duration_s": 64,
        "caller": "+79035550123",
        "tracking_number": "+74955550188",
        "client_id": "1498823377.1730810044",
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "landing_page": "https://www.example.ru/",
        "first_call": True,
        "lead_status": "unique_target",
        "custom": {
            "source": "yandex",
            "medium": "cpc",
            "ct_session_id": "912837465",
            "callback_call": "false",
        },
    }
    return {**event, **changes}


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    return [_call_end(started)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started)]


def _missed(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # Not successful, so not a target call; the caller had called before.
    flags = {"successful": "false", "unique": "false", "target": "false", "uniq_target": "false"}
    return [_call_end(started, **flags)]


def _missed_events(started: datetime) -> list[dict[str, Any]]:
    return [_event(started, status="missed", first_call=False, lead_status="not_target")]


def _callback(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    # The visitor ordered a call through the site's callback form: still their inbound call.
    return [_call_end(started, callback="true")]


def _callback_events(started: datetime) -> list[dict[str, Any]]:
    custom = {"source": "yandex", "medium": "cpc", "ct_session_id": "912837465"}
    return [_event(started, custom={**custom, "callback_call": "true"})]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
    "missed": (_missed, _missed_events),
    "callback": (_callback, _callback_events),
}
