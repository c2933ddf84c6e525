"""ringostat: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, local_time, template

NAME = "ringostat"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    body = template("ringostat_after_call.json", start_local=local_time(started, "Europe/Kyiv"))
    query = f"token={SECRETS['ringostat']}"
    headers = {"Content-Type": "application/json"}
    return [Sample("ringostat", "POST", "/ringostat", query, body.encode(), headers)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "1730816292.48213",
            "status": "answered",
            "started_at": started,
            "duration_s": 112,
            "talk_s": 96,
            "caller": "+442079460123",
            "tracking_number": "+442079460001",
            "client_id": "1498823377.1730810044",
            "utm_source": "facebook",
            "utm_medium": "paid_social",
            "utm_campaign": "nov_leads",
            "custom": {"call_type": "in"},
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
