"""twilio: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from shared.sources import twilio
from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "twilio"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    end = format_datetime(started + timedelta(seconds=42))
    body = template("twilio_completed.form", end_rfc2822=quote(end, safe="")).encode()
    path, query = "/twilio/status", "tenant=acme"
    signature = twilio.sign(
        SECRETS["twilio"], f"{base_url}{path}?{query}", parse_qsl(body.decode(), True)
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return [Sample("twilio", "POST", path, query, body, headers)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5",
            "status": "answered",
            "started_at": started + timedelta(seconds=42),
            "duration_s": 42,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
