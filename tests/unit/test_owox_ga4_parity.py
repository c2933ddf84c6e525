"""The seed's rule for GA4: OWOX BI's body is Google's body plus the caller's phone, nothing else.

Checked on the call every platform's `answered` sample becomes (tools/vendor_samples.py) and on a
generic call carrying every attribution and lead field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.destinations import DESTINATIONS
from shared.errors import ConfigError
from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_request, build_owox_ga4_request
from shared.settings import Settings
from tools.vendor_samples import VENDORS, expected_event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=20)
SETTINGS = Settings(
    ga4_measurement_id="G-MAIN1234",
    ga4_api_secret="main-secret",
    owox_ga4_url="https://streaming.bi.owox.com/ga4/acme/mp",
)
PHONE_PARAMS = frozenset({"tel"})


def generic_event() -> CallEvent:
    return parse_event(
        {
            "source": "generic",
            "call_id": "c-1001",
            "status": "answered",
            "started_at": STARTED.isoformat(),
            "duration_s": 187,
            "talk_s": 170,
            "caller": "+1 201-555-0123",
            "tracking_number": "+1 201-555-0188",
            "client_id": "GA1.1.1760224793.1424413995",
            "user_id": "crm-4711",
            "session_id": "GS2.1.s1764243000$o3$g1$t1764243500$j60$l0$h0",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "fall_storm_2024",
            "landing_page": "https://www.example.com/roof-repair",
            "first_call": True,
            "lead_status": "good_lead",
            "value": 120.5,
            "currency": "USD",
        },
        "US",
    )


def calls() -> list[tuple[str, CallEvent]]:
    return [(source, expected_event(source, STARTED)) for source in VENDORS] + [
        ("generic", generic_event())
    ]


def without_phone(body: dict[str, Any]) -> dict[str, Any]:
    events = [
        {**event, "params": {k: v for k, v in event["params"].items() if k not in PHONE_PARAMS}}
        for event in body["events"]
    ]
    return {**body, "events": events}


@pytest.mark.parametrize(("source", "call"), calls(), ids=[source for source, _ in calls()])
def test_owox_ga4_body_is_the_ga4_body_plus_the_callers_phone(source: str, call: CallEvent) -> None:
    google = json.loads(build_ga4_request(call, SETTINGS, NOW).body or b"")
    owox = json.loads(build_owox_ga4_request(call, SETTINGS, NOW).body or b"")

    assert call.caller, f"{source}'s sample should have a caller"
    assert without_phone(owox) == google
    assert [event["params"]["tel"] for event in owox["events"]] == [call.caller] * len(
        google["events"]
    )
    assert all(PHONE_PARAMS.isdisjoint(event["params"]) for event in google["events"])


def test_only_the_age_limit_differs_between_the_two_destinations() -> None:
    ga4, owox_ga4 = DESTINATIONS["ga4"], DESTINATIONS["owox_ga4"]

    assert (ga4.max_age, owox_ga4.max_age) == (timedelta(hours=72), timedelta(days=30))
    assert (ga4.target, owox_ga4.target) == ("google", "owox")


def test_owox_ga4_url_on_a_google_host_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="OWOX_GA4_URL: points at a Google host"):
        Settings.from_env({"OWOX_GA4_URL": "https://www.google-analytics.com/mp/collect"})
