"""The local collector: Google/OWOX BI endpoints, validation answers, recording, faults."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.hits import CALL_HIT, CALL_HIT_PARAMS, OWOX_CALL_HIT
from tools.collector import GIF, create_app

HIT = CALL_HIT
OWOX_HIT = OWOX_CALL_HIT
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
GA4_QUERY = "?measurement_id=G-ABC123XYZ&api_secret=s3cr3t"


def ga4_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": "1760224793.1424413995",
        "timestamp_micros": int(NOW.timestamp() * 1_000_000) - 60_000_000,
        "events": [
            {
                "name": "phone_call",
                "params": {"call_status": "answered", "session_id": "1", "engagement_time_msec": 1},
            }
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def client() -> FlaskClient:
    return create_app(strict=False, clock=lambda: NOW, seed=1).test_client()


@pytest.fixture
def strict_client() -> FlaskClient:
    return create_app(strict=True, clock=lambda: NOW).test_client()


def hits(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/hits{query}")
    assert response.status_code == 200
    recorded: list[dict[str, Any]] = response.get_json()
    return recorded


def codes(record: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(m["messageCode"], m.get("parameter")) for m in record["messages"]]


def test_healthz_answers_200(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


def test_collect_post_answers_a_gif_like_google(client: FlaskClient) -> None:
    response = client.post("/collect", data=HIT, content_type=FORM)
    assert (response.status_code, response.content_type, response.data) == (200, "image/gif", GIF)


def test_collect_post_is_recorded_with_its_parsed_parameters(client: FlaskClient) -> None:
    client.post("/collect", data=HIT, content_type=FORM, headers={"User-Agent": "bridge/1.0"})
    assert hits(client) == [
        {
            "id": 1,
            "received_at": "2026-11-27T12:00:00.000+00:00",
            "method": "POST",
            "path": "/collect",
            "query": "",
            "headers": {"User-Agent": "bridge/1.0", "Content-Type": FORM},
            "body": HIT,
            "params": CALL_HIT_PARAMS,
            "target": "google",
            "destination": "ua",
            "valid": True,
            "messages": [],
            "fault": None,
        }
    ]


def test_collect_get_reads_parameters_from_the_query(client: FlaskClient) -> None:
    client.get(f"/collect?{HIT}")
    (record,) = hits(client)
    assert (record["method"], record["body"], record["params"]["ds"]) == ("GET", "", "call center")


def test_invalid_hit_still_gets_googles_200_but_is_recorded_invalid(client: FlaskClient) -> None:
    response = client.post("/collect", data=HIT.replace("UA-12345678-1", "G-ABC123XYZ"))
    (record,) = hits(client)
    assert (response.status_code, record["valid"], codes(record)) == (
        200,
        False,
        [("VALUE_INVALID", "tid")],
    )


def test_strict_mode_answers_400_to_an_invalid_hit(strict_client: FlaskClient) -> None:
    response = strict_client.post("/collect", data="v=1&t=event")
    assert (response.status_code, response.get_json()["hitParsingResult"][0]["valid"]) == (
        400,
        False,
    )


def test_strict_mode_still_answers_200_to_a_valid_hit(strict_client: FlaskClient) -> None:
    assert strict_client.post("/collect", data=HIT).status_code == 200


def test_strict_mode_can_be_switched_on_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLLECTOR_STRICT", "1")
    assert create_app().test_client().post("/collect", data="v=1").status_code == 400


def test_strict_mode_keeps_debug_answers_at_200(strict_client: FlaskClient) -> None:
    assert strict_client.post("/debug/collect", data="v=1").status_code == 200


def test_debug_collect_answers_like_googles_validation_server(client: FlaskClient) -> None:
    response = client.get("/debug/collect?v=1&tid=UA-XXXXXX-Y&cid=555&t=pageview&dp=%2F")
    assert response.get_json() == {
        "hitParsingResult": [
            {
                "valid": False,
                "parserMessage": [
                    {
                        "messageType": "ERROR",
                        "description": "The value provided for parameter 'tid' is invalid: "
                        "expected a Universal Analytics property id like UA-12345678-1.",
                        "messageCode": "VALUE_INVALID",
                        "parameter": "tid",
                    },
                    {
                        "messageType": "ERROR",
                        "description": "A value is required for parameter 'dl' (or both 'dh' "
                        "and 'dp') for hit type 'pageview'.",
                        "messageCode": "VALUE_REQUIRED",
                        "parameter": "dl",
                    },
                ],
                "hit": "/debug/collect?v=1&tid=UA-XXXXXX-Y&cid=555&t=pageview&dp=%2F",
            }
        ],
        "parserMessage": [{"messageType": "INFO", "description": "Found 1 hit in the request."}],
    }


def test_debug_collect_keeps_googles_key_order(client: FlaskClient) -> None:
    answer = json.loads(client.get("/debug/collect?v=1").get_data(as_text=True))
    first = answer["hitParsingResult"][0]["parserMessage"][0]
    assert (list(answer), list(first)) == (
        ["hitParsingResult", "parserMessage"],
        ["messageType", "description", "messageCode", "parameter"],
    )


def test_debug_collect_post_with_several_lines_validates_each(client: FlaskClient) -> None:
    response = client.post("/debug/collect", data=f"{HIT}\nv=1\n")
    results = response.get_json()["hitParsingResult"]
    assert ([r["valid"] for r in results], response.get_json()["parserMessage"][0]) == (
        [True, False],
        {"messageType": "INFO", "description": "Found 2 hits in the request."},
    )


def test_debug_collect_is_recorded_as_ua_debug(client: FlaskClient) -> None:
    client.get(f"/debug/collect?{HIT}")
    assert [r["destination"] for r in hits(client)] == ["ua_debug"]


def test_phone_in_a_google_hit_is_reported_as_pii(client: FlaskClient) -> None:
    client.post("/collect", data=HIT.replace("el=callrail", "el=call%20%28201%29%20555-0123"))
    (record,) = hits(client)
    assert (record["valid"], codes(record)) == (False, [("PII_DETECTED", "el")])


def test_tel_in_a_google_hit_is_reported_once(client: FlaskClient) -> None:
    client.post("/collect", data=OWOX_HIT)
    assert codes(hits(client)[0]) == [("PII_DETECTED", "tel")]


def test_phone_sent_to_owox_is_caught_later_in_any_form_on_google(client: FlaskClient) -> None:
    client.get(f"/owox/UA-12345678-1?{OWOX_HIT}")
    client.post("/collect", data=HIT.replace("z=8f3a2c", "z=2015550123"))
    assert codes(hits(client, "?destination=ua")[0]) == [("PII_DETECTED", "z")]


def test_batch_records_each_hit_separately(client: FlaskClient) -> None:
    response = client.post("/batch", data=f"{HIT}\r\n{HIT.replace('ev=187', 'ev=-1')}\n")
    records = hits(client)
    assert (response.status_code, [(r["destination"], r["valid"]) for r in records]) == (
        200,
        [("ua_batch", True), ("ua_batch", False)],
    )


def test_batch_of_twenty_one_hits_marks_every_hit_invalid(client: FlaskClient) -> None:
    client.post("/batch", data="\n".join([HIT] * 21))
    records = hits(client)
    assert {tuple(codes(r)) for r in records} == {(("TOO_MANY_HITS", None),)}


def test_ga4_collect_answers_204_and_records_the_parsed_body(client: FlaskClient) -> None:
    body = ga4_body()
    response = client.post(f"/mp/collect{GA4_QUERY}", json=body)
    (record,) = hits(client)
    assert (response.status_code, record["params"], record["valid"], record["destination"]) == (
        204,
        body,
        True,
        "ga4",
    )


def test_ga4_collect_is_get_only_for_nobody(client: FlaskClient) -> None:
    assert client.get(f"/mp/collect{GA4_QUERY}").status_code == 405


def test_ga4_collect_without_api_secret_is_recorded_invalid(client: FlaskClient) -> None:
    client.post("/mp/collect?measurement_id=G-ABC123XYZ", json=ga4_body())
    assert codes_ga4(hits(client)[0]) == [("api_secret", "VALUE_REQUIRED")]


def codes_ga4(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["fieldPath"], m["validationCode"]) for m in record["messages"]]


def test_debug_mp_collect_answers_with_validation_messages(client: FlaskClient) -> None:
    body = ga4_body(events=[{"name": "_badEventName"}])
    response = client.post(f"/debug/mp/collect{GA4_QUERY}", json=body)
    assert response.get_json() == {
        "validationMessages": [
            {
                "fieldPath": "events[0].name",
                "description": "Event has invalid name [_badEventName]. "
                "Names must start with an alphabetic character.",
                "validationCode": "NAME_INVALID",
            }
        ]
    }


def test_debug_mp_collect_answers_an_empty_list_to_a_valid_body(client: FlaskClient) -> None:
    response = client.post(f"/debug/mp/collect{GA4_QUERY}", json=ga4_body())
    assert (response.status_code, response.get_json()) == (200, {"validationMessages": []})


def test_ga4_timestamps_are_checked_against_the_collector_clock(client: FlaskClient) -> None:
    old = int(NOW.timestamp() * 1_000_000) - 73 * 3600 * 1_000_000
    client.post(f"/mp/collect{GA4_QUERY}", json=ga4_body(timestamp_micros=old))
    assert codes_ga4(hits(client)[0]) == [("timestamp_micros", "VALUE_OUT_OF_BOUNDS")]


def test_phone_in_a_ga4_body_is_reported_with_its_path(client: FlaskClient) -> None:
    body = ga4_body()
    body["events"][0]["params"]["caller"] = "+1 201 555 0123"
    response = client.post(f"/debug/mp/collect{GA4_QUERY}", json=body)
    assert [m["fieldPath"] for m in response.get_json()["validationMessages"]] == [
        "events[0].params.caller"
    ]


def test_ga4_body_that_is_not_json_is_recorded_with_empty_params(client: FlaskClient) -> None:
    client.post(f"/mp/collect{GA4_QUERY}", data="not json", content_type="application/json")
    (record,) = hits(client)
    assert (record["params"], record["body"], codes_ga4(record)) == (
        {},
        "not json",
        [("", "VALUE_INVALID")],
    )


def test_owox_get_with_tel_is_valid_and_answers_a_gif(client: FlaskClient) -> None:
    response = client.get(f"/owox/UA-12345678-1?{OWOX_HIT}")
    (record,) = hits(client)
    assert (response.status_code, response.data, record["target"], record["valid"]) == (
        200,
        GIF,
        "owox",
        True,
    )
    assert (record["destination"], record["params"]["tel"]) == ("owox", "+12015550123")


def test_owox_post_takes_the_property_from_the_path(client: FlaskClient) -> None:
    body = OWOX_HIT.replace("tid=UA-12345678-1&", "")
    client.post("/owox/UA-12345678-1", data=body, content_type="text/plain")
    assert hits(client)[0]["messages"] == []


def test_owox_tid_differing_from_the_path_is_invalid(client: FlaskClient) -> None:
    client.get(f"/owox/UA-87654321-1?{OWOX_HIT}")
    assert codes(hits(client)[0]) == [("VALUE_INVALID", "tid")]


def test_owox_post_merges_query_and_body(client: FlaskClient) -> None:
    client.post("/owox/collect?tid=UA-12345678-1", data=OWOX_HIT.replace("tid=UA-12345678-1&", ""))
    (record,) = hits(client)
    assert (record["valid"], record["params"]["tid"]) == (True, "UA-12345678-1")


def test_owox_accepts_a_queue_time_google_would_drop(client: FlaskClient) -> None:
    client.get(f"/owox/UA-12345678-1?{OWOX_HIT.replace('qt=5000', 'qt=86400000')}")
    assert hits(client)[0]["valid"] is True


def test_owox_ga4_accepts_a_body_with_tel_and_answers_204(client: FlaskClient) -> None:
    body = ga4_body()
    body["events"][0]["params"]["tel"] = "+12015550123"
    response = client.post("/owox-ga4/local/mp", data=json.dumps(body))
    (record,) = hits(client)
    assert (response.status_code, record["destination"], record["target"], record["valid"]) == (
        204,
        "owox_ga4",
        "owox",
        True,
    )


def test_owox_ga4_tel_that_is_not_e164_is_invalid(client: FlaskClient) -> None:
    body = ga4_body()
    body["events"][0]["params"]["tel"] = "201-555-0123"
    response = client.post("/owox-ga4/local/mp", json=body)
    (record,) = hits(client)
    assert (response.status_code, codes_ga4(record)) == (
        204,
        [("events[0].params.tel", "VALUE_INVALID")],
    )


def test_phone_sent_to_owox_ga4_is_caught_later_in_any_form_in_a_ga4_body(
    client: FlaskClient,
) -> None:
    owox = ga4_body()
    owox["events"][0]["params"]["tel"] = "+12015550123"
    client.post("/owox-ga4/local/mp", json=owox)
    google = ga4_body()
    # Digits glued inside other text are found only by knowing the number OWOX BI received.
    google["events"][0]["params"]["call_ref"] = "x12015550123y"
    client.post(f"/mp/collect{GA4_QUERY}", json=google)
    assert codes_ga4(hits(client, "?destination=ga4")[0]) == [
        ("events[0].params.call_ref", "PII_DETECTED")
    ]


def test_a_glued_phone_nobody_sent_to_owox_ga4_is_not_flagged(client: FlaskClient) -> None:
    google = ga4_body()
    google["events"][0]["params"]["call_ref"] = "x12015550123y"
    client.post(f"/mp/collect{GA4_QUERY}", json=google)
    assert codes_ga4(hits(client)[0]) == []


def test_owox_ga4_accepts_an_event_from_last_week(client: FlaskClient) -> None:
    last_week = int(NOW.timestamp() * 1_000_000) - 7 * 24 * 3600 * 1_000_000
    client.post("/owox-ga4/local/mp", json=ga4_body(timestamp_micros=last_week))
    assert hits(client)[0]["messages"] == []


def test_hits_can_be_filtered_by_destination(client: FlaskClient) -> None:
    client.post("/collect", data=HIT)
    client.get(f"/owox/UA-12345678-1?{OWOX_HIT}")
    assert [r["path"] for r in hits(client, "?destination=owox")] == ["/owox/UA-12345678-1"]


def test_delete_hits_forgets_every_hit(client: FlaskClient) -> None:
    client.post("/collect", data=HIT)
    assert (client.delete("/hits").status_code, hits(client)) == (204, [])


def test_only_the_newest_hits_are_kept() -> None:
    client = create_app(strict=False, max_hits=2).test_client()
    for value in ("1", "2", "3"):
        client.post("/collect", data=HIT.replace("ev=187", f"ev={value}"))
    assert [r["params"]["ev"] for r in hits(client)] == ["2", "3"]


def test_fault_answers_the_next_requests_then_stops(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503, "times": 2})
    statuses = [client.post("/collect", data=HIT).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_faulted_requests_are_recorded_with_the_fault(client: FlaskClient) -> None:
    fault_id = client.post("/faults", json={"status": 500, "times": 1}).get_json()["id"]
    client.post("/collect", data=HIT)
    client.post("/collect", data=HIT)
    assert [r["fault"] for r in hits(client)] == [{"id": fault_id, "status": 500}, None]


def test_fault_list_shows_what_remains_and_drops_spent_faults(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503, "times": 2, "path_prefix": "/owox"})
    client.get(f"/owox/UA-12345678-1?{OWOX_HIT}")
    remaining = client.get("/faults").get_json()
    client.get(f"/owox/UA-12345678-1?{OWOX_HIT}")
    assert ([(f["times"], f["fired"]) for f in remaining], client.get("/faults").get_json()) == (
        [(1, 1)],
        [],
    )


def test_fault_applies_only_under_its_path_prefix(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503, "times": 1, "path_prefix": "/owox"})
    google = client.post("/collect", data=HIT).status_code
    owox = client.get(f"/owox/UA-12345678-1?{OWOX_HIT}").status_code
    assert (google, owox) == (200, 503)


def test_fault_without_times_applies_to_every_request(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 429, "times": None})
    assert {client.post("/collect", data=HIT).status_code for _ in range(5)} == {429}


def test_fault_with_rate_zero_never_fires(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503, "rate": 0.0})
    assert {client.post("/collect", data=HIT).status_code for _ in range(5)} == {200}


def test_first_queued_matching_fault_wins(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 502, "times": 1})
    client.post("/faults", json={"status": 504, "times": 1})
    assert [client.post("/collect", data=HIT).status_code for _ in range(3)] == [502, 504, 200]


def test_fault_latency_delays_the_answer(client: FlaskClient) -> None:
    client.post("/faults", json={"status": None, "times": 1, "latency_ms": 150})
    start = time.monotonic()
    response = client.post("/collect", data=HIT)
    assert (response.status_code, time.monotonic() - start >= 0.15) == (200, True)


def test_fault_never_applies_to_the_control_endpoints(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503, "path_prefix": "/h"})
    assert (client.get("/hits").status_code, client.get("/healthz").status_code) == (200, 200)


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 42},
        {"times": 0},
        {"rate": 1.5},
        {"latency_ms": -1},
        {"path_prefix": "owox"},
        {"colour": "red"},
        [],
    ],
)
def test_bad_fault_is_refused_with_400(client: FlaskClient, spec: object) -> None:
    assert client.post("/faults", json=spec).status_code == 400


def test_delete_faults_clears_the_queue(client: FlaskClient) -> None:
    client.post("/faults", json={"status": 503})
    client.delete("/faults")
    assert (client.get("/faults").get_json(), client.post("/collect", data=HIT).status_code) == (
        [],
        200,
    )
