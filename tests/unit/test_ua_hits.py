"""Universal Analytics v1 hits: the base hit, OWOX BI's hit with `tel`, and their encoding."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from shared.errors import CallSkipped, ConfigError, HitRejected
from shared.events import CallEvent, CallStatus, parse_event
from shared.hits.ua import (
    build_ua_hit,
    cache_buster,
    custom_parameters,
    encode_hit,
    event_label,
    owox_hit,
    queue_time_ms,
)
from shared.settings import Settings

DATA = Path(__file__).resolve().parent.parent / "data" / "hits"
STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = STARTED + timedelta(seconds=90)
CLIENT_ID = "1760224793.1424413995"


def answered_call(**overrides: Any) -> CallEvent:
    """A realistic answered inbound call with web attribution and two custom fields."""
    return parse_event(
        {
            "source": "generic",
            "call_id": "CA-1001",
            "status": "answered",
            "direction": "inbound",
            "started_at": "2024-05-01T12:00:00Z",
            "duration_s": 187,
            "talk_s": 170,
            "caller": "+12015550123",
            "tracking_number": "+12015550188",
            "client_id": "GA1.2.1760224793.1424413995",
            "user_id": "crm-7781",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "fall storm 2024",
            "gclid": "EAIaIQobChMIdemo0001",
            "landing_page": "https://www.example.com/roof-repair?x=1",
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "custom": {"agent": "Dana", "score": 4},
            **overrides,
        },
        "US",
    )


def minimal_call(**overrides: Any) -> CallEvent:
    """A call with only the required fields."""
    return parse_event(
        {
            "source": "generic",
            "call_id": "CA-2002",
            "status": "missed",
            "started_at": "2024-05-01T12:00:00Z",
            **overrides,
        },
        "US",
    )


@pytest.fixture
def hit_settings() -> Settings:
    return Settings(
        ua_property_id="UA-12345678-1",
        custom_parameters={"agent": "cd3", "score": "cm1"},
    )


def golden(name: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((DATA / name).read_text())
    return loaded


def test_base_hit_for_a_realistic_call_matches_the_golden_hit(hit_settings: Settings) -> None:
    hit = build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW)
    assert hit == golden("ua_base_hit.json")


def test_base_hit_keeps_the_golden_parameter_order(hit_settings: Settings) -> None:
    hit = build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW)
    assert list(hit) == list(golden("ua_base_hit.json"))


def test_base_hit_never_carries_a_phone_number(hit_settings: Settings) -> None:
    hit = build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW)
    assert not any("5550123" in value or "5550188" in value for value in hit.values())


def test_owox_hit_is_the_base_hit_plus_tel_before_ds(hit_settings: Settings) -> None:
    base = build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW)
    expected = dict(golden("ua_base_hit.json"))
    expected.pop("ds")
    expected.pop("z")
    expected.update({"tel": "+12015550123", "ds": "call center", "z": "66483152834966"})
    hit = owox_hit(base, "+12015550123")
    assert hit == expected
    assert list(hit) == list(expected)


def test_owox_hit_leaves_the_base_hit_untouched(hit_settings: Settings) -> None:
    base = build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW)
    owox_hit(base, "+12015550123")
    assert base == golden("ua_base_hit.json")


def test_owox_hit_without_a_caller_is_the_base_hit() -> None:
    base = {"v": "1", "tid": "UA-12345678-1", "ds": "call center"}
    assert owox_hit(base, None) == base


def test_owox_hit_without_ds_appends_tel() -> None:
    base = {"v": "1", "tid": "UA-12345678-1", "z": "1"}
    assert owox_hit(base, "+12015550123") == {
        "v": "1",
        "tid": "UA-12345678-1",
        "z": "1",
        "tel": "+12015550123",
    }


def test_encode_hit_sends_plus_as_percent_2b_and_space_as_percent_20() -> None:
    hit = {"tel": "+12015550123", "cn": "fall storm", "dl": "https://x.example/a?b=c&d"}
    assert encode_hit(hit) == (
        "tel=%2B12015550123&cn=fall%20storm&dl=https%3A%2F%2Fx.example%2Fa%3Fb%3Dc%26d"
    )


def test_encoded_hit_decodes_back_to_the_same_hit(hit_settings: Settings) -> None:
    hit = owox_hit(build_ua_hit(answered_call(), hit_settings, CLIENT_ID, NOW), "+12015550123")
    assert dict(parse_qsl(encode_hit(hit), keep_blank_values=True)) == hit


def test_zero_duration_is_kept_as_the_event_value(hit_settings: Settings) -> None:
    hit = build_ua_hit(minimal_call(duration_s=0), hit_settings, CLIENT_ID, NOW)
    assert hit["ev"] == "0"


def test_minimal_call_gives_a_hit_without_absent_fields(hit_settings: Settings) -> None:
    event = minimal_call(utm_source="", duration_s=None)
    hit = build_ua_hit(event, hit_settings, CLIENT_ID, NOW)
    assert hit == {
        "v": "1",
        "tid": "UA-12345678-1",
        "cid": CLIENT_ID,
        "t": "event",
        "ec": "call",
        "ea": "missed",
        "el": "generic",
        "qt": "90000",
        "ds": "call center",
        "z": cache_buster(event.event_id),
    }


def test_empty_setting_values_are_dropped_from_the_hit(hit_settings: Settings) -> None:
    settings = replace(hit_settings, data_source="", event_label="{utm_campaign}")
    hit = build_ua_hit(minimal_call(), settings, CLIENT_ID, NOW)
    assert "ds" not in hit
    assert "el" not in hit


def test_event_property_id_wins_over_the_setting(hit_settings: Settings) -> None:
    hit = build_ua_hit(minimal_call(property_id="UA-99999999-3"), hit_settings, CLIENT_ID, NOW)
    assert hit["tid"] == "UA-99999999-3"


def test_missing_property_id_is_rejected() -> None:
    with pytest.raises(HitRejected, match="property id"):
        build_ua_hit(minimal_call(), Settings(), CLIENT_ID, NOW)


def test_event_action_follows_the_configured_mapping(hit_settings: Settings) -> None:
    settings = replace(hit_settings, event_actions={CallStatus.MISSED: "missed call"})
    hit = build_ua_hit(minimal_call(), settings, CLIENT_ID, NOW)
    assert (hit["ec"], hit["ea"]) == ("call", "missed call")


def test_custom_fields_map_to_dimensions_and_metrics() -> None:
    settings = Settings(
        custom_parameters={"agent": "cd3", "score": "cm1", "qualified": "cm2", "value": "cm4"}
    )
    event = answered_call(custom={"agent": "Dana", "score": 4, "qualified": True, "value": 12.5})
    assert custom_parameters(event, settings) == {
        "cd3": "Dana",
        "cm1": 4,
        "cm2": 1,
        "cm4": 12.5,
    }


def test_non_numeric_metric_is_left_out() -> None:
    settings = Settings(custom_parameters={"agent": "cm2", "score": "cm1"})
    event = answered_call(custom={"agent": "Dana", "score": 4})
    assert custom_parameters(event, settings) == {"cm1": 4}


def test_mapped_custom_field_absent_from_the_event_is_left_out() -> None:
    settings = Settings(custom_parameters={"agent": "cd3", "region": "cd4"})
    assert custom_parameters(answered_call(custom={"agent": "Dana"}), settings) == {"cd3": "Dana"}


def test_non_pii_event_field_can_be_a_custom_dimension() -> None:
    settings = Settings(custom_parameters={"status": "cd5"})
    assert custom_parameters(answered_call(), settings) == {"cd5": "answered"}


def test_whole_float_metric_is_sent_without_a_decimal_point(hit_settings: Settings) -> None:
    hit = build_ua_hit(answered_call(custom={"score": 5.0}), hit_settings, CLIENT_ID, NOW)
    assert hit["cm1"] == "5"


def test_label_template_fills_in_event_fields() -> None:
    settings = Settings(event_label="{source}|{status}|{utm_campaign}")
    assert event_label(answered_call(), settings) == "generic|answered|fall storm 2024"


def test_label_template_leaves_absent_fields_empty() -> None:
    settings = Settings(event_label="{source} {utm_campaign}")
    assert event_label(minimal_call(), settings) == "generic"


def test_queue_time_is_milliseconds_since_the_call_started() -> None:
    assert queue_time_ms(minimal_call(), STARTED + timedelta(minutes=3, milliseconds=250)) == 180250


def test_queue_time_is_never_negative_when_the_clocks_differ() -> None:
    assert queue_time_ms(minimal_call(), STARTED - timedelta(seconds=5)) == 0


def test_cache_buster_is_stable_per_event_and_differs_between_events() -> None:
    assert cache_buster(answered_call().event_id) == cache_buster(answered_call().event_id)
    assert cache_buster(answered_call().event_id) != cache_buster(minimal_call().event_id)


def test_lead_signals_map_to_custom_dimensions_and_metrics() -> None:
    # The seed's rule carried to the lead signals: OWOX BI's hit is the UA hit plus `tel`, so
    # both carry the platform's qualification where CUSTOM_PARAMETERS maps it.
    settings = Settings.from_env(
        {
            "UA_PROPERTY_ID": "UA-12345678-1",
            "CUSTOM_PARAMETERS": "lead_status=cd4,first_call=cd5,value=cm1,recording_available=cm2",
        }
    )
    event = parse_event(
        {
            "source": "callrail",
            "call_id": "CAL-lead-1",
            "status": "answered",
            "started_at": "2026-11-27T09:14:22Z",
            "first_call": True,
            "lead_status": "good_lead",
            "value": 125.5,
            "recording_available": False,
        },
        "US",
    )
    hit = build_ua_hit(event, settings, "1.2", event.started_at)
    assert {key: hit[key] for key in ("cd4", "cd5", "cm1", "cm2")} == {
        "cd4": "good_lead",
        "cd5": "1",
        "cm1": "125.5",
        "cm2": "0",
    }


def test_a_phone_field_cannot_be_mapped_to_a_custom_dimension() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CUSTOM_PARAMETERS": "tracking_number=cd1"})
    assert "tracking_number" in str(raised.value)


def test_later_qualification_is_skipped_not_sent_as_another_call(hit_settings: Settings) -> None:
    qualification = answered_call(
        kind="qualification", lead_status="good_lead", qualified_at=NOW.isoformat()
    )

    with pytest.raises(CallSkipped) as raised:
        build_ua_hit(qualification, hit_settings, "555.666", NOW)

    assert raised.value.detail == (
        "a later lead qualification, not a call; Universal Analytics hits report calls only"
    )
