"""The GA4 body builder: whole bodies for realistic calls, clock skew, and cutting to limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.destinations import DESTINATIONS
from shared.errors import CallSkipped, TooOld
from shared.events import CallEvent, parse_event
from shared.hits.ga4 import build_ga4_body, fit_ga4_body, is_lead, owox_ga4_body
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


def call_params(call: CallEvent) -> dict[str, Any]:
    """The GA4 params every body for `event()` carries: the call and its attribution."""
    return {
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
    }


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
                    **call_params(call),
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


# GA4's recommended lead event and its parameters: "generate_lead … currency, value"
# (https://developers.google.com/analytics/devguides/collection/ga4/reference/events#generate_lead;
# https://support.google.com/analytics/answer/9267735 lists generate_lead for all properties).
def test_answered_first_call_with_a_value_is_also_a_generate_lead_with_the_same_params() -> None:
    call = event(first_call=True, value=120.5, currency="USD", custom={})

    body = build_ga4_body(call, SETTINGS, "1760224793.1424413995", NOW)

    params = {
        **call_params(call),
        "first_call": 1,
        "value": 120.5,
        "currency": "USD",
        "engagement_time_msec": 1,
    }
    assert body == {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(STARTED.timestamp()) * 1_000_000,
        "events": [
            {"name": "phone_call", "params": params},
            {"name": "generate_lead", "params": params},
        ],
    }


def test_repeat_call_is_a_phone_call_only_and_says_so() -> None:
    body = build_ga4_body(event(first_call=False, custom={}), SETTINGS, "1.2", NOW)

    assert [e["name"] for e in body["events"]] == ["phone_call"]
    assert body["events"][0]["params"]["first_call"] == 0


@pytest.mark.parametrize(
    ("fields", "lead"),
    [
        ({"first_call": True}, True),
        ({"first_call": True, "status": "missed"}, False),
        ({"first_call": True, "status": "voicemail"}, False),
        ({"first_call": True, "direction": "outbound"}, False),
        ({"first_call": None}, False),
        # Qualified by the platform, whatever the call's own outcome.
        ({"lead_status": "good_lead", "status": "missed"}, True),
        ({"lead_status": "Good_Lead"}, True),
        ({"lead_status": "proper"}, True),
        ({"lead_status": "target"}, True),
        ({"lead_status": "unique_target"}, True),
        ({"lead_status": "not_a_lead"}, False),
        ({"lead_status": "not_target"}, False),
        # A known lead calling again is not a new one.
        ({"lead_status": "previously_marked_good_lead"}, False),
    ],
)
def test_which_calls_are_leads(fields: dict[str, Any], lead: bool) -> None:
    assert is_lead(event(**fields), Settings()) is lead


def test_qualifying_statuses_follow_the_setting() -> None:
    settings = Settings(ga4_lead_statuses=frozenset({"hot"}))

    assert (
        is_lead(event(lead_status="HOT"), settings),
        is_lead(event(lead_status="good_lead"), settings),
    ) == (True, False)


def test_lead_event_name_follows_the_setting_and_can_be_off() -> None:
    lead = event(lead_status="good_lead")

    renamed = build_ga4_body(lead, Settings(ga4_lead_event_name="qualified_call"), "1.2", NOW)
    off = build_ga4_body(lead, Settings(ga4_lead_event_name=None), "1.2", NOW)

    assert [e["name"] for e in renamed["events"]] == ["phone_call", "qualified_call"]
    assert [e["name"] for e in off["events"]] == ["phone_call"]
    assert off["events"][0]["params"]["lead_status"] == "good_lead"


def test_a_mapped_custom_field_never_overrides_the_calls_own_value() -> None:
    settings = Settings(custom_parameters={"value": "cm1"})

    body = build_ga4_body(event(value=75.0, custom={"value": "75.00 USD"}), settings, "1.2", NOW)

    assert body["events"][0]["params"]["value"] == 75.0


# GA4 Measurement Protocol body `consent`: `ad_user_data` and `ad_personalization`, each
# GRANTED or DENIED (developers.google.com/analytics/devguides/collection/protocol/ga4/reference,
# "consent"; the same two fields and values in the Google Ads API's Consent message).
def test_calls_own_consent_is_the_only_addition_to_the_body() -> None:
    call = event(consent_ad_user_data="granted", consent_ad_personalization="DENIED")

    body = build_ga4_body(call, SETTINGS, "1.2", NOW)

    assert body == {
        **build_ga4_body(event(), SETTINGS, "1.2", NOW),
        "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
    }


def test_without_consent_or_a_default_no_consent_object_is_sent() -> None:
    assert "consent" not in build_ga4_body(event(), SETTINGS, "1.2", NOW)


def test_default_consent_fills_only_what_the_call_does_not_say() -> None:
    settings = Settings(
        ga4_consent_default={"ad_user_data": "DENIED", "ad_personalization": "DENIED"}
    )

    body = build_ga4_body(event(consent_ad_user_data="GRANTED"), settings, "1.2", NOW)

    assert body["consent"] == {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"}


# A qualification days after the call: GA4 takes events back-dated by 72 hours at most, so it
# is dated when it arrived, not at the call's start.
QUALIFIED = NOW - timedelta(minutes=2)
CALL_FOUR_DAYS_AGO = NOW - timedelta(days=4)


def qualification(lead_status: str, **overrides: Any) -> CallEvent:
    return event(
        kind="qualification",
        lead_status=lead_status,
        qualified_at=QUALIFIED.isoformat(),
        started_at=CALL_FOUR_DAYS_AGO.isoformat(),
        value=250.0,
        currency="USD",
        custom={},
        **overrides,
    )


def qualification_params(call: CallEvent, lead_status: str) -> dict[str, Any]:
    return {
        **call_params(call),
        # The call's own id, so the qualification joins its phone_call in a BigQuery export.
        "call_event_id": call.call_event_id,
        "lead_status": lead_status,
        "value": 250.0,
        "currency": "USD",
        "engagement_time_msec": 1,
    }


# Google's recommended events for lead generation, with `currency` and `value`:
# https://developers.google.com/analytics/devguides/collection/ga4/reference/events
# (qualify_lead, disqualify_lead); `lead_status` is GA4's own parameter name too
# (Firebase Analytics' AnalyticsParameterLeadStatus).
@pytest.mark.parametrize(
    ("lead_status", "name"), [("good_lead", "qualify_lead"), ("not_a_lead", "disqualify_lead")]
)
def test_qualification_is_one_lead_event_dated_when_it_arrived(lead_status: str, name: str) -> None:
    call = qualification(lead_status)

    body = build_ga4_body(call, SETTINGS, "1760224793.1424413995", NOW)

    assert body == {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(QUALIFIED.timestamp()) * 1_000_000,
        "events": [{"name": name, "params": qualification_params(call, lead_status)}],
    }
    assert call.call_event_id != call.event_id


def test_owox_ga4_qualification_is_the_ga4_body_plus_tel() -> None:
    call = qualification("good_lead")
    body = build_ga4_body(call, SETTINGS, "1760224793.1424413995", NOW)

    assert owox_ga4_body(body, call.caller)["events"] == [
        {
            "name": "qualify_lead",
            "params": {**qualification_params(call, "good_lead"), "tel": "+12015550123"},
        }
    ]


def test_qualification_statuses_follow_the_settings() -> None:
    settings = Settings(
        ga4_lead_statuses=frozenset({"hot"}), ga4_not_lead_statuses=frozenset({"junk"})
    )

    names = [
        build_ga4_body(qualification(status), settings, "1.2", NOW)["events"][0]["name"]
        for status in ("HOT", "Junk")
    ]

    assert names == ["qualify_lead", "disqualify_lead"]


def test_qualification_with_a_status_in_neither_setting_is_skipped_with_the_reason() -> None:
    with pytest.raises(CallSkipped) as raised:
        build_ga4_body(qualification("previously_marked_good_lead"), SETTINGS, "1.2", NOW)

    assert raised.value.detail == (
        "lead status in neither GA4_LEAD_STATUSES nor GA4_NOT_LEAD_STATUSES; "
        "the qualification is not sent"
    )


def test_a_qualification_days_after_its_call_is_young_enough_for_ga4() -> None:
    # GA4 takes events 72 hours back: the age that counts is the qualification's, not the call's.
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    qualification = parse_event(
        {
            "source": "callrail",
            "kind": "qualification",
            "call_id": "CAL-aged-1",
            "status": "answered",
            "started_at": "2026-11-20T09:00:00Z",
            "qualified_at": "2026-11-30T11:00:00Z",
            "lead_status": "good_lead",
        },
        "US",
    )
    DESTINATIONS["ga4"].check_age(qualification, now)
    with pytest.raises(TooOld, match="call qualified"):
        DESTINATIONS["ga4"].check_age(qualification, now + timedelta(hours=73))
