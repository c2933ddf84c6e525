"""Whole events with phones hidden in them: no request bound for Google ever carries one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from shared.errors import BadPayload, PiiBlocked
from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_request
from shared.hits.outbound import OutboundRequest
from shared.hits.ua import build_owox_request, build_ua_request
from shared.settings import Settings
from tests.unit.test_pii import ENCODINGS, written_phones

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    ua_property_id="UA-12345678-1",
    ga4_measurement_id="G-TEST1234",
    ga4_api_secret="test-secret",
    custom_parameters={"keyword": "cd3"},
)
GOOGLE_BUILDERS = {"ua": build_ua_request, "ga4": build_ga4_request}
CARRIERS = (
    "{}",
    "call {} now",
    "https://www.example.com/contact?phone={}&utm_source=google",
    "https://www.example.com/call/{}/thanks",
    "spring_{}_sale",
)
# Where a sender's data reaches a hit: attribution, URLs and mapped custom fields.
HIDING_PLACES = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing_page",
    "referrer",
    "custom.keyword",
)


def _event(place: str, value: str, caller: str) -> CallEvent:
    data: dict[str, Any] = {
        "source": "generic",
        "call_id": "c-1",
        "status": "answered",
        "started_at": (NOW - timedelta(minutes=5)).isoformat(),
        "duration_s": 60,
        "caller": caller,
        "client_id": "1760224793.1424413995",
    }
    if place.startswith("custom."):
        data["custom"] = {place.removeprefix("custom."): value}
    elif place in ("landing_page", "referrer") and not value.startswith("https://"):
        data[place] = "https://www.example.com/?q=" + value
    else:
        data[place] = value
    return parse_event(data, "US")


def _sent_text(request: OutboundRequest) -> str:
    return request.url + (request.body or b"").decode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    phone=written_phones(),
    encode=st.sampled_from(ENCODINGS),
    carrier=st.sampled_from(CARRIERS),
    place=st.sampled_from(HIDING_PLACES),
    destination=st.sampled_from(sorted(GOOGLE_BUILDERS)),
)
def test_callers_phone_hidden_anywhere_never_reaches_google(
    phone: tuple[str, str], encode: Any, carrier: str, place: str, destination: str
) -> None:
    caller, written = phone
    try:
        event = _event(place, carrier.format(encode(written)), caller)
    except BadPayload:
        reject()  # a value the event model refuses never gets as far as a hit
    with pytest.raises(PiiBlocked):
        GOOGLE_BUILDERS[destination](event, SETTINGS, NOW)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    phone=written_phones(),
    carrier=st.sampled_from(CARRIERS),
    place=st.sampled_from(HIDING_PLACES),
)
def test_owox_keeps_the_call_whatever_the_attribution_holds(
    phone: tuple[str, str], carrier: str, place: str
) -> None:
    caller, written = phone
    try:
        event = _event(place, carrier.format(written), caller)
    except BadPayload:
        reject()
    request = build_owox_request(event, SETTINGS, NOW)
    assert "tel=" + caller.replace("+", "%2B") in request.url


def test_clean_event_is_sent_to_google_without_the_phone() -> None:
    event = _event("utm_campaign", "fall_storm_2024", "+12015550123")
    for build in GOOGLE_BUILDERS.values():
        assert "2015550123" not in _sent_text(build(event, SETTINGS, NOW))
