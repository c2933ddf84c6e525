"""Publishing to Pub/Sub: call events for dispatch, failures to the dead-letter topic.

Messages are published in batches that form by themselves ("group commit"): a request whose
message finds no publish under way sends at once, alone; the messages that arrive while a
publish is under way wait for it and go together in the next one; after a batch that carried
several requests, the next publish waits up to LINGER_S for company. A webhook in quiet traffic
so waits one round trip instead of a batching window, and under load one call carries many
messages, with no timer thread and no commit thread per batch (the client library's batcher
starts both for every batch: issue 13 measured a quarter of ingest's CPU in it). The call is
the Pub/Sub API's own Publish, through its generated client.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.pubsub_v1 import PublisherClient
from google.pubsub_v1.types import PublishRequest, PubsubMessage

from shared.errors import PublishFailed
from shared.events import SCHEMA_VERSION, CallEvent, event_to_json
from shared.settings import Settings

# Pub/Sub accepts up to 1,000 messages and 10 MB in one Publish request
# (https://cloud.google.com/pubsub/quotas#resource_limits); the client library's batches stop
# at 100 messages and 1 MB, and so do these.
MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 1_000_000
# One publish under way at a time lets batches grow with the load. A publish that has not
# answered after STALLED_AFTER_S no longer holds the others back: a second one starts, up to
# MAX_IN_FLIGHT at once, so one slow round trip does not stall every webhook behind it.
MAX_IN_FLIGHT = 4
STALLED_AFTER_S = 0.1
# How long a publish waits for company when the one before it went with company, unless a
# full batch is queued first: the client library's own batching window (max_latency 10 ms).
# Under load, batches then grow past the few messages one round trip gathers (measured at 64
# connections: 10-15 % less CPU per call than a 2 ms wait); in quiet traffic nothing waits.
LINGER_S = 0.010
# The generated client's own retry for Publish (transient codes, backing off from 0.1 s),
# bounded here by the caller's deadline instead of its 600 s.
_TRANSIENT = api_retry.if_exception_type(
    api_exceptions.Aborted,
    api_exceptions.Cancelled,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.ResourceExhausted,
    api_exceptions.ServiceUnavailable,
    api_exceptions.Unknown,
)


@functools.cache
def publisher() -> PublisherClient:
    """The process-wide Publish client, made on first use.

    With PUBSUB_EMULATOR_HOST set, the generated client itself talks to the emulator over an
    insecure channel without credentials (google/pubsub_v1/services/publisher/client.py).
    """
    return PublisherClient()


# One Pub/Sub message: its data and its attributes.
Message = tuple[bytes, dict[str, str]]


def event_message(event: CallEvent) -> Message:
    """The message ingest publishes for one event: its JSON, and the attributes dispatch,
    the replay tool and the kept-call sweeper read without decoding it."""
    attributes = {
        "event_id": event.event_id,
        "source": event.source,
        "status": event.status.value,
        "schema_version": str(SCHEMA_VERSION),
    }
    return event_to_json(event), attributes


def publish_events(events: Sequence[CallEvent], settings: Settings) -> list[str]:
    """Publish every event and wait for all acks; returns message ids, raises PublishFailed."""
    return publish_messages([event_message(event) for event in events], settings)


def publish_messages(messages: Sequence[Message], settings: Settings) -> list[str]:
    """Publish ready-made messages to the call topic; raises PublishFailed."""
    topic = PublisherClient.topic_path(settings.project_id, settings.topic)
    return _publish_all(topic, messages, settings.publish_timeout_s)


def publish_dead_letter(data: bytes, attributes: Mapping[str, str], settings: Settings) -> str:
    """Publish one failed message with its reason; raises PublishFailed so it is never lost."""
    topic = PublisherClient.topic_path(settings.project_id, settings.dead_letter_topic)
    return _publish_all(topic, [(data, dict(attributes))], settings.publish_timeout_s)[0]


def _publish_all(topic: str, messages: Sequence[Message], timeout_s: float) -> list[str]:
    """Publish and wait for every ack within one deadline, not one timeout per message."""
    return _batcher(topic).publish(messages, time.monotonic() + timeout_s, timeout_s)


_batchers: dict[str, _Batcher] = {}
_batchers_lock = threading.Lock()


def _batcher(topic: str) -> _Batcher:
    batcher = _batchers.get(topic)
    if batcher is None:
        with _batchers_lock:
            batcher = _batchers.setdefault(topic, _Batcher(topic))
    return batcher


class _State(Enum):
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"


class _Wakeup:
    """Wakes the one request waiting on it; every method is called with the batcher's lock held.

    A lock held until the wake-up, rather than a Condition: a Condition makes, queues and
    drops a lock of its own on every wait, and waits are most of what a request does here.
    """

    __slots__ = ("_sent", "_signal")

    def __init__(self) -> None:
        self._signal = threading.Lock()
        self._signal.acquire()
        self._sent = False

    def wake(self) -> None:
        if not self._sent:
            self._sent = True
            self._signal.release()

    def wait(self, timeout_s: float, held: threading.Lock) -> None:
        """Wait up to `timeout_s` with `held` released; returns with it held again."""
        held.release()
        try:
            woken = self._signal.acquire(timeout=timeout_s)
        finally:
            held.acquire()
        if self._sent:
            if not woken:  # woken just after the wait timed out: take the signal back
                self._signal.acquire()
            self._sent = False


@dataclass(eq=False)
class _Pending:
    """One request's messages, from the queue to their ack."""

    messages: list[PubsubMessage]
    size: int
    deadline: float
    woken: _Wakeup = field(default_factory=_Wakeup)
    state: _State = _State.QUEUED
    message_ids: list[str] = field(default_factory=list)
    error: str | None = None


