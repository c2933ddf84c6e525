"""Destinations end to end: GA4 gets calls; what a destination would drop is dead-lettered."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.e2e.conftest import Pipeline, generic_event_id
from tests.e2e.samples import GA4_API_SECRET, GA4_MEASUREMENT_ID
from tools.send_call import sample_call

pytestmark = pytest.mark.e2e

PHONE_DIGITS = "2015550123"  # the sample caller's national number


def _call_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def _started(ago: timedelta) -> str:
    return (datetime.now(UTC).replace(microsecond=0) - ago).isoformat()


def test_ga4_and_owox_ga4_receive_the_call_as_a_valid_ga4_event(pipeline: Pipeline) -> None:
    call_id = _call_id()
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)

    response = pipeline.post_generic(sample_call(call_id, started_at=started.isoformat()))

    assert response.status_code == 202
    event_id = generic_event_id(call_id)
    hits = {hit["destination"]: hit for hit in pipeline.ga4_hits_for_event(event_id, count=2)}
    assert sorted(hits) == ["ga4", "owox_ga4"]
    ga4 = hits["ga4"]
    assert ga4["path"] == "/mp/collect"
    assert parse_qs(ga4["query"]) == {
        "measurement_id": [GA4_MEASUREMENT_ID],
        "api_secret": [GA4_API_SECRET],
    }
    assert ga4["messages"] == []
    assert hits["owox_ga4"]["messages"] == []
    assert hits["owox_ga4"]["params"] == _with_tel(ga4["params"], "+12015550123")
    assert ga4["params"] == {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(started.timestamp()) * 1_000_000,
        "events": [
            {
                "name": "phone_call",
                "params": {
                    "call_event_id": event_id,
                    "call_source": "generic",
                    "call_status": "answered",
                    "call_direction": "inbound",
                    "call_duration": 187,
                    "call_talk_time": 170,
                    "source": "google",
                    "medium": "cpc",
                    "campaign": "fall_storm_2024",
                    "page_location": "https://www.example.com/roof-repair",
                    "engagement_time_msec": 1,
                },
            }
        ],
    }
    assert PHONE_DIGITS not in json.dumps(ga4)


def _with_tel(body: dict[str, Any], phone: str) -> dict[str, Any]:
    """The OWOX BI GA4 body the seed's rule expects: Google's, plus `tel` on every event."""
    events = [{**event, "params": {**event["params"], "tel": phone}} for event in body["events"]]
    return {**body, "events": events}


def _ga4_pair(pipeline: Pipeline, call_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    hits = {hit["destination"]: hit for hit in pipeline.ga4_hits_for_event(_event(call_id), 2)}
    assert sorted(hits) == ["ga4", "owox_ga4"]
    assert (hits["ga4"]["messages"], hits["owox_ga4"]["messages"]) == ([], [])
    return hits["ga4"], hits["owox_ga4"]


def _event(call_id: str) -> str:
    return generic_event_id(call_id)


def test_call_with_the_sites_ga_cookies_is_joined_to_the_visit_in_ga4(pipeline: Pipeline) -> None:
    call_id = _call_id()
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    session = int(started.timestamp()) - 600
    cookies = {
        "client_id": "GA1.1.1760224793.1424413995",
        "session_id": f"GS2.1.s{session}$o3$g1$t{session + 120}$j60$l0$h0",
    }

    call = sample_call(call_id, started_at=started.isoformat(), **cookies)
    assert pipeline.post_generic(call).status_code == 202

    ga4, owox = _ga4_pair(pipeline, call_id)
    assert ga4["params"] == {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(started.timestamp()) * 1_000_000,
        "events": [
            {
                "name": "phone_call",
                "params": {
                    "call_event_id": _event(call_id),
                    "call_source": "generic",
                    "call_status": "answered",
                    "call_direction": "inbound",
                    "call_duration": 187,
                    "call_talk_time": 170,
                    "source": "google",
                    "medium": "cpc",
                    "campaign": "fall_storm_2024",
                    "page_location": "https://www.example.com/roof-repair",
                    "session_id": str(session),
                    "engagement_time_msec": 1,
                },
            }
        ],
    }
    assert PHONE_DIGITS not in json.dumps(ga4)
    assert owox["params"] == _with_tel(ga4["params"], "+12015550123")


def test_answered_first_call_with_a_value_is_also_a_generate_lead(pipeline: Pipeline) -> None:
    call_id = _call_id()
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    lead = {"first_call": True, "value": 150, "currency": "USD", "session_id": "1764243000"}

    call = sample_call(call_id, started_at=started.isoformat(), **lead)
    assert pipeline.post_generic(call).status_code == 202

    ga4, owox = _ga4_pair(pipeline, call_id)
    phone_call, generate_lead = ga4["params"]["events"]
    assert (phone_call["name"], generate_lead["name"]) == ("phone_call", "generate_lead")
    assert generate_lead["params"] == phone_call["params"]
    assert {k: phone_call["params"][k] for k in ("first_call", "value", "currency")} == {
        "first_call": 1,
        "value": 150.0,
        "currency": "USD",
    }
    assert PHONE_DIGITS not in json.dumps(ga4)
    assert owox["params"] == _with_tel(ga4["params"], "+12015550123")


def test_call_older_than_four_hours_is_dead_lettered_for_ua_only(pipeline: Pipeline) -> None:
    call_id = _call_id()

    response = pipeline.post_generic(sample_call(call_id, started_at=_started(timedelta(hours=5))))

    assert response.status_code == 202
    event_id = generic_event_id(call_id)
    letters = pipeline.dead_letters(event_id)
    assert [letter["attributes"]["reason"] for letter in letters] == ["too_old"]
    assert letters[0]["attributes"]["destination"] == "ua"
    hits = pipeline.hits_for_event(event_id, count=1)
    assert [hit["destination"] for hit in hits] == ["owox"]
    assert len(pipeline.ga4_hits_for_event(event_id, count=2)) == 2


def test_call_older_than_three_days_is_dead_lettered_for_ga4_and_ua(pipeline: Pipeline) -> None:
    call_id = _call_id()

    response = pipeline.post_generic(sample_call(call_id, started_at=_started(timedelta(days=4))))

    assert response.status_code == 202
    letters = pipeline.dead_letters(generic_event_id(call_id), count=2)
    assert sorted((m["attributes"]["destination"], m["attributes"]["reason"]) for m in letters) == [
        ("ga4", "too_old"),
        ("ua", "too_old"),
    ]
    hits = pipeline.hits_for_event(generic_event_id(call_id), count=1)
    assert [hit["destination"] for hit in hits] == ["owox"]


def test_hit_over_googles_size_limit_is_dead_lettered_and_owox_still_gets_it(
    pipeline: Pipeline,
) -> None:
    call_id = _call_id()
    long_text = "x" * 2000
    call = sample_call(
        call_id,
        landing_page=f"https://www.example.com/{long_text}",
        referrer=f"https://www.example.org/{long_text}",
        user_agent=f"Mozilla/5.0 {long_text}",
        gclid=long_text,
        dclid=long_text,
    )

    assert pipeline.post_generic(call).status_code == 202

    event_id = generic_event_id(call_id)
    letters = pipeline.dead_letters(event_id)
    assert [(m["attributes"]["destination"], m["attributes"]["reason"]) for m in letters] == [
        ("ua", "too_large")
    ]
    hits = pipeline.hits_for_event(event_id, count=1)
    assert [hit["destination"] for hit in hits] == ["owox"]
    assert hits[0]["messages"] == []
    # Too long for a URL: the same hit, POSTed to the access point's path.
    assert (hits[0]["method"], hits[0]["params"]["tel"]) == ("POST", "+12015550123")


@pytest.mark.parametrize(
    "hiding_place",
    [
        {"utm_campaign": "call (201) 555-0123 now"},
        {"landing_page": "https://www.example.com/?ref=%2B12015550123"},
        {"custom": {"keyword": "201.555.0123"}},
        {"utm_content": "owner@example.com"},
    ],
    ids=["formatted in a campaign", "encoded in a URL", "dotted in a custom field", "e-mail"],
)
def test_hit_carrying_personal_data_never_reaches_google(
    pipeline: Pipeline, hiding_place: dict[str, object]
) -> None:
    call_id = _call_id()

    assert pipeline.post_generic(sample_call(call_id, **hiding_place)).status_code == 202

    event_id = generic_event_id(call_id)
    letters = pipeline.dead_letters(event_id, count=2)
    assert sorted((m["attributes"]["destination"], m["attributes"]["reason"]) for m in letters) == [
        ("ga4", "pii_blocked"),
        ("ua", "pii_blocked"),
    ]
    for letter in letters:
        assert "555" not in letter["attributes"]["detail"]
    hits = pipeline.hits_for_event(event_id, count=1)
    assert [hit["destination"] for hit in hits] == ["owox"]
    google = [hit for hit in pipeline.hits() if hit["target"] == "google"]
    assert all(PHONE_DIGITS not in json.dumps(hit) for hit in google)
