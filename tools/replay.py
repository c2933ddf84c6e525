"""Replay dead letters: publish each back to the call topic, then acknowledge it on the hold.

The delivery ledger makes a replay safe: destinations that already sent the hit acknowledge it
as a duplicate, and only the ones that did not send it. Fix the cause first (a property id, a
secret, a destination outage), or the event comes straight back with the same reason.

    python -m tools.replay --project my-project --dry-run          # list what would be replayed
    python -m tools.replay --project my-project --reason destination_rejected
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from google.cloud import pubsub_v1

from shared.errors import PermanentError
from shared.events import event_from_json
from tools.topology import dead_letter_subscription

# What ingest sets on every message; everything else was added on the way to the dead letters.
KEPT_ATTRIBUTES = ("event_id", "source", "status", "schema_version")
# Pub/Sub's own dead-lettering names the subscription it gave up on, not a reason.
EXHAUSTED = "delivery_attempts_exhausted"


@dataclass(frozen=True)
class DeadLetter:
    """One message on the hold subscription, read without acknowledging it."""

    ack_id: str
    data: bytes
    attributes: dict[str, str]

    @property
    def reason(self) -> str:
        return self.attributes.get("reason", EXHAUSTED)

    @property
    def destination(self) -> str:
        """The destination that gave up on it (from our attribute or Pub/Sub's)."""
        if "destination" in self.attributes:
            return self.attributes["destination"]
        subscription = self.attributes.get("CloudPubSubDeadLetterSourceSubscription", "")
        return subscription.rsplit("-", 1)[-1] if subscription else "?"

    def replayable(self) -> bool:
        """True when the data is a call event this version reads."""
        try:
            event_from_json(self.data)
        except PermanentError:
            return False
        return True


@dataclass(frozen=True)
class Filter:
    """Which dead letters to replay; empty sets mean all."""

    reasons: frozenset[str] = frozenset()
    destinations: frozenset[str] = frozenset()
    event_ids: frozenset[str] = frozenset()

    def matches(self, letter: DeadLetter) -> bool:
        """True when the letter passes every non-empty criterion."""
        event_id = letter.attributes.get("event_id", "")
        return (
            (not self.reasons or letter.reason in self.reasons)
            and (not self.destinations or letter.destination in self.destinations)
            and (not self.event_ids or event_id in self.event_ids)
        )


def replay(
    project: str,
    topic: str,
    hold_subscription: str,
    wanted: Filter,
    *,
    limit: int = 1000,
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Republish matching dead letters to `topic` and acknowledge them; returns them.

    Messages that do not match, cannot be read as call events, or belong to a dry run are
    handed back to the subscription untouched.
    """
    subscriber = pubsub_v1.SubscriberClient()
    publisher = pubsub_v1.PublisherClient()
    subscription = subscriber.subscription_path(project, hold_subscription)
    topic_path = publisher.topic_path(project, topic)
    replayed: list[DeadLetter] = []
    # Letters left alone stay leased until the end, so the next pull reaches new ones.
    held: list[str] = []
    try:
        while len(replayed) < limit:
            letters = _pull(subscriber, subscription, min(100, limit - len(replayed)))
            if not letters:
                break
            chosen = [
                letter for letter in letters if wanted.matches(letter) and letter.replayable()
            ]
            held += [letter.ack_id for letter in letters if letter not in chosen]
            if dry_run:
                held += [letter.ack_id for letter in chosen]
            else:
                futures = [
                    publisher.publish(topic_path, letter.data, **_original(letter.attributes))
                    for letter in chosen
                ]
                for future in futures:
                    future.result(timeout=30)
                # Acknowledged only once the topic has it again: a crash here loses nothing.
                _ack(subscriber, subscription, [letter.ack_id for letter in chosen])
            replayed += chosen
    finally:
        _release(subscriber, subscription, held)
        subscriber.close()
    return replayed


def _pull(
    subscriber: pubsub_v1.SubscriberClient, subscription: str, count: int
) -> list[DeadLetter]:
    response = subscriber.pull(
        request={"subscription": subscription, "max_messages": count}, timeout=10
    )
    return [
        DeadLetter(m.ack_id, bytes(m.message.data), dict(m.message.attributes))
        for m in response.received_messages
    ]


def _ack(subscriber: pubsub_v1.SubscriberClient, subscription: str, ack_ids: list[str]) -> None:
    if ack_ids:
        subscriber.acknowledge(request={"subscription": subscription, "ack_ids": ack_ids})


def _release(subscriber: pubsub_v1.SubscriberClient, subscription: str, ack_ids: list[str]) -> None:
    if ack_ids:
        subscriber.modify_ack_deadline(
            request={"subscription": subscription, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
        )


def _original(attributes: dict[str, str]) -> dict[str, str]:
    return {key: attributes[key] for key in KEPT_ATTRIBUTES if key in attributes}


def _print(letters: Iterable[DeadLetter], verb: str) -> None:
    count = 0
    for letter in letters:
        count += 1
        event_id = letter.attributes.get("event_id", "?")
        print(f"{verb} {event_id}  destination={letter.destination}  reason={letter.reason}")
    print(f"{count} dead letter(s) {verb}.")


def main(argv: Sequence[str] | None = None) -> int:
    """Replay from the command line; `--dry-run` lists without changing anything."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT", "local-project")
    )
    parser.add_argument("--topic", default=os.environ.get("PUBSUB_TOPIC", "call-events"))
    dead_letter_topic = os.environ.get("DEAD_LETTER_TOPIC", "call-events-dead-letter")
    parser.add_argument("--subscription", default=dead_letter_subscription(dead_letter_topic))
    parser.add_argument(
        "--reason", action="append", default=[], help="only this reason (repeatable)"
    )
    parser.add_argument(
        "--destination", action="append", default=[], help="only this destination (repeatable)"
    )
    parser.add_argument("--event-id", action="append", default=[], help="only this event")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    letters = replay(
        args.project,
        args.topic,
        args.subscription,
        Filter(frozenset(args.reason), frozenset(args.destination), frozenset(args.event_id)),
        limit=args.limit,
        dry_run=args.dry_run,
    )
    _print(letters, "would be replayed" if args.dry_run else "replayed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
