"""The GA4 body builder: whole bodies for realistic calls, clock skew, and cutting to limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_body, fit_ga4_body
from shared.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=10)
SETTINGS = Settings(custom_parameters={"keyword": "cd3", "qualified": "cm2"})


def event(**overrides: Any) -> CallEvent:
    call = {
        "source": "callrail",
        "call_id": "CAL123",
        "status": "answered",
        "direction": "inbound",
        "started_at": STARTED.isoformat(),
        "duration_s": 187,
        "talk_s": 170,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "fall_storm_2024",
        "landing_page": "https://www.example.com/roof-repair",
        "referrer": "https://www.google.com/",
        "session_id": "1730810044",
        "custom": {"keyword": "roof repair", "qualified": True, "unmapped": "x"},
        **overrides,
    }
    return parse_event(call, "US")


def test_realistic_call_becomes_one_phone_call_event_dated_at_its_start() -> None:
    call = event()

    body = build_ga4_body(call, SETTINGS, "1760224793.1424413995", NOW)

    assert body == {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(STARTED.timestamp()) * 1_000_000,
        "events": [
            {
                "name": "phone_call",
                "params": {
                    "call_event_id": call.event_id,
                    "call_source": "callrail",
                    "call_status": "answered",
                    "call_direction": "inbound",
                    "call_duration": 187,
                    "call_talk_time": 170,
                    "source": "google",
                    "medium": "cpc",
                    "campaign": "fall_storm_2024",
                    "page_location": "https://www.example.com/roof-repair",
                    "page_referrer": "https://www.google.com/",
                    "session_id": "1730810044",
                    "keyword": "roof repair",
                    "qualified": 1,
                    "engagement_time_msec": 1,
                },
            }
        ],
    }


def test_no_phone_number_is_in_the_body() -> None:
    body = json.dumps(build_ga4_body(event(), SETTINGS, "1.2", NOW))

    assert "5550123" not in body
    assert "5550188" not in body


def test_user_id_and_ip_are_sent_when_known() -> None:
    body = build_ga4_body(event(user_id="crm-4711", ip="203.0.113.7"), SETTINGS, "1.2", NOW)

    assert body["user_id"] == "crm-4711"
    assert body["ip_override"] == "203.0.113.7"


def test_call_starting_after_now_is_dated_now() -> None:
    ahead = event(started_at=(NOW + timedelta(minutes=7)).isoformat())

    body = build_ga4_body(ahead, SETTINGS, "1.2", NOW)

    assert body["timestamp_micros"] == int(NOW.timestamp()) * 1_000_000


def test_event_name_follows_the_setting() -> None:
    settings = Settings(ga4_event_name="offline_call")

    body = build_ga4_body(event(), settings, "1.2", NOW)

    assert body["events"][0]["name"] == "offline_call"


def test_text_values_are_cut_to_ga4_limits_and_numbers_kept() -> None:
    long = "x" * 2000
    body = build_ga4_body(
        event(
            utm_campaign=long,
            landing_page=f"https://e.com/{long}",
            referrer=f"https://r.com/{long}",
        ),
        SETTINGS,
        "1.2",
        NOW,
    )

    params = fit_ga4_body(body)["events"][0]["params"]

    assert len(params["campaign"]) == 100
    assert len(params["page_location"]) == 1000
    assert len(params["page_referrer"]) == 420
    assert params["call_duration"] == 187
    # The builder's own body is left whole: the PII guard reads it before the cut.
    assert len(body["events"][0]["params"]["campaign"]) == 2000
