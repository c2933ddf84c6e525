"""ringcentral: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "ringcentral"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    end = (started + timedelta(seconds=95)).isoformat(timespec="milliseconds")
    body = template("ringcentral_disconnected.json", end_iso=end.replace("+00:00", "Z")).encode()
    headers = {"Content-Type": "application/json", "Verification-Token": SECRETS["ringcentral"]}
    return [Sample("ringcentral", "POST", "/ringcentral", "", body, headers)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "s-a0d7b5c3e2f14a6b9d8c7e6f5a4b3c2d",
            "status": "answered",
            "started_at": started + timedelta(seconds=95),
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
