"""dialpad: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import jwt

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "dialpad"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    start_ms = int(started.timestamp()) * 1000
    claims = json.loads(
        template(
            "dialpad_hangup.json",
            start_ms=start_ms,
            answered_ms=start_ms + 8000,
            end_ms=start_ms + 95000,
            talk_ms=87000,
            duration_ms=95000,
        )
    )
    claims["iat"] = int(sent.timestamp())
    body = jwt.encode(claims, SECRETS["dialpad"], algorithm="HS256").encode()
    return [Sample("dialpad", "POST", "/dialpad", "", body, {"Content-Type": "application/jwt"})]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "6290382475853824",
            "status": "answered",
            "started_at": started,
            "duration_s": 95,
            "talk_s": 87,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
