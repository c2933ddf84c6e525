"""Each destination's request, built and checked before anything is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.destinations import DESTINATIONS
from shared.errors import HitRejected, HitTooLarge, TooOld
from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_request, build_owox_ga4_request
from shared.hits.ua import MAX_GET_URL_BYTES, build_owox_request, build_ua_request
from shared.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    ua_property_id="UA-12345678-1",
    owox_endpoint="https://acme.bi.owox.com",
    ga4_measurement_id="G-MAIN1234",
    ga4_api_secret="main-secret",
    ga4_api_secrets={"G-OTHER999": "other-secret"},
    owox_ga4_url="https://streaming.bi.owox.com/ga4/acme/mp",
    user_agent="owox-call-bridge/test",
)


def event(**overrides: Any) -> CallEvent:
    call = {
        "source": "generic",
        "call_id": "c-1",
        "status": "answered",
        "started_at": (NOW - timedelta(minutes=5)).isoformat(),
        "duration_s": 60,
        "caller": "+12015550123",
        "client_id": "1760224793.1424413995",
        **overrides,
    }
    return parse_event(call, "US")


def test_owox_hit_is_a_get_in_the_partner_specs_shape() -> None:
    request = build_owox_request(event(), SETTINGS, NOW)

    url = urlsplit(request.url)
    assert (request.method, url.scheme, url.netloc, url.path) == (
        "GET",
        "https",
        "acme.bi.owox.com",
        "/UA-12345678-1",
    )
    assert url.query.startswith("v=1&tid=UA-12345678-1&cid=1760224793.1424413995&t=event&")
    assert "&tel=%2B12015550123&ds=call%20center&z=" in url.query
    assert request.headers == {"User-Agent": "owox-call-bridge/test"}


def test_owox_hit_too_long_for_a_url_is_posted_to_the_same_path() -> None:
    long = event(
        landing_page="https://www.example.com/" + "x" * 2000,
        gclid="g" * 2000,
        dclid="d" * 2000,
        referrer="https://r.example/" + "y" * 2000,
    )

    request = build_owox_request(long, SETTINGS, NOW)

    assert request.method == "POST"
    assert request.url == "https://acme.bi.owox.com/UA-12345678-1"
    assert request.body is not None
    assert len(request.body) > MAX_GET_URL_BYTES
    assert dict(parse_qsl(request.body.decode()))["tel"] == "+12015550123"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_ua_hit_is_a_form_post_without_the_phone() -> None:
    request = build_ua_request(event(), SETTINGS, NOW)

    assert (request.method, request.url) == ("POST", "https://www.google-analytics.com/collect")
    assert request.body is not None
    params = dict(parse_qsl(request.body.decode()))
    assert "tel" not in params
    assert params["tid"] == "UA-12345678-1"
    assert request.headers["User-Agent"] == "owox-call-bridge/test"


def test_ua_hit_over_eight_kilobytes_is_too_large() -> None:
    long = event(
        landing_page="https://www.example.com/" + "x" * 2000,
        gclid="g" * 2000,
        dclid="d" * 2000,
        referrer="https://r.example/" + "y" * 2000,
        user_agent="Mozilla/5.0 " + "z" * 2000,
    )

    with pytest.raises(HitTooLarge):
        build_ua_request(long, SETTINGS, NOW)


def test_ga4_request_names_the_stream_and_its_secret() -> None:
    request = build_ga4_request(event(), SETTINGS, NOW)

    url = urlsplit(request.url)
    assert url.path == "/mp/collect"
    assert dict(parse_qsl(url.query)) == {
        "measurement_id": "G-MAIN1234",
        "api_secret": "main-secret",
    }
    assert request.headers["Content-Type"] == "application/json"


def test_event_with_its_own_stream_uses_that_streams_secret() -> None:
    request = build_ga4_request(event(measurement_id="G-OTHER999"), SETTINGS, NOW)

    query = dict(parse_qsl(urlsplit(request.url).query))
    assert query == {"measurement_id": "G-OTHER999", "api_secret": "other-secret"}


def test_stream_without_a_secret_is_rejected() -> None:
    with pytest.raises(HitRejected, match="no API secret"):
        build_ga4_request(event(measurement_id="G-UNKNOWN1"), SETTINGS, NOW)


def test_owox_ga4_posts_the_ga4_body_plus_tel_to_the_streaming_url() -> None:
    request = build_owox_ga4_request(event(), SETTINGS, NOW)

    google = json.loads(build_ga4_request(event(), SETTINGS, NOW).body or b"")
    google["events"][0]["params"]["tel"] = "+12015550123"
    assert (request.method, request.url) == ("POST", "https://streaming.bi.owox.com/ga4/acme/mp")
    assert request.headers == {
        "User-Agent": "owox-call-bridge/test",
        "Content-Type": "application/json",
    }
    assert json.loads(request.body or b"") == google


def test_owox_ga4_keeps_a_call_too_old_for_google() -> None:
    five_days = event(started_at=(NOW - timedelta(days=5)).isoformat())

    body = json.loads(build_owox_ga4_request(five_days, SETTINGS, NOW).body or b"")

    assert body["timestamp_micros"] == int((NOW - timedelta(days=5)).timestamp()) * 1_000_000
    with pytest.raises(TooOld):
        DESTINATIONS["ga4"].check_age(five_days, NOW)
    DESTINATIONS["owox_ga4"].check_age(five_days, NOW)


def test_owox_ga4_without_a_streaming_url_is_rejected() -> None:
    with pytest.raises(HitRejected, match="OWOX_GA4_URL"):
        build_owox_ga4_request(event(), Settings(), NOW)


@pytest.mark.parametrize(
    ("destination", "age", "too_old"),
    [
        ("ua", timedelta(hours=3, minutes=59), False),
        ("ua", timedelta(hours=4, minutes=1), True),
        ("ga4", timedelta(hours=71), False),
        ("ga4", timedelta(hours=73), True),
        ("owox", timedelta(days=29), False),
        ("owox", timedelta(days=31), True),
        ("owox_ga4", timedelta(days=29), False),
        ("owox_ga4", timedelta(days=31), True),
    ],
)
def test_each_destination_refuses_calls_older_than_its_limit(
    destination: str, age: timedelta, too_old: bool
) -> None:
    old = event(started_at=(NOW - age).isoformat())

    if too_old:
        with pytest.raises(TooOld):
            DESTINATIONS[destination].check_age(old, NOW)
    else:
        DESTINATIONS[destination].check_age(old, NOW)
