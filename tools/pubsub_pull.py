"""Pull what waits on a subscription and acknowledge it at once: for tools and tests that read
a topic to count or inspect it (tools/replay.py acknowledges only after it republished)."""

from __future__ import annotations

from collections.abc import Sequence

from google.cloud import pubsub_v1
from google.pubsub_v1.types import ReceivedMessage


def pull_and_ack(
    subscriber: pubsub_v1.SubscriberClient, path: str, max_messages: int, timeout_s: float
) -> Sequence[ReceivedMessage]:
    """One pull of up to `max_messages`, each acknowledged; empty when nothing waits."""
    response = subscriber.pull(
        request={"subscription": path, "max_messages": max_messages}, timeout=timeout_s
    )
    received: Sequence[ReceivedMessage] = response.received_messages
    if received:
        subscriber.acknowledge(
            request={"subscription": path, "ack_ids": [m.ack_id for m in received]}
        )
    return received
