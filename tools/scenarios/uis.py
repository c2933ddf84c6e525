"""uis: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, local_time, template

NAME = "uis"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    body = template(
        "uis_call_ended.json",
        start_local=local_time(started, "Europe/Moscow"),
        end_local=local_time(started + timedelta(seconds=63), "Europe/Moscow"),
    )
    query = f"token={SECRETS['uis']}"
    headers = {"Content-Type": "application/json"}
    return [Sample("uis", "POST", "/uis/ended", query, body.encode(), headers)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "3254187923",
            "status": "answered",
            "started_at": started,
            "duration_s": 63,
            "talk_s": 51,
            "caller": "+74955550123",
            "tracking_number": "+74955550188",
            "client_id": "1498823377.1730810044",
            "utm_source": "yandex",
            "utm_medium": "cpc",
            "utm_campaign": "brand",
            "custom": {"scenario_name": "Sales line", "call_source": "va"},
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
