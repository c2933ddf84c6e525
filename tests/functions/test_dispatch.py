"""The `dispatch` function over HTTP: push envelopes in, hits to a real local collector out."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from shared.deliveries import delivery_ledger
from shared.events import CallEvent, event_to_json, parse_event
from shared.hits.identity import synthesized_client_id
from shared.hits.ua import cache_buster
from shared.settings import Settings
from tests.functions.conftest import function_client
from tests.functions.pubsub import Spy, ensure_topic, spy_on
from tools.collector import _QuietRequestHandler
from tools.collector import create_app as create_collector
from tools.stack import Stack

DEAD_LETTER_TOPIC = "fn-dispatch-dead-letter"
PROPERTY_ID = "UA-12345678-1"
CALLER = "+12015550123"
TRACKING = "+12015550188"
CLIENT_ID = "1760224793.1424413995"

Hit = dict[str, Any]
MakeClient = Callable[..., FlaskClient]


class Collector:
    """The local collector serving on a free loopback port, driven over HTTP like in `make run`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def hits(self) -> list[Hit]:
        response = requests.get(f"{self.url}/hits", timeout=5)
        response.raise_for_status()
        hits: list[Hit] = response.json()
        return hits

    def fail_next(self, status: int, times: int = 1) -> None:
        response = requests.post(
            f"{self.url}/faults", json={"status": status, "times": times}, timeout=5
        )
        response.raise_for_status()

    def reset(self) -> None:
        requests.delete(f"{self.url}/hits", timeout=5).raise_for_status()
        requests.delete(f"{self.url}/faults", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def collector_server() -> Iterator[Collector]:
    # The quiet handler logs paths only: OWOX BI hits carry the caller's phone in the query.
    server = make_server(
        "127.0.0.1",
        0,
        create_collector(strict=False),
        threaded=True,
        request_handler=_QuietRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Collector(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def collector(collector_server: Collector) -> Collector:
    collector_server.reset()
    return collector_server


@pytest.fixture(scope="module")
def dead_letter_topic(pubsub_emulator: Stack) -> str:
    return ensure_topic(pubsub_emulator.project, DEAD_LETTER_TOPIC)


@pytest.fixture
def dead_letters(pubsub_emulator: Stack, dead_letter_topic: str) -> Iterator[Spy]:
    """What dispatch dead-letters during this test."""
    with spy_on(pubsub_emulator.project, dead_letter_topic) as spy:
        yield spy


@pytest.fixture
def make_client(
    monkeypatch: pytest.MonkeyPatch, collector: Collector, dead_letters: Spy, empty_ledger: Stack
) -> MakeClient:
    """A dispatch test client; the environment is set first because main.py reads it on import."""

    def make(**env: str) -> FlaskClient:
        defaults = {
            "UA_PROPERTY_ID": PROPERTY_ID,
            "OWOX_ENDPOINT": f"{collector.url}/owox",
            "UA_COLLECT_URL": f"{collector.url}/collect",
            "DEAD_LETTER_TOPIC": DEAD_LETTER_TOPIC,
            "HTTP_TIMEOUT_SECONDS": "5",
            "PUBLISH_TIMEOUT_SECONDS": "10",
        }
        for name, value in {**defaults, **env}.items():
            monkeypatch.setenv(name, value)
        return function_client("dispatch")

    return make


@pytest.fixture
def client(make_client: MakeClient) -> FlaskClient:
    return make_client()


def started(ago: timedelta) -> datetime:
    # Whole seconds, so the hit's `qt` bounds below are exact.
    return (datetime.now(UTC) - ago).replace(microsecond=0)


def call_event(ago: timedelta = timedelta(minutes=1), **overrides: Any) -> CallEvent:
    """An answered call as ingest publishes it."""
    return parse_event(
        {
            "source": "generic",
            "call_id": "fn-dispatch-1",
            "status": "answered",
            "started_at": started(ago).isoformat(),
            "duration_s": 187,
            "caller": CALLER,
            "tracking_number": TRACKING,
            "client_id": f"GA1.2.{CLIENT_ID}",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "fall storm",
            **overrides,
        },
        "US",
    )


def envelope(data: bytes, attributes: dict[str, str] | None = None) -> bytes:
    """A Pub/Sub push request body."""
    return json.dumps(
        {
            "message": {
                "data": base64.b64encode(data).decode(),
                "attributes": attributes or {},
                "messageId": "1",
            },
            "subscription": "projects/local-project/subscriptions/call-events-owox",
        }
    ).encode()


def push(client: FlaskClient, destination: str, event: CallEvent) -> Any:
    body = envelope(
        event_to_json(event),
        {"event_id": event.event_id, "source": event.source, "status": event.status.value},
    )
    return client.post(f"/{destination}", data=body, content_type="application/json")


def expected_hit(event: CallEvent, hit: Hit, *, tel: bool) -> Hit:
    """The whole hit for `call_event()`: `qt` is taken from the hit after checking its range."""
    queue_time = int(hit["params"]["qt"])
    # The call started a minute ago in whole seconds; the request took well under 30 s.
    assert 60_000 <= queue_time < 90_000
    return {
        "v": "1",
        "tid": PROPERTY_ID,
        "cid": CLIENT_ID,
        "t": "event",
        "ec": "call",
        "ea": "answered",
        "el": "generic",
        "ev": "187",
        "qt": str(queue_time),
        "cs": "google",
        "cm": "cpc",
        "cn": "fall storm",
        **({"tel": CALLER} if tel else {}),
        "ds": "call center",
        "z": cache_buster(event.event_id),
    }


def dead_letter_attributes(reason: str, destination: str, event_id: str, detail: str) -> Hit:
    """What `push` sent along, plus why and where the event was dead-lettered."""
    return {
        "source": "generic",
        "status": "answered",
        "reason": reason,
        "destination": destination,
        "detail": detail,
        "event_id": event_id,
    }


def test_call_pushed_to_owox_is_sent_and_acked(client: FlaskClient, collector: Collector) -> None:
    response = push(client, "owox", call_event())
    assert response.status_code == 204
    assert len(collector.hits()) == 1


def test_owox_receives_exactly_the_base_hit_plus_tel(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    push(client, "owox", event)
    [hit] = collector.hits()
    assert (hit["method"], hit["path"], hit["valid"]) == ("GET", f"/owox/{PROPERTY_ID}", True)
    assert hit["params"] == expected_hit(event, hit, tel=True)
    assert list(hit["params"]) == list(expected_hit(event, hit, tel=True))


def test_owox_tel_travels_with_its_plus_encoded(client: FlaskClient, collector: Collector) -> None:
    push(client, "owox", call_event())
    [hit] = collector.hits()
    assert "&tel=%2B12015550123&ds=call%20center&" in hit["query"]


def test_call_pushed_to_ua_is_sent_and_acked(client: FlaskClient, collector: Collector) -> None:
    response = push(client, "ua", call_event())
    assert response.status_code == 204
    assert len(collector.hits()) == 1


def test_ua_receives_exactly_the_base_hit_without_a_phone(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    push(client, "ua", event)
    [hit] = collector.hits()
    assert (hit["method"], hit["path"], hit["valid"]) == ("POST", "/collect", True)
    assert hit["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert hit["params"] == expected_hit(event, hit, tel=False)
    assert "5550123" not in hit["body"]
    assert "5550188" not in hit["body"]


def test_destination_503_is_a_503_for_pub_sub_to_redeliver(
    client: FlaskClient, collector: Collector
) -> None:
    collector.fail_next(503, times=2)
    response = push(client, "owox", call_event())
    assert response.status_code == 503
    assert response.get_json()["error"] == "destination_unavailable"


def test_destination_503_dead_letters_nothing(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    collector.fail_next(503, times=2)
    push(client, "owox", call_event())
    assert dead_letters.nothing()


def test_destination_503_is_not_resent_within_the_same_push(
    client: FlaskClient, collector: Collector
) -> None:
    collector.fail_next(503, times=2)
    push(client, "owox", call_event())
    assert len(collector.hits()) == 1


def test_redelivery_after_a_503_is_sent(client: FlaskClient, collector: Collector) -> None:
    # At once: the failed attempt released its claim instead of leaving it to its lease.
    collector.fail_next(503, times=1)
    event = call_event()
    assert push(client, "owox", event).status_code == 503
    assert push(client, "owox", event).status_code == 204
    assert [hit["fault"] is None for hit in collector.hits()] == [False, True]


def test_destination_400_is_acked(client: FlaskClient, collector: Collector) -> None:
    collector.fail_next(400)
    assert push(client, "owox", call_event()).status_code == 204


def test_destination_400_is_dead_lettered_with_the_reason(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    collector.fail_next(400)
    event = call_event()
    push(client, "owox", event)
    [letter] = dead_letters.pull()
    assert letter.attributes == dead_letter_attributes(
        "destination_rejected", "owox", event.event_id, "destination answered HTTP 400"
    )
    assert letter.data == event_to_json(event)


def test_undecodable_envelope_is_acked_and_dead_lettered_whole(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    body = b'{"message": {"data": "%%% not base64 %%%"}}'
    response = client.post("/owox", data=body, content_type="application/json")
    assert response.status_code == 204
    [letter] = dead_letters.pull()
    assert letter.attributes == {
        "reason": "undecodable",
        "destination": "owox",
        "detail": "not a Pub/Sub push envelope with base64 data",
    }
    assert letter.data == body
    assert collector.hits() == []


def test_message_that_is_not_a_call_event_is_dead_lettered_as_undecodable(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    data = b'{"hello": "world"}'
    body = envelope(data, {"event_id": "ev_from_attributes"})
    assert client.post("/ua", data=body, content_type="application/json").status_code == 204
    [letter] = dead_letters.pull()
    assert (letter.attributes["reason"], letter.attributes["event_id"]) == (
        "undecodable",
        "ev_from_attributes",
    )
    assert letter.data == data


def test_call_older_than_four_hours_is_dead_lettered_too_old_for_ua(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    event = call_event(ago=timedelta(hours=4, minutes=1))
    assert push(client, "ua", event).status_code == 204
    [letter] = dead_letters.pull()
    assert letter.attributes == dead_letter_attributes(
        "too_old", "ua", event.event_id, "call started more than 4 hours ago"
    )
    assert collector.hits() == []


def test_call_older_than_four_hours_is_still_sent_to_owox(
    client: FlaskClient, collector: Collector
) -> None:
    assert push(client, "owox", call_event(ago=timedelta(hours=5))).status_code == 204
    assert len(collector.hits()) == 1


def test_unknown_destination_is_a_404(client: FlaskClient, collector: Collector) -> None:
    response = push(client, "myspace", call_event())
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_destination"
    assert collector.hits() == []


def test_get_is_a_405(client: FlaskClient) -> None:
    assert client.get("/owox").status_code == 405


def test_logs_are_json_lines_with_severity_and_message(
    client: FlaskClient, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    push(client, "owox", call_event())
    collector.fail_next(503)
    push(client, "owox", call_event(call_id="fn-dispatch-2"))
    push(client, "ua", call_event(ago=timedelta(hours=5)))
    push(client, "owox", call_event())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [(line["severity"], line["outcome"]) for line in lines] == [
        ("INFO", "sent"),
        ("WARNING", "retry"),
        ("WARNING", "dead_lettered"),
        ("INFO", "duplicate"),
    ]
    assert all(isinstance(line["message"], str) and line["message"] for line in lines)


def test_logs_never_contain_the_phone_number(
    client: FlaskClient, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    push(client, "owox", call_event())
    push(client, "ua", call_event())
    collector.fail_next(400)
    push(client, "owox", call_event(call_id="fn-dispatch-2"))
    push(client, "owox", call_event())
    captured = capsys.readouterr()
    for phone in ("5550123", "5550188"):
        assert phone not in captured.out + captured.err


def test_phone_in_a_field_bound_for_google_is_dead_lettered_pii_blocked(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    event = call_event(utm_campaign=f"callback {CALLER}")
    assert push(client, "ua", event).status_code == 204
    [letter] = dead_letters.pull()
    assert (letter.attributes["reason"], letter.attributes["destination"]) == ("pii_blocked", "ua")
    assert CALLER not in letter.attributes["detail"]
    assert collector.hits() == []


def test_missing_client_id_is_dead_lettered_when_the_destination_skips(
    make_client: MakeClient, collector: Collector, dead_letters: Spy
) -> None:
    client = make_client(MISSING_CLIENT_ID="ua=skip")
    event = call_event(client_id=None)
    assert push(client, "ua", event).status_code == 204
    [letter] = dead_letters.pull()
    assert (letter.attributes["reason"], letter.attributes["event_id"]) == (
        "missing_client_id",
        event.event_id,
    )
    assert collector.hits() == []


def test_missing_client_id_is_synthesized_by_default(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event(client_id=None)
    assert push(client, "ua", event).status_code == 204
    [hit] = collector.hits()
    assert hit["params"]["cid"] == synthesized_client_id(event)


def test_dead_letter_publish_failure_is_a_503_so_the_event_is_not_lost(
    make_client: MakeClient, collector: Collector
) -> None:
    client = make_client(DEAD_LETTER_TOPIC="missing-topic", PUBLISH_TIMEOUT_SECONDS="5")
    collector.fail_next(400)
    response = push(client, "owox", call_event())
    assert response.status_code == 503
    assert response.get_json()["error"] == "publish_failed"


# --- the delivery ledger: an event reaching dispatch twice is sent once -------------------------


def claim_now(destination: str, event: CallEvent, ago: timedelta = timedelta(0)) -> None:
    """Another attempt's claim on the delivery, made `ago`."""
    delivery_ledger(Settings()).claim(
        destination, event.event_id, datetime.now(UTC) - ago, source=event.source
    )


def test_second_push_of_a_sent_event_is_acked(client: FlaskClient, collector: Collector) -> None:
    event = call_event()
    assert push(client, "owox", event).status_code == 204
    assert push(client, "owox", event).status_code == 204


def test_second_push_of_a_sent_event_sends_no_second_hit(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    push(client, "owox", event)
    push(client, "owox", event)
    assert len(collector.hits()) == 1


def test_event_sent_to_one_destination_is_still_sent_to_another(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    push(client, "owox", event)
    assert push(client, "ua", event).status_code == 204
    assert [hit["path"] for hit in collector.hits()] == [f"/owox/{PROPERTY_ID}", "/collect"]


def test_copy_of_a_sent_event_that_is_too_old_by_now_is_a_duplicate_not_a_dead_letter(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    event = call_event(ago=timedelta(hours=5))
    ledger = delivery_ledger(Settings())
    claim = ledger.claim("ua", event.event_id, datetime.now(UTC), source=event.source)
    ledger.mark_sent(claim, datetime.now(UTC))
    assert push(client, "ua", event).status_code == 204
    assert dead_letters.nothing()


def test_push_while_another_attempt_is_sending_is_a_503(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    claim_now("owox", event, ago=timedelta(seconds=30))
    response = push(client, "owox", event)
    assert (response.status_code, response.get_json()["error"]) == (503, "delivery_in_flight")


def test_push_while_another_attempt_is_sending_sends_nothing(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    event = call_event()
    claim_now("owox", event)
    push(client, "owox", event)
    assert collector.hits() == []
    assert dead_letters.nothing()


def test_claim_of_a_crashed_attempt_is_taken_over_once_its_lease_ran_out(
    client: FlaskClient, collector: Collector
) -> None:
    event = call_event()
    claim_now("owox", event, ago=timedelta(seconds=121))
    assert push(client, "owox", event).status_code == 204
    assert len(collector.hits()) == 1


def test_lease_is_the_delivery_lease_setting(make_client: MakeClient, collector: Collector) -> None:
    client = make_client(DELIVERY_LEASE_SECONDS="10")
    event = call_event()
    claim_now("owox", event, ago=timedelta(seconds=11))
    assert push(client, "owox", event).status_code == 204


def test_dead_lettered_event_pushed_again_is_tried_again(
    client: FlaskClient, collector: Collector, dead_letters: Spy
) -> None:
    # Only sends are remembered, so an operator's replay of a dead letter is not swallowed.
    collector.fail_next(400)
    event = call_event()
    push(client, "owox", event)
    assert push(client, "owox", event).status_code == 204
    assert [hit["fault"] is None for hit in collector.hits()] == [False, True]


def test_with_dedup_off_a_second_push_is_sent_again(
    make_client: MakeClient, collector: Collector
) -> None:
    client = make_client(DEDUP="off")
    event = call_event()
    push(client, "owox", event)
    push(client, "owox", event)
    assert len(collector.hits()) == 2


def test_unreachable_firestore_is_a_503(
    make_client: MakeClient, collector: Collector, unreachable_firestore: None
) -> None:
    response = push(make_client(), "owox", call_event())
    assert (response.status_code, response.get_json()["error"]) == (503, "ledger_unavailable")


def test_unreachable_firestore_sends_nothing(
    make_client: MakeClient, collector: Collector, unreachable_firestore: None
) -> None:
    push(make_client(), "owox", call_event())
    assert collector.hits() == []


def test_call_marked_as_spam_is_acked_and_sent_nowhere(
    client: FlaskClient, collector: Collector, dead_letters: Spy, capsys: pytest.CaptureFixture[str]
) -> None:
    event = call_event(spam=True)
    for destination in ("owox", "ua"):
        assert push(client, destination, event).status_code == 204
    assert collector.hits() == []
    assert dead_letters.pull(timeout_s=2) == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [(line["outcome"], line["reason"], line["destination"]) for line in lines] == [
        ("skipped", "spam", "owox"),
        ("skipped", "spam", "ua"),
    ]


def test_call_marked_as_spam_is_sent_when_send_spam_is_on(
    make_client: MakeClient, collector: Collector
) -> None:
    client = make_client(SEND_SPAM="true")
    assert push(client, "owox", call_event(spam=True)).status_code == 204
    assert len(collector.hits()) == 1


def test_call_the_platform_says_is_not_spam_is_sent(
    client: FlaskClient, collector: Collector
) -> None:
    assert push(client, "owox", call_event(spam=False)).status_code == 204
    assert len(collector.hits()) == 1


def test_later_qualification_is_acked_and_skipped_by_ua_and_owox_with_the_reason(
    client: FlaskClient, collector: Collector, dead_letters: Spy, capsys: pytest.CaptureFixture[str]
) -> None:
    qualification = call_event(
        kind="qualification", lead_status="good_lead", qualified_at=started(timedelta(0))
    )
    for destination in ("ua", "owox"):
        assert push(client, destination, qualification).status_code == 204
    assert collector.hits() == []
    assert dead_letters.pull(timeout_s=2) == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    reason = "a later lead qualification, not a call; Universal Analytics hits report calls only"
    assert [
        (line["outcome"], line["reason"], line["detail"], line["destination"]) for line in lines
    ] == [("skipped", "skipped", reason, "ua"), ("skipped", "skipped", reason, "owox")]
