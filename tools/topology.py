"""Topics and subscriptions on the Pub/Sub emulator, shaped like the Terraform deployment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1

# As terraform/'s max_delivery_attempts default (tests/terraform checks they agree). Locally the
# backoff is short, so 40 attempts still end within minutes; and the emulator, with several push
# subscriptions on one topic, dropped messages answered 503 a few times when attempts were low
# (5), while with 15 every one arrived.
MAX_DELIVERY_ATTEMPTS = 40
ACK_DEADLINE_S = 30


def dead_letter_subscription(dead_letter_topic: str) -> str:
    """The pull subscription that keeps dead letters for inspection and replay."""
    return f"{dead_letter_topic}-hold"


def push_subscription(topic: str, destination: str) -> str:
    """The push subscription that feeds one destination."""
    return f"{topic}-{destination}"


def create_topology(
    *,
    emulator_host: str,
    project: str,
    topic: str,
    dead_letter_topic: str,
    push_endpoints: Mapping[str, str],
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS,
) -> None:
    """Create the topic, the dead-letter topic with its pull subscription, and one push
    subscription per destination with a retry policy and a dead-letter policy."""
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    already = contextlib.suppress(api_exceptions.AlreadyExists)
    try:
        topic_path = publisher.topic_path(project, topic)
        dead_letter_path = publisher.topic_path(project, dead_letter_topic)
        for path in (topic_path, dead_letter_path):
            with already:
                publisher.create_topic(name=path)
        hold = subscriber.subscription_path(project, dead_letter_subscription(dead_letter_topic))
        with already:
            subscriber.create_subscription(
                name=hold, topic=dead_letter_path, ack_deadline_seconds=ACK_DEADLINE_S
            )
        for destination, endpoint in push_endpoints.items():
            name = subscriber.subscription_path(project, push_subscription(topic, destination))
            with already:
                subscriber.create_subscription(
                    request={
                        "name": name,
                        "topic": topic_path,
                        "ack_deadline_seconds": ACK_DEADLINE_S,
                        "push_config": {"push_endpoint": endpoint},
                        "retry_policy": {
                            "minimum_backoff": {"seconds": 1},
                            "maximum_backoff": {"seconds": 10},
                        },
                        "dead_letter_policy": {
                            "dead_letter_topic": dead_letter_path,
                            "max_delivery_attempts": max_delivery_attempts,
                        },
                    }
                )
    finally:
        subscriber.close()
        publisher.transport.close()
