"""aircall: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "aircall"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    start = int(started.timestamp())
    body = template(
        "aircall_call_ended.json",
        sent_unix=int(sent.timestamp()),
        token=SECRETS["aircall"],
        start_unix=start,
        answered_unix=start + 8,
        end_unix=start + 187,
        duration=187,
    ).encode()
    return [Sample("aircall", "POST", "/aircall", "", body, {"Content-Type": "application/json"})]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "1947310234",
            "status": "answered",
            "started_at": started,
            "duration_s": 187,
            "talk_s": 179,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
