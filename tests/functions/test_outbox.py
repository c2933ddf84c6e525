"""Calls kept while Pub/Sub is unavailable: kept in Firestore, answered 2xx, republished once.

Real Pub/Sub and Firestore emulators; only the failing publish is a stand-in, because the
emulator cannot be made to refuse one publish and accept the next.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.deliveries import firestore_client
from shared.errors import PublishFailed
from shared.events import CallEvent, event_from_json
from shared.hits.ua import cache_buster
from shared.ingest import handle_webhook
from shared.outbox import KEPT_COLLECTION, keep_events, kept_document_id, sweep
from shared.publish import Message, event_message, publish_events
from shared.settings import Settings
from tests.functions.conftest import MAIN, function_client
from tests.functions.pubsub import Spy
from tests.functions.test_dispatch import (  # noqa: F401 (fixtures used by name)
    Collector,
    MakeClient,
    call_event,
    collector,
    collector_server,
    dead_letter_topic,
    dead_letters,
    make_client,
    push,
)
from tools.send_call import signed_headers
from tools.stack import Stack

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def settings(ingest_topic: str, empty_ledger: Stack) -> Settings:
    return Settings(
        project_id=empty_ledger.project,
        topic=ingest_topic.rsplit("/", 1)[-1],
        webhook_secrets={"generic": (SECRET,)},
        ledger_timeout_s=5,
    )


@pytest.fixture
def kept(settings: Settings) -> Any:
    return firestore_client(settings.project_id, settings.firestore_database).collection(
        KEPT_COLLECTION
    )


def signed_request(call: dict[str, Any]) -> Request:
    body = json.dumps(call).encode()
    headers = signed_headers(SECRET, body)
    builder = EnvironBuilder(
        method="POST",
        path="/generic",
        data=body,
        headers=list(headers.items()),
        content_type="application/json",
    )
    return Request(builder.get_environ())


def answered_call(call_id: str = "outbox-1") -> dict[str, Any]:
    return {
        "call_id": call_id,
        "status": "answered",
        "started_at": NOW.isoformat(),
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
    }


def failing_publish(events: Sequence[CallEvent], settings: Settings) -> list[str]:
    raise PublishFailed("Pub/Sub did not acknowledge 1 within 10 s")


def test_publish_failure_keeps_the_call_and_answers_202_logging_kept(
    settings: Settings, kept: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = handle_webhook(
        signed_request(answered_call()),
        settings,
        failing_publish,
        datetime.now(UTC),  # the signature's clock: NOW was read when the module was imported
        keep=keep_events,
    )
    snapshots = list(kept.stream())
    event = event_from_json(snapshots[0].to_dict()["data"])
    data, attributes = event_message(event)
    assert (reply.status, reply.body) == (
        202,
        {"event_ids": [event.event_id], "message_ids": [], "kept": True},
    )
    assert [(s.id, s.to_dict()["data"], s.to_dict()["attributes"]) for s in snapshots] == [
        (kept_document_id(event), data, attributes)
    ]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["outcome"], x.get("reason"), x.get("event_id")) for x in lines] == [
        ("kept", "publish_failed", event.event_id)
    ]


def test_publish_and_store_both_failing_is_a_503_to_retry(settings: Settings) -> None:
    reply = handle_webhook(
        signed_request(answered_call()),
        settings,
        failing_publish,
        datetime.now(UTC),
        keep=lambda events, settings, now: False,
    )
    assert (reply.status, dict(reply.headers)) == (503, {"Retry-After": "30"})
    assert reply.body == {
        "error": "publish_failed",
        "detail": "Pub/Sub did not acknowledge 1 within 10 s",
    }


def test_keep_returns_false_when_firestore_does_not_answer(tmp_path: Any) -> None:
    # A fresh process: the Firestore client is made once per process from the emulator variable.
    script = (
        "from datetime import datetime, UTC\n"
        "from shared.outbox import keep_events\n"
        "from shared.events import parse_event\n"
        "from shared.settings import Settings\n"
        "event = parse_event({'source': 'generic', 'call_id': 'c', 'status': 'missed',"
        " 'started_at': '2026-01-01T00:00:00Z'}, 'US')\n"
        "print(keep_events([event], Settings(ledger_timeout_s=1), datetime.now(UTC)))\n"
    )
    env = {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:9", "PYTHONPATH": str(MAIN.rsplit("/", 2)[0])}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "False")


def test_sweep_republishes_kept_calls_once_and_forgets_them(
    settings: Settings, kept: Any, published: Spy, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [call_event(call_id=f"outbox-sweep-{n}") for n in range(3)]
    assert keep_events(events, settings, NOW)
    report = sweep(settings)
    messages = published.pull(expected=3)
    assert (report.republished, report.left) == (3, 0)
    assert sorted((m.data, m.attributes) for m in messages) == sorted(
        event_message(e) for e in events
    )
    assert list(kept.stream()) == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((x["outcome"], x["event_id"], x["source"]) for x in lines) == sorted(
        ("republished", e.event_id, "generic") for e in events
    )
    assert sweep(settings).republished == 0


def test_sweep_keeps_everything_while_pub_sub_still_refuses(
    settings: Settings, kept: Any, published: Spy
) -> None:
    event = call_event(call_id="outbox-still-down")

    def refusing(messages: Sequence[Message], settings: Settings) -> list[str]:
        raise PublishFailed("Pub/Sub did not acknowledge 1 within 10 s")

    assert keep_events([event], settings, NOW)
    report = sweep(settings, publish=refusing)
    assert (report.republished, report.left) == (0, 1)
    assert [s.id for s in kept.stream()] == [kept_document_id(event)]
    assert published.nothing()


def test_a_vendor_retry_of_a_kept_call_stays_one_kept_call(settings: Settings, kept: Any) -> None:
    event = call_event(call_id="outbox-retried")
    assert keep_events([event], settings, NOW)
    assert keep_events([event], settings, NOW)
    assert [s.id for s in kept.stream()] == [kept_document_id(event)]


def test_timed_out_publish_that_lands_later_and_its_kept_copy_send_one_hit(
    settings: Settings,
    make_client: MakeClient,  # noqa: F811
    collector: Collector,  # noqa: F811
    published: Spy,
) -> None:
    # The first publish lands although ingest gave up waiting; the kept copy is republished too.
    event = call_event(call_id="outbox-late-landing")
    publish_events([event], settings)
    assert keep_events([event], settings, NOW)
    sweep(settings)
    copies = published.pull(expected=2)
    client = make_client()
    statuses = [push(client, "ua", event_from_json(copy.data)).status_code for copy in copies]
    assert (len(copies), statuses) == (2, [204, 204])
    assert [hit["params"]["z"] for hit in collector.hits()] == [cache_buster(event.event_id)]


def test_sweep_kept_entry_point_answers_what_it_republished(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, published: Spy
) -> None:
    monkeypatch.setenv("PUBSUB_TOPIC", settings.topic)
    assert keep_events([call_event(call_id="outbox-entry")], settings, NOW)
    client = function_client("sweep_kept")
    response = client.post("/")
    assert (response.status_code, response.get_json()) == (200, {"republished": 1, "left": 0})
    assert client.get("/").status_code == 405
    assert len(published.pull(expected=1)) == 1


def test_loading_the_functions_does_not_load_firestore() -> None:
    # Ingest's cold start: Firestore is imported only when a call must be kept.
    script = (
        "import sys, runpy\n"
        f"runpy.run_path({MAIN!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('google.cloud.firestore')))\n"
    )
    env = {"PYTHONPATH": str(MAIN.rsplit("/", 2)[0])}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "[]", "")
