"""callrail: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.sources import callrail
from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "callrail"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    start = started.astimezone(ZoneInfo("America/New_York")).isoformat(timespec="milliseconds")
    body = template("callrail_post_call.json", start_local=start).encode()
    headers = {
        "Content-Type": "application/json",
        "Signature": callrail.sign(SECRETS["callrail"], body),
    }
    return [Sample("callrail", "POST", "/callrail/post_call", "", body, headers)]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "CAL8154748ae6bd4e278a7cddd38a662f4f",
            "status": "answered",
            "started_at": started,
            "duration_s": 187,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
            "client_id": "1187654321.1730815900",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "fall_storm_2024",
            "gclid": "EAIaIQobChMIdemo0001",
            "landing_page": "https://www.example.com/roof-repair?utm_source=google&gclid=EAIaIQobChMIdemo0001",
            "custom": {
                "source": "Google Ads",
                "source_name": "Google Ads",
                "medium": "cpc",
                "campaign": "Fall Storm 2024",
                "keywords": "emergency roof repair",
            },
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
