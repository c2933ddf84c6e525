"""`dispatch` to `google_ads`: uploads at the local Google Ads stand-in, and every outcome.

The stand-in (tools/collector.py) answers in the REST form of the official library's v26 protos
(tests/data/ads/README.md); error codes are ConversionUploadError values of google-ads 34.0.0,
google/ads/googleads/v26/errors/types/conversion_upload_error.py.
"""

# The dispatch tests' fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from shared.events import CallEvent
from shared.hits.ads import order_id
from tests.functions.conftest import function_client
from tests.functions.pubsub import Spy
from tests.functions.test_dispatch import (
    DEAD_LETTER_TOPIC,
    Collector,
    call_event,
    collector,  # noqa: F401 (fixture)
    collector_server,  # noqa: F401 (fixture)
    dead_letter_attributes,
    dead_letter_topic,  # noqa: F401 (fixture)
    dead_letters,  # noqa: F401 (fixture)
    push,
    started,
)

ACTION = "customers/1234567890/conversionActions/987654321"
CALLER = "+12015550123"
GCLID = "EAIaIQobChMIfnAds0001"


@pytest.fixture
def make_ads_client(
    monkeypatch: pytest.MonkeyPatch, collector: Collector, dead_letters: Spy, empty_ledger: Any
) -> Any:
    """A dispatch client whose google_ads destination talks to the stand-in."""

    def make(**env: str) -> FlaskClient:
        settings = {
            "DEAD_LETTER_TOPIC": DEAD_LETTER_TOPIC,
            "HTTP_TIMEOUT_SECONDS": "5",
            "GOOGLE_ADS_API_URL": collector.url,
            "GOOGLE_ADS_TOKEN_URL": f"{collector.url}/token",
            "GOOGLE_ADS_CUSTOMER_ID": "123-456-7890",
            "GOOGLE_ADS_LOGIN_CUSTOMER_ID": "1112223334",
            "GOOGLE_ADS_CONVERSION_ACTION": ACTION,
            "GOOGLE_ADS_DEVELOPER_TOKEN": "dev-token",
            "GOOGLE_ADS_CLIENT_ID": "dev-client.apps.googleusercontent.com",
            "GOOGLE_ADS_CLIENT_SECRET": "dev-client-secret",
            "GOOGLE_ADS_REFRESH_TOKEN": "dev-refresh-token",
            **env,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        return function_client("dispatch")

    return make


@pytest.fixture
def ads_client(make_ads_client: Any) -> FlaskClient:
    client: FlaskClient = make_ads_client()
    return client


def ads_call(call_id: str, **overrides: Any) -> CallEvent:
    fields: dict[str, Any] = {
        "call_id": call_id,
        "gclid": GCLID,
        "talk_s": 120,
        "value": 250,
        "currency": "USD",
        **overrides,
    }
    return call_event(**fields)


def uploads(collector: Collector) -> list[dict[str, Any]]:
    return [hit for hit in collector.hits() if hit["destination"] == "google_ads"]


def ads_fault(collector: Collector, **fault: Any) -> None:
    response = requests.post(f"{collector.url}/faults", json=fault, timeout=5)
    response.raise_for_status()


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]


