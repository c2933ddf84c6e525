"""Topics and throwaway pull subscriptions on the emulator: what a function published."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1

from tools.pubsub_pull import pull_and_ack


@dataclass(frozen=True)
class Received:
    """One message as a subscriber sees it."""

    message_id: str
    data: bytes
    attributes: dict[str, str]


@dataclass
class Spy:
    """A pull subscription made for one test: everything published to its topic since."""

    subscriber: pubsub_v1.SubscriberClient
    path: str

    def pull(self, expected: int = 1, timeout_s: float = 10) -> list[Received]:
        """Pull and ack until `expected` messages arrived or the emulator has no more."""
        received: list[Received] = []
        while len(received) < expected:
            pulled = pull_and_ack(self.subscriber, self.path, 100, timeout_s)
            if not pulled:
                break
            received += [
                Received(m.message.message_id, m.message.data, dict(m.message.attributes))
                for m in pulled
            ]
        return received

    def nothing(self) -> bool:
        """True when nothing was published.

        Publishers here wait for the ack, so a message is pullable at once; the emulator holds an
        empty pull until about a second before its deadline, so the deadline is kept short.
        """
        return self.pull(expected=1, timeout_s=2) == []


def ensure_topic(project: str, topic: str) -> str:
    """Create the topic unless it exists; returns its path."""
    publisher = pubsub_v1.PublisherClient()
    path: str = publisher.topic_path(project, topic)
    with contextlib.suppress(api_exceptions.AlreadyExists):
        publisher.create_topic(name=path)
    publisher.transport.close()
    return path


@contextlib.contextmanager
def spy_on(project: str, topic_path: str) -> Iterator[Spy]:
    """A fresh pull subscription on the topic, deleted afterwards."""
    with pubsub_v1.SubscriberClient() as subscriber:
        path = subscriber.subscription_path(project, f"spy-{uuid.uuid4().hex[:12]}")
        subscriber.create_subscription(name=path, topic=topic_path, ack_deadline_seconds=30)
        try:
            yield Spy(subscriber, path)
        finally:
            subscriber.delete_subscription(subscription=path)
