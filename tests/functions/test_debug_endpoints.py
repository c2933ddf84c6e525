"""What dispatch would send for a realistic call passes the collector's debug endpoints cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_request
from shared.hits.ua import build_owox_request, build_ua_request
from shared.settings import Settings
from tools.collector import create_app
from tools.send_call import sample_call

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = Settings(
    ua_property_id="UA-12345678-1",
    ga4_measurement_id="G-DEBUG1234",
    ga4_api_secret="debug-secret",
    owox_endpoint="http://collector.test/owox",
    custom_parameters={"keyword": "cd3", "lead_value": "cm1"},
)


@pytest.fixture
def collector() -> FlaskClient:
    return create_app().test_client()


@pytest.fixture
def event() -> CallEvent:
    call = sample_call(
        "debug-1",
        started_at=(NOW - timedelta(minutes=20)).isoformat(),
        user_id="crm-4711",
        session_id="1730810044",
        referrer="https://www.google.com/",
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        custom={"keyword": "roof repair", "lead_value": 250},
    )
    return parse_event({"source": "generic", **call}, "US")


def test_ua_hit_passes_the_validation_server_with_no_message(
    collector: FlaskClient, event: CallEvent
) -> None:
    request = build_ua_request(event, SETTINGS, NOW)

    answer = collector.post("/debug/collect", data=request.body, headers=dict(request.headers))

    assert answer.get_json()["hitParsingResult"] == [
        {"valid": True, "parserMessage": [], "hit": answer.get_json()["hitParsingResult"][0]["hit"]}
    ]


def test_ga4_body_passes_the_ga4_validation_server_with_no_message(
    collector: FlaskClient, event: CallEvent
) -> None:
    request = build_ga4_request(event, SETTINGS, NOW)
    url = urlsplit(request.url)

    answer = collector.post(
        f"/debug/mp/collect?{url.query}", data=request.body, headers=dict(request.headers)
    )

    assert answer.get_json() == {"validationMessages": []}


def test_owox_hit_is_recorded_valid_with_no_message(
    collector: FlaskClient, event: CallEvent
) -> None:
    request = build_owox_request(event, SETTINGS, NOW)
    url = urlsplit(request.url)

    collector.get(f"{url.path}?{url.query}", headers=dict(request.headers))

    [recorded] = collector.get("/hits").get_json()
    assert recorded["valid"] is True
    assert recorded["messages"] == []
    assert recorded["params"]["tel"] == "+12015550123"
