"""Publishing to Pub/Sub: call events for dispatch, failures to the dead-letter topic."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1

from shared.errors import PublishFailed
from shared.events import SCHEMA_VERSION, CallEvent, event_to_json
from shared.settings import Settings

# A webhook waits for its publish ack: flush batches after 5 ms rather than the 10 ms default.
BATCHING = pubsub_v1.types.BatchSettings(max_messages=100, max_latency=0.005)


@functools.cache
def publisher() -> pubsub_v1.PublisherClient:
    """The process-wide client, made on first use (honours PUBSUB_EMULATOR_HOST)."""
    return pubsub_v1.PublisherClient(batch_settings=BATCHING)


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
    topic = publisher().topic_path(settings.project_id, settings.topic)
    return _publish_all(topic, messages, settings.publish_timeout_s)


def publish_dead_letter(data: bytes, attributes: Mapping[str, str], settings: Settings) -> str:
    """Publish one failed message with its reason; raises PublishFailed so it is never lost."""
    topic = publisher().topic_path(settings.project_id, settings.dead_letter_topic)
    return _publish_all(topic, [(data, dict(attributes))], settings.publish_timeout_s)[0]


def _publish_all(topic: str, messages: Sequence[Message], timeout_s: float) -> list[str]:
    """Publish and wait for every ack within one deadline, not one timeout per message."""
    client = publisher()
    futures = [client.publish(topic, data, **attributes) for data, attributes in messages]
    deadline = time.monotonic() + timeout_s
    message_ids = []
    # Each future waited on in turn with what is left of the deadline: a webhook's one message
    # costs one condition wait, not the waiters concurrent.futures.wait installs and removes.
    for future in futures:
        try:
            message_ids.append(str(future.result(timeout=max(0.0, deadline - time.monotonic()))))
        except FutureTimeout:
            pending = sum(not each.done() for each in futures)
            raise PublishFailed(
                f"Pub/Sub did not acknowledge {pending} within {timeout_s:g} s"
            ) from None
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError) as error:
            raise PublishFailed(f"Pub/Sub did not acknowledge: {type(error).__name__}") from None
    return message_ids