class _Batcher:
    """The group-commit publisher of one topic.

    A waiting request is also the worker: whoever finds its messages still queued when no
    publish is under way (or the one under way has stalled) takes the queue and publishes it,
    then wakes the next waiter if more arrived meanwhile. No thread of its own: nothing runs
    between requests, which Cloud Run would throttle.
    """

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._last_started = 0.0
        self._last_batch_size = 0
        self._lingering: _Wakeup | None = None

    def publish(self, messages: Sequence[Message], deadline: float, timeout_s: float) -> list[str]:
        pending = _Pending(
            [PubsubMessage.pb()(data=data, attributes=attributes) for data, attributes in messages],
            sum(len(data) for data, _ in messages),
            deadline,
        )
        with self._lock:
            self._queue.append(pending)
            if self._lingering is not None and len(self._queue) >= MAX_BATCH_MESSAGES:
                self._lingering.wake()
            while pending.state is not _State.DONE:
                now = time.monotonic()
                if pending.state is _State.QUEUED and self._may_start(now):
                    self._publish_head(now, pending.woken)
                    continue
                if now >= deadline:
                    self._give_up(pending)
                    raise PublishFailed(
                        f"Pub/Sub did not acknowledge {len(messages)} within {timeout_s:g} s"
                    )
                pending.woken.wait(min(deadline - now, STALLED_AFTER_S), self._lock)
        if pending.error is not None:
            raise PublishFailed(f"Pub/Sub did not acknowledge: {pending.error}")
        return pending.message_ids

    def _may_start(self, now: float) -> bool:
        if self._in_flight == 0:
            return True
        return self._in_flight < MAX_IN_FLIGHT and now - self._last_started >= STALLED_AFTER_S

    def _give_up(self, pending: _Pending) -> None:
        """A request out of time: still queued, its messages are withdrawn (never published,
        so the caller may keep them); already sent, they may still arrive (a duplicate the
        delivery ledger absorbs)."""
        if pending.state is _State.QUEUED:
            self._queue.remove(pending)
        pending.state = _State.DONE

    def _publish_head(self, now: float, woken: _Wakeup) -> None:
        """Take a batch off the queue and publish it, the lock released during the call.

        `woken` is the publishing request's own wake-up, which ends its wait for company early.
        """
        self._in_flight += 1
        self._last_started = now
        if self._last_batch_size > 1:
            # Others publish too: let the batch fill for a moment. One call per batch costs
            # more CPU than each message in it, and under load CPU is what limits throughput.
            self._lingering = woken
            woken.wait(LINGER_S, self._lock)
            self._lingering = None
        batch = self._take_batch()
        if not batch:  # a hedging publish took the queue while this one waited for company
            self._in_flight -= 1
            return
        self._last_batch_size = len(batch)
        self._lock.release()
        try:
            ids, error = _call_publish(self._topic, batch, max(d.deadline for d in batch) - now)
        finally:
            self._lock.acquire()
        self._in_flight -= 1
        for pending in batch:
            message_ids = ids[: len(pending.messages)]
            del ids[: len(pending.messages)]
            if pending.state is _State.DONE:  # it gave up meanwhile
                continue
            pending.state, pending.error, pending.message_ids = _State.DONE, error, message_ids
            pending.woken.wake()
        if self._queue:
            self._queue[0].woken.wake()

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        count = size = 0
        while self._queue:
            head = self._queue[0]
            if batch and (
                count + len(head.messages) > MAX_BATCH_MESSAGES
                or size + head.size > MAX_BATCH_BYTES
            ):
                break
            batch.append(self._queue.popleft())
            head.state = _State.SENDING
            count, size = count + len(head.messages), size + head.size
        return batch


@functools.lru_cache(maxsize=64)
def _retry(timeout_s: float) -> api_retry.Retry:
    """The retry for a publish with `timeout_s` left, made once per tenth of a second: it holds
    no state between calls, and building one is a tenth of a lone publish's own CPU."""
    return api_retry.Retry(predicate=_TRANSIENT, initial=0.1, maximum=1.0, timeout=timeout_s)


def _call_publish(
    topic: str, batch: Sequence[_Pending], timeout_s: float
) -> tuple[list[str], str | None]:
    """One Publish call for the batch: its message ids in order, or why it failed."""
    request = PublishRequest.pb()(
        topic=topic, messages=[message for pending in batch for message in pending.messages]
    )
    try:
        response = publisher().publish(
            request=PublishRequest.wrap(request),
            retry=_retry(round(timeout_s, 1)),
            timeout=timeout_s,
        )
    # Anything else too (credentials that cannot refresh, a client that cannot be made): every
    # request of the batch must hear of it, and a failed publish is one ingest can keep.
    except Exception as error:
        return [], type(error).__name__
    return list(response.message_ids), None