def test_answered_call_with_gclid_becomes_one_click_conversion(
    ads_client: FlaskClient, collector: Collector
) -> None:
    event = ads_call("fn-ads-1")
    response = push(ads_client, "google_ads", event)
    assert response.status_code == 204
    [upload] = uploads(collector)
    assert (upload["path"], upload["valid"], upload["messages"]) == (
        "/v26/customers/1234567890:uploadClickConversions",
        True,
        [],
    )
    assert upload["headers"]["login-customer-id"] == "1112223334"
    start = started(timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S+00:00")
    assert upload["params"] == {
        "conversions": [
            {
                "gclid": GCLID,
                "conversionAction": ACTION,
                "conversionDateTime": start,
                "orderId": order_id(event),
                "conversionValue": 250,
                "currencyCode": "USD",
            }
        ],
        "partialFailure": True,
    }


def test_the_same_call_again_uploads_nothing_more(
    ads_client: FlaskClient, collector: Collector
) -> None:
    event = ads_call("fn-ads-2")
    push(ads_client, "google_ads", event)
    again = push(ads_client, "google_ads", event)
    assert again.status_code == 204
    assert len(uploads(collector)) == 1


def test_a_conversion_google_already_has_counts_as_sent_and_is_logged_duplicate(
    ads_client: FlaskClient,
    collector: Collector,
    dead_letters: Spy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # ORDER_ID_ALREADY_IN_USE: "The imported event includes an order ID that was previously
    # recorded" (ConversionUploadError, v26).
    ads_fault(collector, ads_error="ORDER_ID_ALREADY_IN_USE", times=1)
    event = ads_call("fn-ads-3")
    assert push(ads_client, "google_ads", event).status_code == 204
    outcomes = [(line["outcome"], line.get("detail")) for line in logged(capsys)]
    assert ("duplicate", "conversionUploadError ORDER_ID_ALREADY_IN_USE") in outcomes
    assert dead_letters.nothing()


@pytest.mark.parametrize(
    ("ads_error", "reason"),
    [
        ("CLICK_NOT_FOUND", "conversion_rejected"),
        ("UNPARSEABLE_GCLID", "conversion_rejected"),
        ("NO_CONVERSION_ACTION_FOUND", "conversion_rejected"),
        ("EXPIRED_EVENT", "too_old"),
        ("TOO_RECENT_CONVERSION_ACTION", "too_recent"),
    ],
)
def test_a_partial_failure_for_the_row_is_dead_lettered_with_googles_code(
    ads_client: FlaskClient,
    collector: Collector,
    dead_letters: Spy,
    ads_error: str,
    reason: str,
) -> None:
    ads_fault(collector, ads_error=ads_error, times=1)
    event = ads_call(f"fn-ads-{ads_error}")
    assert push(ads_client, "google_ads", event).status_code == 204
    [letter] = dead_letters.pull()
    assert letter.attributes == dead_letter_attributes(
        reason, "google_ads", event.event_id, f"conversionUploadError {ads_error}"
    )


@pytest.mark.parametrize("status", [401, 403, 429, 500])
def test_authentication_quota_and_server_errors_are_retried(
    ads_client: FlaskClient, collector: Collector, dead_letters: Spy, status: int
) -> None:
    ads_fault(collector, status=status, times=1, path_prefix="/v26/")
    response = push(ads_client, "google_ads", ads_call(f"fn-ads-retry-{status}"))
    assert response.status_code == 503
    assert dead_letters.nothing()


def test_enhanced_conversions_send_the_e164_hash_and_no_digits_of_the_phone(
    make_ads_client: Any, collector: Collector
) -> None:
    client = make_ads_client(GOOGLE_ADS_ENHANCED_CONVERSIONS="true")
    event = ads_call("fn-ads-ec", consent_ad_user_data="granted")
    assert push(client, "google_ads", event).status_code == 204
    [upload] = uploads(collector)
    [conversion] = upload["params"]["conversions"]
    assert conversion["userIdentifiers"] == [
        {
            "userIdentifierSource": "FIRST_PARTY",
            # `printf '+12015550123' | sha256sum`
            "hashedPhoneNumber": "e7e096141fe6290f8c04e20b51a686070a9c40f7f304667849b430645aaaf07d",
        }
    ]
    assert conversion["consent"] == {"adUserData": "GRANTED"}
    assert "2015550123" not in upload["body"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"gclid": None}, "no_click_id"), ({"talk_s": 5}, "not_qualified")],
)
def test_a_call_that_is_no_conversion_is_skipped_with_the_reason(
    ads_client: FlaskClient,
    collector: Collector,
    dead_letters: Spy,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, Any],
    reason: str,
) -> None:
    event = ads_call(f"fn-ads-skip-{reason}", **overrides)
    assert push(ads_client, "google_ads", event).status_code == 204
    assert uploads(collector) == []
    skipped = [line for line in logged(capsys) if line["outcome"] == "skipped"]
    assert [(line["reason"], line["event_id"]) for line in skipped] == [(reason, event.event_id)]
    assert dead_letters.nothing()
