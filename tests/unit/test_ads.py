"""Google Ads click conversions: the rule, the JSON body, the date-time, the hash, the PII guard.

Contract sources (cited once here, per test below where it matters):
- Body and answer shape: tests/data/ads/google_ads_v26_rest.json, written by the official
  `google-ads` 34.0.0 library from its v26 protos (tests/data/ads/README.md).
- ClickConversion fields and the date-time format: googleapis/googleapis,
  google/ads/googleads/v22/services/conversion_upload_service.proto (same in v26 of the library:
  google/ads/googleads/v26/services/types/conversion_upload_service.py).
- Hashing: https://developers.google.com/google-ads/api/docs/conversions/upload-identifiers
  (normalise the phone to E.164, then SHA-256, hex).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.ads_client import error_codes
from shared.errors import ConversionRejected, HitRejected, NoClickId, NotQualified
from shared.events import CallEvent, parse_event
from shared.hits.ads import (
    build_click_conversion,
    conversion_date_time,
    conversion_problems,
    hashed_phone_number,
    order_id,
    skip_reason,
    upload_body,
)
from shared.pii import find_pii
from shared.settings import Settings

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "data" / "ads" / "google_ads_v26_rest.json").read_text()
)
ACTION = "customers/1234567890/conversionActions/987654321"
CALLER = "+12015550123"
# `printf '+12015550123' | sha256sum`, an implementation independent of hashlib.
CALLER_SHA256 = "e7e096141fe6290f8c04e20b51a686070a9c40f7f304667849b430645aaaf07d"
SETTINGS = Settings(
    google_ads_customer_id="1234567890",
    google_ads_conversion_action=ACTION,
    google_ads_min_talk_s=60,
)


def call(**overrides: Any) -> CallEvent:
    fields: dict[str, Any] = {
        "source": "generic",
        "call_id": "c-1",
        "status": "answered",
        "started_at": "2026-11-30T14:05:09Z",
        "talk_s": 95,
        "caller": CALLER,
        "gclid": "EAIaIQobChMIdemo0001",
        "value": 120.5,
        "currency": "USD",
        **overrides,
    }
    return parse_event({k: v for k, v in fields.items() if v is not None}, "US")


def test_conversion_with_consent_and_enhanced_conversions_matches_the_official_library() -> None:
    # Golden: the official library's JSON of the same ClickConversion (README in tests/data/ads).
    settings = Settings(
        google_ads_customer_id="1234567890",
        google_ads_conversion_action=ACTION,
        google_ads_timezone=ZoneInfo("America/New_York"),
        google_ads_enhanced_conversions=True,
    )
    conversion = build_click_conversion(call(consent_ad_user_data="granted"), settings)
    assert upload_body([conversion]) == GOLDEN["request"]


def test_plain_conversion_carries_click_action_time_value_and_order_id_only() -> None:
    assert build_click_conversion(call(), SETTINGS) == {
        "gclid": "EAIaIQobChMIdemo0001",
        "conversionAction": ACTION,
        "conversionDateTime": "2026-11-30 14:05:09+00:00",
        "conversionValue": 120.5,
        "currencyCode": "USD",
        "orderId": order_id(call()),
    }


def test_enhanced_conversions_without_granted_consent_send_no_identifier() -> None:
    settings = Settings(google_ads_conversion_action=ACTION, google_ads_enhanced_conversions=True)
    denied = build_click_conversion(call(consent_ad_user_data="DENIED"), settings)
    silent = build_click_conversion(call(), settings)
    assert "userIdentifiers" not in denied
    assert denied["consent"] == {"adUserData": "DENIED"}
    assert "userIdentifiers" not in silent
    assert "consent" not in silent


def test_granted_consent_without_enhanced_conversions_sends_consent_but_no_hash() -> None:
    conversion = build_click_conversion(call(consent_ad_user_data="GRANTED"), SETTINGS)
    assert conversion["consent"] == {"adUserData": "GRANTED"}
    assert "userIdentifiers" not in conversion


@pytest.mark.parametrize(
    ("ids", "sent"),
    [
        ({"gclid": "G1", "wbraid": "W1", "gbraid": "B1"}, {"gclid": "G1"}),
        ({"gclid": None, "wbraid": "W1", "gbraid": "B1"}, {"wbraid": "W1"}),
        ({"gclid": None, "gbraid": "B1"}, {"gbraid": "B1"}),
    ],
)
def test_exactly_one_click_id_is_sent_gclid_first(
    ids: dict[str, str | None], sent: dict[str, str]
) -> None:
    # "GBRAID_WBRAID_BOTH_SET" (ConversionUploadError, v26): never two click ids in one row.
    conversion = build_click_conversion(call(**ids), SETTINGS)
    assert {k: conversion[k] for k in ("gclid", "gbraid", "wbraid") if k in conversion} == sent


def test_value_falls_back_to_the_configured_default_and_currency() -> None:
    settings = Settings(
        google_ads_conversion_action=ACTION,
        google_ads_default_value=40.0,
        google_ads_default_currency="EUR",
    )
    without_value = build_click_conversion(call(value=None, currency=None), settings)
    own_value = build_click_conversion(call(value=7, currency=None), settings)
    assert (without_value["conversionValue"], without_value["currencyCode"]) == (40.0, "EUR")
    assert (own_value["conversionValue"], own_value["currencyCode"]) == (7, "EUR")


def test_no_value_anywhere_leaves_value_to_the_conversion_action() -> None:
    conversion = build_click_conversion(call(value=None, currency=None), SETTINGS)
    assert "conversionValue" not in conversion
    assert "currencyCode" not in conversion


def test_order_id_is_stable_per_call_and_differs_between_calls() -> None:
    assert order_id(call()) == order_id(call(status="answered", talk_s=300))
    assert order_id(call()) != order_id(call(call_id="c-2"))
    assert order_id(call()) != order_id(call(source="generic", event_id="other"))


@pytest.mark.parametrize(
    ("moment", "zone", "text"),
    [
        (datetime(2026, 11, 30, 14, 5, 9, 999_000, tzinfo=UTC), UTC, "2026-11-30 14:05:09+00:00"),
        (datetime(2026, 1, 15, 14, 0, tzinfo=UTC), "America/New_York", "2026-01-15 09:00:00-05:00"),
        (datetime(2026, 7, 15, 14, 0, tzinfo=UTC), "America/New_York", "2026-07-15 10:00:00-04:00"),
        (datetime(2026, 3, 1, 20, 0, tzinfo=UTC), "Asia/Kolkata", "2026-03-02 01:30:00+05:30"),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "Asia/Kathmandu", "2026-03-01 17:45:00+05:45"),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "Pacific/Marquesas", "2026-03-01 02:30:00-09:30"),
    ],
)
def test_conversion_date_time_is_the_apis_format_with_the_zones_offset(
    moment: datetime, zone: Any, text: str
) -> None:
    # "yyyy-mm-dd hh:mm:ss+|-hh:mm", e.g. "2019-01-01 12:32:45-08:00" (ClickConversion docs).
    assert conversion_date_time(moment, UTC if zone is UTC else ZoneInfo(zone)) == text


def test_phone_hash_is_sha256_hex_of_e164_whatever_the_formatting() -> None:
    assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf8f01cfea")  # FIPS 180-2
    formats = ["+12015550123", "+1 (201) 555-0123", "(201) 555-0123", "201.555.0123"]
    assert {hashed_phone_number(phone, "US") for phone in formats} == {CALLER_SHA256}


def test_uk_national_number_is_hashed_in_its_international_form() -> None:
    expected = hashlib.sha256(b"+442079460018").hexdigest()
    assert hashed_phone_number("020 7946 0018", "GB") == expected


@pytest.mark.parametrize(
    ("overrides", "settings", "error", "detail"),
    [
        ({"gclid": None}, SETTINGS, NoClickId, "no gclid, gbraid or wbraid"),
        ({"status": "missed", "talk_s": 0}, SETTINGS, NotQualified, "status missed, not answered"),
        (
            {"talk_s": 59},
            SETTINGS,
            NotQualified,
            "talk time 59 s, under GOOGLE_ADS_MIN_TALK_SECONDS=60",
        ),
        (
            {"talk_s": None, "duration_s": None},
            SETTINGS,
            NotQualified,
            "talk time unknown, under GOOGLE_ADS_MIN_TALK_SECONDS=60",
        ),
        (
            {"first_call": False},
            Settings(google_ads_require=frozenset({"first_call"})),
            NotQualified,
            "not the caller's first call (GOOGLE_ADS_REQUIRE=first_call)",
        ),
        (
            {"lead_status": "not_a_lead"},
            Settings(google_ads_require=frozenset({"lead"})),
            NotQualified,
            "no lead_status in GA4_LEAD_STATUSES (GOOGLE_ADS_REQUIRE=lead)",
        ),
    ],
)
def test_calls_that_do_not_convert_are_skipped_with_the_reason(
    overrides: dict[str, Any], settings: Settings, error: type[Exception], detail: str
) -> None:
    reason = skip_reason(call(**overrides), settings)
    assert type(reason) is error
    assert reason.detail == detail
    with pytest.raises(error):
        build_click_conversion(call(**overrides), settings)


@pytest.mark.parametrize(
    ("overrides", "settings"),
    [
        ({"talk_s": 60}, SETTINGS),
        ({"talk_s": None, "duration_s": 75}, SETTINGS),
        ({"talk_s": 0}, Settings(google_ads_min_talk_s=0)),
        ({"first_call": True}, Settings(google_ads_require=frozenset({"first_call"}))),
        ({"lead_status": "Good_Lead"}, Settings(google_ads_require=frozenset({"lead"}))),
    ],
)
def test_qualifying_calls_are_not_skipped(overrides: dict[str, Any], settings: Settings) -> None:
    assert skip_reason(call(**overrides), settings) is None


def test_no_conversion_action_configured_is_rejected() -> None:
    with pytest.raises(HitRejected, match="GOOGLE_ADS_CONVERSION_ACTION"):
        build_click_conversion(call(), Settings())


def test_a_click_id_google_could_not_parse_is_rejected_before_sending() -> None:
    with pytest.raises(ConversionRejected) as raised:
        build_click_conversion(call(gclid="EAIa IQob/ChMI"), SETTINGS)
    assert raised.value.detail == "conversionUploadError UNPARSEABLE_GCLID gclid"


def test_local_checks_name_every_broken_rule() -> None:
    broken = {
        "gbraid": "B1",
        "wbraid": "W1",
        "conversionAction": "conversionActions/1",
        "conversionDateTime": "2026-11-30T14:05:09Z",
        "conversionValue": -1,
        "currencyCode": "usd",
        "userIdentifiers": [{"hashedPhoneNumber": CALLER}],
    }
    assert [str(problem) for problem in conversion_problems(broken)] == [
        "conversionUploadError GBRAID_WBRAID_BOTH_SET gbraid",
        "requestError RESOURCE_NAME_MALFORMED conversionAction",
        "dateError INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET conversionDateTime",
        "fieldError INVALID_VALUE conversionValue",
        "fieldError INVALID_VALUE currencyCode",
        "conversionUploadError INVALID_USER_IDENTIFIER userIdentifiers",
    ]


def test_partial_failure_codes_are_read_from_the_rest_answer() -> None:
    # Golden: the library's JSON of a partial failure (google.rpc.Status with GoogleAdsFailure).
    answer = json.dumps(GOLDEN["partial_failure_response"]).encode()
    assert error_codes(answer) == ["conversionUploadError CLICK_NOT_FOUND"]


def test_success_and_garbage_answers_carry_no_codes() -> None:
    assert error_codes(b'{"results":[{"gclid":"G1"}],"jobId":"7"}') == []
    assert error_codes(b"<html>") == []


def test_request_level_error_without_details_is_named_by_its_status() -> None:
    answer = b'{"error":{"code":401,"message":"m","status":"UNAUTHENTICATED"}}'
    assert error_codes(answer) == ["status UNAUTHENTICATED"]


# The PII guard's one exception: hashedPhoneNumber, as a digest, on google_ads only.


def _body(hashed: str, **extra: Any) -> dict[str, Any]:
    conversion = {"gclid": "G1", "userIdentifiers": [{"hashedPhoneNumber": hashed}], **extra}
    return upload_body([conversion])


def test_pii_guard_lets_the_hashed_phone_through_on_google_ads() -> None:
    assert find_pii(_body(CALLER_SHA256), (CALLER,), destination="google_ads") == []


@pytest.mark.parametrize("destination", ["ga4", "ua", "owox_ga4", ""])
def test_pii_guard_refuses_the_hashed_phone_on_any_other_destination(destination: str) -> None:
    assert find_pii(_body(CALLER_SHA256), (CALLER,), destination=destination) == [
        "conversions[0].userIdentifiers[0].hashedPhoneNumber"
    ]


def test_pii_guard_refuses_a_raw_phone_in_the_hashed_field_on_google_ads() -> None:
    found = find_pii(_body(CALLER), (CALLER,), destination="google_ads")
    assert found == ["conversions[0].userIdentifiers[0].hashedPhoneNumber"]


def test_pii_guard_refuses_a_raw_phone_elsewhere_in_the_ads_request() -> None:
    found = find_pii(
        _body(CALLER_SHA256, orderId="call 201-555-0123"), (CALLER,), destination="google_ads"
    )
    assert found == ["conversions[0].orderId"]


def test_pii_guard_refuses_other_hashed_identifiers_even_on_google_ads() -> None:
    body = upload_body([{"gclid": "G1", "userIdentifiers": [{"hashedEmail": CALLER_SHA256}]}])
    assert find_pii(body, (), destination="google_ads") == [
        "conversions[0].userIdentifiers[0].hashedEmail"
    ]


def test_calls_older_than_the_click_window_are_too_old_for_google_ads() -> None:
    from shared.destinations import DESTINATIONS
    from shared.errors import TooOld

    started = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)
    DESTINATIONS["google_ads"].check_age(call(), started + timedelta(days=90))
    with pytest.raises(TooOld, match="90 days"):
        DESTINATIONS["google_ads"].check_age(call(), started + timedelta(days=90, seconds=1))


def test_later_qualification_is_no_second_conversion_of_its_call() -> None:
    # The call (with its click id) converted when it was reported; a qualification of it is
    # skipped rather than uploaded as a second ClickConversion under the same action.
    qualification = call(
        kind="qualification", lead_status="good_lead", qualified_at="2026-12-02T09:00:00Z"
    )

    with pytest.raises(NotQualified) as raised:
        build_click_conversion(qualification, Settings(google_ads_conversion_action=ACTION))

    assert raised.value.detail == (
        "a later lead qualification, not a call; Google Ads takes calls only"
    )
