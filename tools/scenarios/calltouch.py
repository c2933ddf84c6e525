"""calltouch: the requests a real call sends, per scenario, and the call events they must give."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.scenarios.common import SECRETS, Sample, Scenarios, template

NAME = "calltouch"


def _answered(started: datetime, base_url: str, sent: datetime) -> list[Sample]:
    fields = template("calltouch_call_end.form", start_unix=int(started.timestamp()))
    query = f"{fields}&token={SECRETS['calltouch']}"
    return [Sample("calltouch", "GET", "/calltouch", query, b"")]


def _answered_events(started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "call_id": "4517893",
            "status": "answered",
            "started_at": started,
            "duration_s": 64,
            "caller": "+79035550123",
            "tracking_number": "+74955550188",
            "client_id": "1498823377.1730810044",
            "utm_source": "yandex",
            "utm_medium": "cpc",
            "utm_campaign": "brand",
            "landing_page": "https://www.example.ru/",
            "custom": {"source": "yandex", "medium": "cpc", "ct_session_id": "912837465"},
        }
    ]


# scenario name → (the requests in arrival order, the events they must publish)
SCENARIOS: Scenarios = {
    "answered": (_answered, _answered_events),
}
