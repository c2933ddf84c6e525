"""Measurement Protocol rules: realistic call hits pass, each broken variant gets Google's code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from shared.rules.ga4 import (
    Ga4Message,
    ga4_event_name_problem,
    validate_ga4_body,
    validate_ga4_query,
)
from shared.rules.ua import ParserMessage, ua_payload_limit, validate_ua_hit, validate_ua_payload
from tests.hits import CALL_HIT, OWOX_CALL_HIT
from tools.debug_answers import (
    debug_collect_response,
    debug_mp_collect_response,
    is_valid,
    validate_ua_batch,
)

HIT = CALL_HIT
OWOX_HIT = OWOX_CALL_HIT
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NOW_MICROS = int(NOW.timestamp() * 1_000_000)

Summary = list[tuple[str, str, str | None]]


def params(query: str = HIT, /, **changes: str | None) -> dict[str, str]:
    """The hit as a dict, with keys replaced (or removed when the change is None)."""
    hit = dict(parse_qsl(query, keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            hit.pop(key, None)
        else:
            hit[key] = value
    return hit


def summary(messages: list[ParserMessage]) -> Summary:
    return [(m.message_type, m.message_code, m.parameter) for m in messages]


def ga4_summary(messages: list[Ga4Message]) -> list[tuple[str, str]]:
    return [(m.field_path, m.validation_code) for m in messages]


def call_body(**changes: object) -> dict[str, object]:
    """A realistic GA4 body for an answered call, with top-level keys replaced."""
    body: dict[str, object] = {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": NOW_MICROS - 60_000_000,
        "non_personalized_ads": True,
        "events": [
            {
                "name": "phone_call",
                "params": {
                    "call_source": "callrail",
                    "call_status": "answered",
                    "duration_sec": 187,
                    "session_id": "1732700000",
                    "engagement_time_msec": 1,
                    "page_location": "https://www.example.com/roof-repair",
                },
            }
        ],
    }
    body.update(changes)
    return body


def event(**params_: object) -> dict[str, object]:
    return {"name": "phone_call", "params": params_}


# --- UA: realistic hits ----------------------------------------------------------------------


def test_realistic_call_event_hit_has_no_messages_for_google() -> None:
    assert validate_ua_hit(params(), "google") == []


def test_realistic_owox_hit_with_tel_has_no_messages() -> None:
    assert validate_ua_hit(params(OWOX_HIT), "owox") == []


def test_realistic_owox_payload_has_no_messages() -> None:
    assert validate_ua_payload(OWOX_HIT.encode(), "owox", method="GET") == []


def test_tel_in_a_google_hit_is_a_pii_error() -> None:
    assert validate_ua_hit(params(OWOX_HIT), "google") == [
        ParserMessage(
            "ERROR",
            "PII_DETECTED",
            "Parameter 'tel' carries personal data and is only allowed for OWOX BI; "
            "Google Analytics forbids it.",
            "tel",
        )
    ]


def test_email_in_a_google_hit_is_a_pii_error_even_when_empty() -> None:
    assert summary(validate_ua_hit(params(email=""), "google")) == [
        ("ERROR", "PII_DETECTED", "email")
    ]


def test_invalid_tid_message_reads_like_googles() -> None:
    assert validate_ua_hit(params(tid="G-ABC123XYZ"), "google")[0].to_json() == {
        "messageType": "ERROR",
        "description": "The value provided for parameter 'tid' is invalid: expected a Universal "
        "Analytics property id like UA-12345678-1.",
        "messageCode": "VALUE_INVALID",
        "parameter": "tid",
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tid": "G-ABC123XYZ"}, [("ERROR", "VALUE_INVALID", "tid")]),
        ({"tid": "fake"}, [("ERROR", "VALUE_INVALID", "tid")]),
        ({"tid": "UA-123-1"}, [("ERROR", "VALUE_INVALID", "tid")]),
        ({"tid": None}, [("ERROR", "VALUE_REQUIRED", "tid")]),
        ({"v": "2"}, [("ERROR", "VALUE_INVALID", "v")]),
        ({"v": None}, [("ERROR", "VALUE_REQUIRED", "v")]),
        ({"t": None}, [("ERROR", "VALUE_REQUIRED", "t")]),
        ({"t": "call"}, [("ERROR", "VALUE_INVALID", "t")]),
        ({"cid": None}, [("ERROR", "VALUE_REQUIRED", "cid")]),
        ({"cid": ""}, [("ERROR", "VALUE_REQUIRED", "cid")]),
        ({"ec": None}, [("ERROR", "VALUE_REQUIRED", "ec")]),
        ({"ea": "  "}, [("ERROR", "VALUE_REQUIRED", "ea")]),
        ({"ev": "1.5"}, [("ERROR", "VALUE_INVALID", "ev")]),
        ({"ev": "-1"}, [("ERROR", "VALUE_INVALID", "ev")]),
        ({"ev": ""}, [("ERROR", "VALUE_INVALID", "ev")]),
        ({"ev": "١٨٧"}, [("ERROR", "VALUE_INVALID", "ev")]),
        ({"qt": "-1"}, [("ERROR", "VALUE_INVALID", "qt")]),
        ({"qt": "14400001"}, [("ERROR", "VALUE_INVALID", "qt")]),
        ({"ni": "2"}, [("ERROR", "VALUE_INVALID", "ni")]),
        ({"ni": "true"}, [("ERROR", "VALUE_INVALID", "ni")]),
        ({"sc": "restart"}, [("ERROR", "VALUE_INVALID", "sc")]),
        ({"uip": "203.0.113"}, [("ERROR", "VALUE_INVALID", "uip")]),
        ({"cm1": "twelve"}, [("ERROR", "VALUE_INVALID", "cm1")]),
        ({"cd201": "x"}, [("ERROR", "VALUE_INVALID", "cd201")]),
        ({"cd0": "x"}, [("ERROR", "VALUE_INVALID", "cd0")]),
        ({"cd01": "x"}, [("ERROR", "VALUE_INVALID", "cd01")]),
        ({"cg6": "x"}, [("ERROR", "VALUE_INVALID", "cg6")]),
        ({"cd1": "x" * 151}, [("WARN", "VALUE_TRUNCATED", "cd1")]),
        ({"cd1": "é" * 76}, [("WARN", "VALUE_TRUNCATED", "cd1")]),
        ({"cm": "x" * 51}, [("WARN", "VALUE_TRUNCATED", "cm")]),
        ({"foo": "bar"}, [("INFO", "UNKNOWN_PARAMETER", "foo")]),
        ({"tel": "+12015550123"}, [("ERROR", "PII_DETECTED", "tel")]),
        ({"ti": "T-1"}, [("WARN", "PARAMETER_IGNORED", "ti")]),
        ({"pr1id": "SKU-1"}, [("WARN", "PARAMETER_IGNORED", "pr1id")]),
        ({"aid": "com.example"}, [("ERROR", "VALUE_REQUIRED", "an")]),
    ],
)
def test_broken_event_hit_gets_googles_code_on_the_parameter(
    changes: dict[str, str | None], expected: Summary
) -> None:
    assert summary(validate_ua_hit(params(**changes), "google")) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"tid": "ua-12345678-1"},
        {"cid": None, "uid": "crm-42"},
        {"ev": "0"},
        {"qt": "14400000"},
        {"cd1": "x" * 150},
        {"cd200": "x", "cg5": "x", "cm200": "2.5"},
        {"aip": "", "npa": "1"},
        {"pa": "purchase", "ti": "T-1", "tr": "$-55.00", "cu": "USD", "pr1id": "SKU-1"},
        {"pa": "detail", "il1pi200cd3": "x", "il1pi1pr": "9.99", "promo1id": "P1"},
        {"uip": "2001:db8::1"},
    ],
)
def test_valid_variants_of_the_event_hit_have_no_messages(changes: dict[str, str | None]) -> None:
    assert validate_ua_hit(params(**changes), "google") == []


def test_queue_time_over_four_hours_is_valid_for_owox() -> None:
    assert validate_ua_hit(params(OWOX_HIT, qt="86400000"), "owox") == []


def test_queue_time_over_thirty_days_is_invalid_for_owox() -> None:
    assert summary(validate_ua_hit(params(OWOX_HIT, qt="2592000001"), "owox")) == [
        ("ERROR", "VALUE_INVALID", "qt")
    ]


def test_owox_tel_sent_with_an_unencoded_plus_is_invalid() -> None:
    # `tel=+1201…` in a query string decodes to " 1201…": the seed requires %2B.
    hit = params(OWOX_HIT.replace("%2B", "+"))
    assert summary(validate_ua_hit(hit, "owox")) == [("ERROR", "VALUE_INVALID", "tel")]


def test_owox_email_must_look_like_an_address() -> None:
    assert summary(validate_ua_hit(params(OWOX_HIT, email="nobody"), "owox")) == [
        ("ERROR", "VALUE_INVALID", "email")
    ]


def test_pageview_without_location_or_host_and_path_is_missing_dl() -> None:
    hit = params(t="pageview", ec=None, ea=None, el=None, ev=None, dl=None)
    assert summary(validate_ua_hit(hit, "google")) == [("ERROR", "VALUE_REQUIRED", "dl")]


def test_pageview_with_host_and_path_is_valid() -> None:
    hit = params(t="pageview", ec=None, ea=None, el=None, ev=None, dl=None, dh="a.com", dp="/")
    assert validate_ua_hit(hit, "google") == []


def test_event_fields_on_a_pageview_are_reported_as_ignored() -> None:
    hit = params(t="pageview", ec=None, ea=None, ev=None)
    assert summary(validate_ua_hit(hit, "google")) == [("WARN", "PARAMETER_IGNORED", "el")]


@pytest.mark.parametrize(
    ("hit", "expected"),
    [
        ("v=1&tid=UA-1234-1&cid=1&t=transaction", [("ERROR", "VALUE_REQUIRED", "ti")]),
        (
            "v=1&tid=UA-1234-1&cid=1&t=transaction&ti=T1&tr=12.1234567",
            [("ERROR", "VALUE_INVALID", "tr")],
        ),
        ("v=1&tid=UA-1234-1&cid=1&t=item&ti=T1", [("ERROR", "VALUE_REQUIRED", "in")]),
        ("v=1&tid=UA-1234-1&cid=1&t=item&ti=T1&in=x&iq=1.5", [("ERROR", "VALUE_INVALID", "iq")]),
        ("v=1&tid=UA-1234-1&cid=1&t=social&sn=x&sa=y", [("ERROR", "VALUE_REQUIRED", "st")]),
        ("v=1&tid=UA-1234-1&cid=1&t=timing&utc=a&utv=b", [("ERROR", "VALUE_REQUIRED", "utt")]),
        ("v=1&tid=UA-1234-1&cid=1&t=screenview", [("ERROR", "VALUE_REQUIRED", "cd")]),
        ("v=1&tid=UA-1234-1&cid=1&t=exception&exf=yes", [("ERROR", "VALUE_INVALID", "exf")]),
        ("v=1&tid=UA-1234-1&cid=1&t=event&ec=a&ea=b&pa=buy", [("ERROR", "VALUE_INVALID", "pa")]),
        ("v=1&tid=UA-1234-1&cid=1&t=exception&exd=boom&exf=0", []),
        ("v=1&tid=UA-1234-1&cid=1&t=timing&utc=a&utv=b&utt=20&plt=5", []),
    ],
)
def test_per_hit_type_rules(hit: str, expected: Summary) -> None:
    assert summary(validate_ua_hit(params(hit), "google")) == expected


def test_hit_missing_everything_reports_each_required_parameter() -> None:
    assert summary(validate_ua_hit({}, "google")) == [
        ("ERROR", "VALUE_REQUIRED", "v"),
        ("ERROR", "VALUE_REQUIRED", "tid"),
        ("ERROR", "VALUE_REQUIRED", "t"),
        ("ERROR", "VALUE_REQUIRED", "cid"),
    ]


# --- UA: payloads and batches ----------------------------------------------------------------


def padded(size: int, base: str = HIT) -> bytes:
    """The hit with its cache buster grown so the payload is exactly `size` bytes."""
    payload = base.encode()
    return payload + b"0" * (size - len(payload))


def test_payload_limits_are_8192_bytes_for_google_and_16_kb_for_owox() -> None:
    assert (ua_payload_limit("google"), ua_payload_limit("owox")) == (8192, 16384)


def test_google_post_hit_of_8192_bytes_is_accepted() -> None:
    assert validate_ua_payload(padded(8192), "google") == []


def test_google_post_hit_of_8193_bytes_is_too_large() -> None:
    assert summary(validate_ua_payload(padded(8193), "google")) == [
        ("ERROR", "PAYLOAD_TOO_LARGE", None)
    ]


def test_google_get_hit_is_limited_to_8000_bytes() -> None:
    assert summary(validate_ua_payload(padded(8001), "google", method="GET")) == [
        ("ERROR", "PAYLOAD_TOO_LARGE", None)
    ]


def test_owox_hit_of_16_kb_is_accepted_and_one_byte_more_is_not() -> None:
    accepted = validate_ua_payload(padded(16384, OWOX_HIT + "&z2="), "owox")
    refused = validate_ua_payload(padded(16385, OWOX_HIT + "&z2="), "owox")
    assert (summary(accepted), summary(refused)) == (
        [("INFO", "UNKNOWN_PARAMETER", "z2")],
        [("ERROR", "PAYLOAD_TOO_LARGE", None), ("INFO", "UNKNOWN_PARAMETER", "z2")],
    )


def test_payload_decodes_percent_encoding_and_plus() -> None:
    payload = urlencode({**params(), "el": "call back + later"}, quote_via=quote).encode()
    assert validate_ua_payload(payload, "google") == []


def test_conflicting_duplicate_parameter_warns_and_first_value_wins() -> None:
    assert summary(validate_ua_payload((HIT + "&ev=1.5").encode(), "google")) == [
        ("WARN", "PARAMETER_DUPLICATED", "ev")
    ]


def test_repeated_identical_parameter_is_not_reported() -> None:
    assert validate_ua_payload((HIT + "&ev=187").encode(), "google") == []


def test_bytes_that_are_not_utf8_are_replaced_and_reported() -> None:
    assert summary(validate_ua_payload((HIT + "&cd1=%FFcall").encode(), "google")) == [
        ("WARN", "VALUE_MODIFIED", "cd1")
    ]


def test_batch_of_twenty_valid_hits_is_valid() -> None:
    result = validate_ua_batch([HIT.encode()] * 20)
    assert (result.batch_messages, result.hit_messages) == ((), ((),) * 20)


def test_batch_of_twenty_one_hits_has_too_many_hits() -> None:
    result = validate_ua_batch([b"v=1"] * 21)
    assert [(m.message_code, m.parameter) for m in result.batch_messages] == [
        ("TOO_MANY_HITS", None)
    ]


def test_batch_over_16_kb_in_total_is_too_large() -> None:
    result = validate_ua_batch([padded(5000)] * 4)
    assert (summary(list(result.batch_messages)), result.hit_messages) == (
        [("ERROR", "PAYLOAD_TOO_LARGE", None)],
        ((),) * 4,
    )


def test_batch_line_over_8_kb_is_too_large_on_its_own() -> None:
    result = validate_ua_batch([HIT.encode(), padded(8193)])
    assert [summary(list(hit)) for hit in result.hit_messages] == [
        [],
        [("ERROR", "PAYLOAD_TOO_LARGE", None)],
    ]


def test_empty_batch_is_reported() -> None:
    assert summary(list(validate_ua_batch([]).batch_messages)) == [
        ("ERROR", "VALUE_REQUIRED", None)
    ]


# --- UA: response shapes ---------------------------------------------------------------------


def test_parser_message_json_omits_a_missing_parameter() -> None:
    assert ParserMessage("INFO", "VALUE_MODIFIED", "IP anonymised.").to_json() == {
        "messageType": "INFO",
        "description": "IP anonymised.",
        "messageCode": "VALUE_MODIFIED",
    }


def test_debug_collect_response_matches_googles_shape() -> None:
    bad = ParserMessage("ERROR", "VALUE_INVALID", "Bad tid.", "tid")
    info = ParserMessage("INFO", "UNKNOWN_PARAMETER", "Unknown.", "foo")
    response = debug_collect_response(
        [("/debug/collect?v=1&tid=fake", [bad]), ("/debug/collect?v=1&foo=1", [info])]
    )
    assert response == {
        "hitParsingResult": [
            {
                "valid": False,
                "parserMessage": [
                    {
                        "messageType": "ERROR",
                        "description": "Bad tid.",
                        "messageCode": "VALUE_INVALID",
                        "parameter": "tid",
                    }
                ],
                "hit": "/debug/collect?v=1&tid=fake",
            },
            {
                "valid": True,
                "parserMessage": [
                    {
                        "messageType": "INFO",
                        "description": "Unknown.",
                        "messageCode": "UNKNOWN_PARAMETER",
                        "parameter": "foo",
                    }
                ],
                "hit": "/debug/collect?v=1&foo=1",
            },
        ],
        "parserMessage": [{"messageType": "INFO", "description": "Found 2 hits in the request."}],
    }


def test_debug_collect_response_counts_a_single_hit_in_the_singular() -> None:
    assert debug_collect_response([("/debug/collect?v=1", [])])["parserMessage"] == [
        {"messageType": "INFO", "description": "Found 1 hit in the request."}
    ]


def test_warnings_and_infos_keep_a_hit_valid_but_an_error_does_not() -> None:
    warn = ParserMessage("WARN", "VALUE_TRUNCATED", "Long.", "dl")
    error = ParserMessage("ERROR", "VALUE_INVALID", "Bad.", "tid")
    assert (is_valid([]), is_valid([warn]), is_valid([warn, error])) == (True, True, False)


def test_any_ga4_message_makes_a_body_invalid() -> None:
    assert is_valid([Ga4Message("events", "Bad.", "NAME_INVALID")]) is False


# --- GA4 -------------------------------------------------------------------------------------


def test_realistic_ga4_call_body_has_no_messages() -> None:
    assert validate_ga4_body(call_body(), NOW) == []


def test_realistic_ga4_call_body_as_bytes_has_no_messages() -> None:
    assert validate_ga4_body(json.dumps(call_body()).encode(), NOW) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"client_id": None}, [("client_id", "VALUE_REQUIRED")]),
        ({"client_id": 17602247}, [("client_id", "VALUE_INVALID")]),
        ({"user_id": "u" * 257}, [("user_id", "VALUE_OUT_OF_BOUNDS")]),
        ({"timestamp_micros": "1732700000000000"}, [("timestamp_micros", "VALUE_INVALID")]),
        (
            {"timestamp_micros": NOW_MICROS - 72 * 3600 * 1_000_000 - 1},
            [("timestamp_micros", "VALUE_OUT_OF_BOUNDS")],
        ),
        (
            {"timestamp_micros": NOW_MICROS + 6 * 60 * 1_000_000},
            [("timestamp_micros", "VALUE_OUT_OF_BOUNDS")],
        ),
        ({"events": []}, [("events", "VALUE_REQUIRED")]),
        ({"events": "phone_call"}, [("events", "VALUE_INVALID")]),
        ({"events": [event()] * 26}, [("events", "EXCEEDED_MAX_ENTITIES")]),
        ({"events": [{"params": {}}]}, [("events[0].name", "VALUE_REQUIRED")]),
        ({"events": [{"name": "_badEventName"}]}, [("events[0].name", "NAME_INVALID")]),
        ({"events": [{"name": "phone-call"}]}, [("events[0].name", "NAME_INVALID")]),
        ({"events": [{"name": "a" * 41}]}, [("events[0].name", "NAME_INVALID")]),
        ({"events": [{"name": "page_view"}]}, [("events[0].name", "NAME_RESERVED")]),
        ({"events": [{"name": "firebase_call"}]}, [("events[0].name", "NAME_RESERVED")]),
        ({"events": [event(_label="x")]}, [("events[0].params._label", "NAME_RESERVED")]),
        ({"events": [event(google_x="x")]}, [("events[0].params.google_x", "NAME_RESERVED")]),
        ({"events": [event(gclid="x")]}, [("events[0].params.gclid", "NAME_RESERVED")]),
        (
            {"events": [event(**{"call-label": "x"})]},
            [("events[0].params.call-label", "NAME_INVALID")],
        ),
        ({"events": [event(label="x" * 101)]}, [("events[0].params.label", "VALUE_OUT_OF_BOUNDS")]),
        ({"events": [event(label=None)]}, [("events[0].params.label", "VALUE_INVALID")]),
        ({"events": [event(label={"a": 1})]}, [("events[0].params.label", "VALUE_INVALID")]),
        (
            {"events": [event(**{f"p{i}": i for i in range(26)})]},
            [("events[0].params", "EXCEEDED_MAX_ENTITIES")],
        ),
        (
            {"events": [{"name": "phone_call", "timestamp_micros": 1}]},
            [("events[0].timestamp_micros", "VALUE_OUT_OF_BOUNDS")],
        ),
        ({"events": [{"name": "phone_call", "value": 1}]}, [("events[0].value", "VALUE_INVALID")]),
        ({"user_properties": {"plan": "gold"}}, [("user_properties.plan.value", "VALUE_REQUIRED")]),
        (
            {"user_properties": {"plan": {"value": "x" * 37}}},
            [("user_properties.plan.value", "VALUE_OUT_OF_BOUNDS")],
        ),
        (
            {"user_properties": {"p" * 25: {"value": "x"}}},
            [("user_properties." + "p" * 25, "NAME_INVALID")],
        ),
        (
            {"user_properties": {"first_visit_time": {"value": "x"}}},
            [("user_properties.first_visit_time", "NAME_RESERVED")],
        ),
        (
            {"user_properties": {"ga_plan": {"value": "x"}}},
            [("user_properties.ga_plan", "NAME_RESERVED")],
        ),
        (
            {"user_properties": {f"p{i}": {"value": i} for i in range(26)}},
            [("user_properties", "EXCEEDED_MAX_ENTITIES")],
        ),
        ({"consent": {"ad_user_data": "YES"}}, [("consent.ad_user_data", "VALUE_INVALID")]),
        ({"non_personalized_ads": "true"}, [("non_personalized_ads", "VALUE_INVALID")]),
        ({"ip_override": "203.0.113"}, [("ip_override", "VALUE_INVALID")]),
        ({"validation_behavior": "STRICT"}, [("validation_behavior", "VALUE_INVALID")]),
        ({"measurement_id": "G-ABC"}, [("measurement_id", "VALUE_INVALID")]),
    ],
)
def test_broken_ga4_body_gets_googles_code_on_the_field(
    changes: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    body = {k: v for k, v in call_body(**changes).items() if v is not None}
    assert ga4_summary(validate_ga4_body(body, NOW)) == expected


@pytest.mark.parametrize(
    ("name", "length"), [("page_title", 300), ("page_referrer", 420), ("page_location", 1000)]
)
def test_long_page_parameters_have_their_own_limits(name: str, length: int) -> None:
    within = validate_ga4_body(call_body(events=[event(**{name: "x" * length})]), NOW)
    beyond = validate_ga4_body(call_body(events=[event(**{name: "x" * (length + 1)})]), NOW)
    assert (ga4_summary(within), ga4_summary(beyond)) == (
        [],
        [(f"events[0].params.{name}", "VALUE_OUT_OF_BOUNDS")],
    )


def test_timestamp_exactly_72_hours_old_is_accepted() -> None:
    old = NOW_MICROS - 72 * 3600 * 1_000_000
    assert validate_ga4_body(call_body(timestamp_micros=old), NOW) == []


def test_naive_now_is_taken_as_utc() -> None:
    assert validate_ga4_body(call_body(), NOW.replace(tzinfo=None)) == []


def test_app_stream_needs_a_32_hex_digit_app_instance_id() -> None:
    body = call_body(client_id=None, app_instance_id="not-hex")
    body.pop("client_id")
    assert ga4_summary(validate_ga4_body(body, NOW, stream="app")) == [
        ("app_instance_id", "VALUE_INVALID")
    ]


def test_duplicated_parameter_names_in_raw_json_are_reported() -> None:
    raw = (
        b'{"client_id": "1.2", "events": [{"name": "phone_call", '
        b'"params": {"call_status": "answered", "call_status": "missed"}}]}'
    )
    assert ga4_summary(validate_ga4_body(raw, NOW)) == [("events[0].params", "NAME_DUPLICATED")]


def test_duplicated_user_property_names_in_raw_json_are_reported() -> None:
    raw = (
        b'{"client_id": "1.2", "user_properties": {"plan": {"value": "a"}, "plan": {"value": "b"}},'
        b' "events": [{"name": "phone_call"}]}'
    )
    assert ga4_summary(validate_ga4_body(raw, NOW)) == [("user_properties", "NAME_DUPLICATED")]


def test_body_that_is_not_json_is_invalid() -> None:
    assert ga4_summary(validate_ga4_body(b"events=phone_call", NOW)) == [("", "VALUE_INVALID")]


def test_body_of_130_000_bytes_is_out_of_bounds() -> None:
    big = call_body(events=[event(**{f"p{i}": "x" * 100 for i in range(25)})] * 25)
    big["user_id"] = "u" * 256
    raw = json.dumps(big).encode()
    raw = raw[:-1] + b" " * (130_000 - len(raw)) + b"}"
    assert ga4_summary(validate_ga4_body(raw, NOW)) == [("", "VALUE_OUT_OF_BOUNDS")]


def test_debug_mp_collect_response_matches_googles_shape() -> None:
    message = Ga4Message(
        "events",
        "Event at index: [0] has invalid name [_badEventName]. "
        "Names must start with an alphabetic character.",
        "NAME_INVALID",
    )
    assert debug_mp_collect_response([message]) == {
        "validationMessages": [
            {
                "fieldPath": "events",
                "description": "Event at index: [0] has invalid name [_badEventName]. "
                "Names must start with an alphabetic character.",
                "validationCode": "NAME_INVALID",
            }
        ]
    }


def test_valid_request_has_an_empty_validation_message_list() -> None:
    assert debug_mp_collect_response([]) == {"validationMessages": []}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"measurement_id": "G-ABC123XYZ", "api_secret": "s3cr3t"}, []),
        ({"firebase_app_id": "1:123:android:abc", "api_secret": "s3cr3t"}, []),
        ({"api_secret": "s3cr3t"}, [("measurement_id", "VALUE_REQUIRED")]),
        (
            {"measurement_id": "UA-12345678-1", "api_secret": "s"},
            [("measurement_id", "VALUE_INVALID")],
        ),
        ({"measurement_id": "G-ABC123XYZ"}, [("api_secret", "VALUE_REQUIRED")]),
    ],
)
def test_ga4_collect_query_needs_a_measurement_id_and_api_secret(
    query: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert ga4_summary(validate_ga4_query(query)) == expected


def test_events_are_checked_against_the_current_time() -> None:
    later = NOW + timedelta(hours=73)
    assert ga4_summary(validate_ga4_body(call_body(), later)) == [
        ("timestamp_micros", "VALUE_OUT_OF_BOUNDS")
    ]


def test_a_longer_max_age_accepts_older_events() -> None:
    last_week = NOW_MICROS - 7 * 24 * 3600 * 1_000_000
    body = call_body(timestamp_micros=last_week)
    assert validate_ga4_body(body, NOW, max_age=timedelta(days=30)) == []


def _ga4_with_param(name: str, value: object) -> dict[str, object]:
    return {
        "client_id": "1.2",
        "events": [{"name": "phone_call", "params": {name: value, "engagement_time_msec": 1}}],
    }


@pytest.mark.parametrize("phone", ["201-555-0123", "12015550123", 12015550123, "+0123456"])
def test_ga4_tel_must_be_e164_like_owox_bis_ua_access_point(phone: object) -> None:
    messages = validate_ga4_body(_ga4_with_param("tel", phone), datetime(2026, 11, 27, tzinfo=UTC))
    assert [(m.field_path, m.validation_code) for m in messages] == [
        ("events[0].params.tel", "VALUE_INVALID")
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [("tel", "+12015550123"), ("first_call", 1), ("lead_status", "good_lead"), ("value", 120.5),
     ("currency", "USD"), ("session_id", "1764243000")],
)  # fmt: skip
def test_the_call_and_lead_params_pass_googles_rules(name: str, value: object) -> None:
    body = _ga4_with_param(name, value)
    assert validate_ga4_body(body, datetime(2026, 11, 27, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("phone_call", None),
        ("generate_lead", None),
        ("session_start", "Event name [session_start] is reserved."),
        ("ga_call", "Event name [ga_call] is reserved."),
        ("call-1", "Names may only contain alphanumeric characters and underscores."),
    ],
)
def test_event_name_problem_applies_ga4_naming_rules(name: str, problem: str | None) -> None:
    assert ga4_event_name_problem(name) == problem
