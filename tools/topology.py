"""Topics and subscriptions on the Pub/Sub emulator, shaped like the Terraform deployment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1

# As terraform/'s max_delivery_attempts default (tests/terraform checks they agree).
MAX_DELIVERY_ATTEMPTS = 40
ACK_DEADLINE_S = 30
# Terraform's exponential retry policy, (minimum, maximum) backoff in seconds, shortened.
# Not the local default: the Pub/Sub emulator (pubsub-emulator 0.8.20, gcloud 528) loses push
# messages refused twice when a subscription has a retry policy. Its MessageBacklog files a
# message refused again under its backoff time; when two messages fall due in the same
# millisecond (common when several are refused at once), one of them is filed again on the
# next pull, its second firing meets a NullPointerException, and that kills the subscription's
# redelivery timer: from then on every message refused twice stays unacked, never pushed and
# never dead-lettered, whatever max_delivery_attempts is. Without a retry policy the emulator
# pushes a refused message again after its fixed 1 s and counts the attempts, so dead-lettering
# works. tools/emulator_drops.py shows both (docs/development.md, "The emulator's drops").
TERRAFORM_LIKE_BACKOFF_S = (1, 10)


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
    retry_backoff_s: tuple[int, int] | None = None,
) -> None:
    """Create the topic, the dead-letter topic with its pull subscription, and one push
    subscription per destination with a dead-letter policy; with `retry_backoff_s`, also an
    exponential retry policy (the emulator then loses messages: see TERRAFORM_LIKE_BACKOFF_S)."""
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
            request: dict[str, object] = {
                "name": name,
                "topic": topic_path,
                "ack_deadline_seconds": ACK_DEADLINE_S,
                "push_config": {"push_endpoint": endpoint},
                "dead_letter_policy": {
                    "dead_letter_topic": dead_letter_path,
                    "max_delivery_attempts": max_delivery_attempts,
                },
            }
            if retry_backoff_s is not None:
                request["retry_policy"] = {
                    "minimum_backoff": {"seconds": retry_backoff_s[0]},
                    "maximum_backoff": {"seconds": retry_backoff_s[1]},
                }
            with already:
                subscriber.create_subscription(request=request)
    finally:
        subscriber.close()
        publisher.transport.close()
