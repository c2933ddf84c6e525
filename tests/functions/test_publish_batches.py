"""Group-commit publishing (shared/publish.py): batches that form while a publish is under way.

The batching tests use a stand-in for Pub/Sub's Publish call that holds its answer until the
test releases it, so which messages travel together is decided, not raced; the last test
publishes concurrently to the real emulator.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

from shared import publish
from shared.errors import PublishFailed
from tests.functions.pubsub import ensure_topic, spy_on
from tools.stack import Stack

WAIT_S = 5.0


class HeldPublish:
    """Pub/Sub's Publish, answering each call only once the test lets it (or at once)."""

    def __init__(self, hold_first: int = 0, fail_with: Exception | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.called_at: list[float] = []
        self.calls = threading.Semaphore(0)
        self.release = threading.Event()
        self._held = hold_first
        self._fail_with = fail_with
        self._lock = threading.Lock()

    def publish(self, request: Any, retry: Any, timeout: float) -> Any:
        with self._lock:
            self.batches.append([message.data for message in request.messages])
            self.called_at.append(time.monotonic())
            number = len(self.batches)
        self.calls.release()
        if number <= self._held:
            assert self.release.wait(WAIT_S)
        if self._fail_with is not None:
            raise self._fail_with
        return _Response([f"{number}-{index}" for index in range(len(request.messages))])

    def wait_for_calls(self, count: int) -> None:
        for _ in range(count):
            assert self.calls.acquire(timeout=WAIT_S)


class _Response:
    def __init__(self, message_ids: list[str]) -> None:
        self.message_ids = message_ids


@pytest.fixture
def topic() -> str:
    """A topic of its own per test: batches form per topic."""
    return f"projects/p/topics/batches-{uuid.uuid4().hex[:8]}"


def use(api: HeldPublish, monkeypatch: pytest.MonkeyPatch, *, hedge: bool = False) -> HeldPublish:
    """Publish through `api`; unless `hedge`, a held publish never counts as stalled, so that
    which messages travel together does not depend on how fast the test's threads start."""
    monkeypatch.setattr(publish, "publisher", lambda: api)
    if not hedge:
        monkeypatch.setattr(publish, "STALLED_AFTER_S", WAIT_S * 2)
    return api


class Requests:
    """Webhook requests publishing in threads of their own; what each got back."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.results: dict[bytes, list[str] | str] = {}

    def start(self, topic: str, data: bytes, timeout_s: float = WAIT_S) -> None:
        def run() -> None:
            try:
                self.results[data] = publish._publish_all(topic, [(data, {})], timeout_s)
            except PublishFailed as error:
                self.results[data] = str(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT_S)
            assert not thread.is_alive()


def wait_until_queued(topic: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(publish._batcher(topic)._queue) < count:
        assert time.monotonic() < deadline, "requests did not queue"
        time.sleep(0.005)


def queued_behind_a_held_publish(
    topic: str, api: HeldPublish, payloads: list[bytes], *, release: bool = True
) -> Requests:
    """`first` is published and held; `payloads` queue behind it, each its own request; then
    (if `release`) the held publish answers and every request is waited for."""
    requests = Requests()
    requests.start(topic, b"first")
    api.wait_for_calls(1)
    for data in payloads:
        requests.start(topic, data)
    wait_until_queued(topic, len(payloads))
    if release:
        api.release.set()
        requests.join()
    return requests


def test_a_lone_message_is_published_at_once_alone(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(), monkeypatch)
    assert publish._publish_all(topic, [(b"one", {})], WAIT_S) == ["1-0"]
    assert api.batches == [[b"one"]]


def test_messages_arriving_during_a_publish_go_together_in_the_next(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch)
    later = [f"later-{index}".encode() for index in range(5)]
    requests = queued_behind_a_held_publish(topic, api, later)
    assert api.batches[0] == [b"first"]
    assert sorted(api.batches[1]) == sorted(later)
    assert len(api.batches) == 2
    # Each request gets the id of its own message: the position in the batch it travelled in.
    for data in later:
        assert requests.results[data] == [f"2-{api.batches[1].index(data)}"]
    assert requests.results[b"first"] == ["1-0"]


def test_a_batch_stops_at_100_messages(topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch)
    queued = [f"m{index}".encode() for index in range(150)]
    requests = queued_behind_a_held_publish(topic, api, queued)
    assert [len(batch) for batch in api.batches] == [1, 100, 50]
    assert all(isinstance(result, list) for result in requests.results.values())


def test_a_batch_stops_before_1_mb(topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch)
    queued_behind_a_held_publish(topic, api, [bytes([index]) * 400_000 for index in range(5)])
    assert [len(batch) for batch in api.batches] == [1, 2, 2, 1]


def test_a_stalled_publish_does_not_hold_the_next_request_back(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch, hedge=True)
    requests = Requests()
    requests.start(topic, b"stalled")
    api.wait_for_calls(1)
    # Once the first publish has been out for STALLED_AFTER_S, the next starts its own.
    assert publish._publish_all(topic, [(b"next", {})], WAIT_S) == ["2-0"]
    assert b"stalled" not in requests.results
    api.release.set()
    requests.join()
    assert requests.results[b"stalled"] == ["1-0"]


def test_a_request_out_of_time_while_queued_is_withdrawn_unpublished(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "MAX_IN_FLIGHT", 1)
    api = use(HeldPublish(hold_first=1), monkeypatch)
    requests = Requests()
    requests.start(topic, b"held")
    api.wait_for_calls(1)
    late: list[publish.Message] = [(b"late-1", {}), (b"late-2", {}), (b"late-3", {})]
    started = time.monotonic()
    # One deadline for the request's three messages, not one per message.
    with pytest.raises(PublishFailed, match=r"did not acknowledge 3 within 0\.2 s"):
        publish._publish_all(topic, late, 0.2)
    assert 0.2 <= time.monotonic() - started < 0.2 + 1.0
    api.release.set()
    requests.join()
    # Withdrawn, never sent: ingest may keep the call without it ever arriving twice.
    assert api.batches == [[b"held"]]
    assert not publish._batcher(topic)._queue


@pytest.mark.parametrize(
    "failure",
    [
        auth_exceptions.RefreshError("token refresh failed"),  # type: ignore[no-untyped-call]
        api_exceptions.PermissionDenied("not allowed"),  # type: ignore[no-untyped-call]
    ],
)
def test_a_failed_publish_fails_every_request_of_its_batch(
    topic: str, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    api = use(HeldPublish(hold_first=1, fail_with=failure), monkeypatch)
    requests = queued_behind_a_held_publish(topic, api, [b"a", b"b"])
    name = type(failure).__name__
    assert requests.results == dict.fromkeys(
        (b"first", b"a", b"b"), f"Pub/Sub did not acknowledge: {name}"
    )


def test_a_transient_error_is_retried_within_the_deadline(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: Iterator[Exception | None] = iter(
        [api_exceptions.ServiceUnavailable("busy"), None]  # type: ignore[no-untyped-call]
    )
    api = HeldPublish()

    class Flaky:
        def publish(self, request: Any, retry: Any, timeout: float) -> Any:
            # The retry the publisher passes is what retries: call through it.
            def attempt() -> Any:
                failure = next(answers)
                if failure is not None:
                    raise failure
                return api.publish(request, None, timeout)

            return retry(attempt)()

    monkeypatch.setattr(publish, "publisher", Flaky)
    assert publish._publish_all(topic, [(b"once", {})], WAIT_S) == ["1-0"]
    assert api.batches == [[b"once"]]


def test_concurrent_publishes_reach_the_emulator_once_each_under_their_own_ids(
    pubsub_emulator: Stack,
) -> None:
    path = ensure_topic(pubsub_emulator.project, f"batches-{uuid.uuid4().hex[:8]}")
    results: dict[str, list[str]] = {}

    def request(index: int) -> None:
        messages = [(f"{index}-{n}".encode(), {"n": str(n)}) for n in range(3)]
        results[str(index)] = publish._publish_all(path, messages, WAIT_S)

    with spy_on(pubsub_emulator.project, path) as spy:
        threads = [threading.Thread(target=request, args=(index,)) for index in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S * 2)
        received = spy.pull(expected=120)
    by_id = {message.message_id: message for message in received}
    assert len(received) == len(by_id) == 120
    for index, message_ids in results.items():
        assert [(by_id[m].data, by_id[m].attributes) for m in message_ids] == [
            (f"{index}-{n}".encode(), {"n": str(n)}) for n in range(3)
        ]


def test_a_wakeup_sent_just_after_its_wait_timed_out_is_not_left_over_for_the_next_wait() -> None:
    held, wakeup = threading.Lock(), publish._Wakeup()
    waited = threading.Event()

    def waiter() -> None:
        with held:
            wakeup.wait(0.05, held)
        waited.set()

    thread = threading.Thread(target=waiter, daemon=True)
    with held:
        thread.start()
        time.sleep(0.01)  # the waiter has released `held` to wait
    with held:
        time.sleep(0.1)  # its wait has timed out; it is waiting for `held` again
        wakeup.wake()
    assert waited.wait(WAIT_S)
    with held:
        started = time.monotonic()
        wakeup.wait(0.05, held)  # nothing sent since: this one must time out
        assert time.monotonic() - started >= 0.05
        wakeup.wake()
        wakeup.wait(WAIT_S, held)  # sent: returns at once


def waiting_for_company(
    topic: str, api: HeldPublish, monkeypatch: pytest.MonkeyPatch, linger_s: float
) -> Requests:
    """a and b go together behind a held publish (the load is shared), then c's publish
    starts and waits for company, up to `linger_s`."""
    monkeypatch.setattr(publish, "LINGER_S", linger_s)
    requests = queued_behind_a_held_publish(topic, api, [b"a", b"b"], release=False)
    api.release.set()
    api.wait_for_calls(1)
    requests.start(topic, b"c")
    time.sleep(0.1)
    return requests


def test_after_a_shared_batch_the_next_publish_waits_for_company(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch)
    requests = waiting_for_company(topic, api, monkeypatch, linger_s=0.5)
    assert len(api.batches) == 2  # c's publish is waiting for company, not yet called
    requests.start(topic, b"d")
    requests.join()
    assert [sorted(batch) for batch in api.batches] == [[b"first"], [b"a", b"b"], [b"c", b"d"]]


def test_a_full_batch_ends_the_wait_for_company_early(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch)
    requests = waiting_for_company(topic, api, monkeypatch, linger_s=2.0)
    started = time.monotonic()
    for index in range(publish.MAX_BATCH_MESSAGES):
        requests.start(topic, f"m{index}".encode())
    requests.join()
    # c went with the first 99 to queue behind it as soon as they were there; the last one,
    # after a full batch, waited for company in its turn, and alone.
    assert [len(batch) for batch in api.batches] == [1, 2, publish.MAX_BATCH_MESSAGES, 1]
    assert api.batches[2][0] == b"c"
    assert api.called_at[2] - started < 2.0 <= api.called_at[3] - api.called_at[2]


def test_a_hedging_publish_may_take_the_queue_from_one_waiting_for_company(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = use(HeldPublish(hold_first=1), monkeypatch, hedge=True)
    monkeypatch.setattr(publish, "STALLED_AFTER_S", 0.05)
    requests = waiting_for_company(topic, api, monkeypatch, linger_s=1.0)
    requests.start(topic, b"d")  # finds c's wait stalled, so publishes c and d itself
    requests.join()
    assert [sorted(batch) for batch in api.batches] == [[b"first"], [b"a", b"b"], [b"c", b"d"]]
    assert sorted(requests.results) == [b"a", b"b", b"c", b"d", b"first"]
    assert all(isinstance(result, list) for result in requests.results.values())
