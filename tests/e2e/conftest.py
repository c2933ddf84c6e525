"""The whole pipeline as real processes on free ports: emulator, ingest, dispatch, collector."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from google.cloud import pubsub_v1

from shared.events import derive_event_id
from shared.hits.ua import cache_buster
from shared.settings import Settings
from tests.e2e.samples import E2E_DELIVERY_ATTEMPTS, E2E_DESTINATIONS, E2E_ENV
from tools.pubsub_pull import pull_and_ack
from tools.send_call import signed_headers
from tools.stack import DEV_SECRET, Ports, Stack
from tools.topology import dead_letter_subscription

Hit = dict[str, Any]
# A pull subscription on the call topic: what ingest published, seen from outside.
SPY_SUBSCRIPTION = "call-events-e2e-spy"


@dataclass
class Pipeline:
    """A running stack plus the ways a test talks to it."""

    stack: Stack

    def post(
        self, path: str, body: bytes, headers: Mapping[str, str], method: str = "POST"
    ) -> requests.Response:
        """Send a raw request to ingest, as a vendor would."""
        return requests.request(
            method, f"{self.stack.ingest_url}{path}", data=body, headers=dict(headers), timeout=15
        )

    def post_generic(self, call: Mapping[str, Any] | list[Mapping[str, Any]]) -> requests.Response:
        """Send a correctly signed generic webhook."""
        body = json.dumps(call).encode()
        return self.post("/generic", body, signed_headers(DEV_SECRET, body))

    def hits(self) -> list[Hit]:
        """Every request the collector recorded."""
        response = requests.get(f"{self.stack.collector_url}/hits", timeout=5)
        response.raise_for_status()
        hits: list[Hit] = response.json()
        return hits

    def wait_for_hits(
        self, matches: Callable[[Hit], bool], count: int, timeout_s: float = 30
    ) -> list[Hit]:
        """Poll until `count` matching hits arrived (then wait a little for extras)."""
        deadline = time.monotonic() + timeout_s
        found: list[Hit] = []
        while time.monotonic() < deadline:
            found = [hit for hit in self.hits() if matches(hit)]
            if len(found) >= count:
                # A duplicate would arrive soon after: give it the chance to show up.
                time.sleep(1.5)
                return [hit for hit in self.hits() if matches(hit)]
            time.sleep(0.2)
        return found

    def hits_for_event(self, event_id: str, count: int, timeout_s: float = 30) -> list[Hit]:
        """Hits that carry this event's cache buster (every UA-format hit does)."""
        z = cache_buster(event_id)
        return self.wait_for_hits(lambda hit: hit.get("params", {}).get("z") == z, count, timeout_s)

    def set_fault(self, **fault: Any) -> None:
        """Make the collector answer with a fault (see tools/collector.py)."""
        requests.post(
            f"{self.stack.collector_url}/faults", json=fault, timeout=5
        ).raise_for_status()

    def dead_letters(
        self, event_id: str, count: int = 1, timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        """Pull dead letters for an event from the hold subscription (acking what it reads)."""
        subscription = dead_letter_subscription("call-events-dead-letter")
        return self._pull(subscription, event_id, count, timeout_s)

    def published(self, event_id: str, wait_s: float = 2) -> list[dict[str, Any]]:
        """Messages ingest published for an event, read from a spy subscription on the topic."""
        return self._pull(SPY_SUBSCRIPTION, event_id, 1, wait_s)

    def all_published(self, wait_s: float) -> list[dict[str, Any]]:
        """Every message on the spy subscription that arrives within `wait_s` (acked)."""
        return self._pull(SPY_SUBSCRIPTION, None, 10**6, wait_s, rpc_timeout_s=1)

    def published_ids(
        self, expected: set[str], timeout_s: float = 30, grace_s: float = 1.5
    ) -> set[str]:
        """Event ids published to the call topic: polled until every expected id arrived (or
        `timeout_s`), then `grace_s` more, so an unexpected extra event is seen too."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not expected <= seen:
            seen |= _event_ids(self._pull(SPY_SUBSCRIPTION, None, 1, 0.5, rpc_timeout_s=1))
        return seen | _event_ids(self.all_published(wait_s=grace_s))

    def forget_deliveries(self) -> None:
        """Empty the delivery ledger, so a scenario's fixed call ids are new calls again."""
        self.stack.clear_firestore(Settings().firestore_database)

    def ga4_hits_for_event(self, event_id: str, count: int, timeout_s: float = 30) -> list[Hit]:
        """GA4-format hits (Google's and OWOX BI's) whose event carries this event id."""

        def matches(hit: Hit) -> bool:
            body = hit.get("params")
            events = body.get("events") if isinstance(body, dict) else None
            if not isinstance(events, list) or not events:
                return False
            return bool(events[0].get("params", {}).get("call_event_id") == event_id)

        return self.wait_for_hits(matches, count, timeout_s)

    def outcomes(
        self, event_id: str, outcome: str, count: int, timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        """Poll dispatch's log until `count` lines with this outcome for the event were written."""
        deadline = time.monotonic() + timeout_s
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(found) < count:
            time.sleep(0.2)
            lines = self.stack.log_path("dispatch").read_text(errors="replace").splitlines()
            records = [json.loads(line) for line in lines if line.startswith("{")]
            found = [
                record
                for record in records
                if record.get("event_id") == event_id and record.get("outcome") == outcome
            ]
        return found

    def _pull(
        self,
        subscription: str,
        event_id: str | None,
        count: int,
        timeout_s: float,
        rpc_timeout_s: float = 5,
    ) -> list[dict[str, Any]]:
        # The emulator holds an empty pull until near its deadline (about 4 s of 5); a short
        # deadline makes it answer at once, for polling.
        subscriber = pubsub_v1.SubscriberClient()
        path = subscriber.subscription_path(self.stack.project, subscription)
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and len(found) < count:
                for received in pull_and_ack(subscriber, path, 100, rpc_timeout_s):
                    attributes = dict(received.message.attributes)
                    if event_id is None or attributes.get("event_id") == event_id:
                        found.append({"data": received.message.data, "attributes": attributes})
                if len(found) < count:
                    time.sleep(0.3)
        finally:
            subscriber.close()
        return found


def _event_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {message["attributes"]["event_id"] for message in messages}


def generic_event_id(call_id: str) -> str:
    """The event id ingest derives for a generic call without one."""
    return derive_event_id("generic", call_id)


@pytest.fixture(scope="session")
def pipeline() -> Iterator[Pipeline]:
    """One stack for the e2e session; each test clears the collector first."""
    # Fewer delivery attempts than a deploy's 40, so the dead-letter test ends sooner.
    stack = Stack(
        ports=Ports.free(),
        env=E2E_ENV,
        destinations=E2E_DESTINATIONS,
        max_delivery_attempts=E2E_DELIVERY_ATTEMPTS,
    )
    with stack:
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        subscriber = pubsub_v1.SubscriberClient()
        try:
            subscriber.create_subscription(
                name=subscriber.subscription_path(stack.project, SPY_SUBSCRIPTION),
                topic=f"projects/{stack.project}/topics/call-events",
            )
        finally:
            subscriber.close()
        yield Pipeline(stack)


@pytest.fixture(autouse=True)
def clean_collector(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget earlier hits, faults and deliveries; point this process's Pub/Sub clients at the
    emulator."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pipeline.stack.emulator_host)
    for path in ("/hits", "/faults"):
        requests.delete(f"{pipeline.stack.collector_url}{path}", timeout=5).raise_for_status()
    # Platform samples and scenarios carry fixed call ids: each test's calls are new calls.
    pipeline.forget_deliveries()
