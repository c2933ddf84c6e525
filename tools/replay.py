"""Replay dead letters: publish each back to the call topic, then acknowledge it on the hold.

The delivery ledger makes a replay safe: destinations that already sent the hit acknowledge it
as a duplicate, and only the ones that did not send it. Fix the cause first (a property id, a
secret, a destination outage), or the event comes straight back with the same reason.

One kind of dead letter is not safe: a dispatch attempt that died mid-send (a killed instance, a
timeout) leaves its ledger record `sending`; later deliveries of the message were refused as in
flight until Pub/Sub gave up. The hit may well have reached the destination, so resending it may
count the call twice. Those are listed apart and resent only when you say so (or
--resend-in-flight); otherwise they stay on the hold subscription.

    python -m tools.replay --project my-project --dry-run          # list what would be replayed
    python -m tools.replay --project my-project --reason destination_rejected
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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


# Asked about the letters whose attempt was in flight; True resends them.
Confirm = Callable[[Sequence[DeadLetter]], bool]
# True when the ledger still holds the letter's delivery as `sending` (its attempt died mid-send).
InFlight = Callable[[DeadLetter], bool]
# Held letters whose question waits for an answer keep their lease this long.
ANSWER_WITHIN_S = 600


def never_in_flight(_: DeadLetter) -> bool:
    """For a replay without a ledger to ask (DEDUP=off)."""
    return False


def refuse(_: Sequence[DeadLetter]) -> bool:
    """The answer when nobody can be asked: leave the in-flight letters on the hold."""
    return False


@dataclass(frozen=True)
class LedgerLookup:
    """Reads the delivery ledger: was this letter's delivery left `sending` by a dead attempt?"""

    documents: Any  # a Firestore collection reference

    def __call__(self, letter: DeadLetter) -> bool:
        from shared.deliveries import SENDING, delivery_key

        event_id = letter.attributes.get("event_id", "")
        source = letter.attributes.get("source") or None
        if not event_id:
            return False
        # The source-keyed id first; the legacy `{destination}:{event_id}` one as well.
        keys = dict.fromkeys(
            [
                delivery_key(letter.destination, event_id, source),
                delivery_key(letter.destination, event_id),
            ]
        )
        for key in keys:
            snapshot = self.documents.document(key).get(timeout=10)
            if snapshot.exists and (snapshot.to_dict() or {}).get("state") == SENDING:
                return True
        return False


def ledger_lookup(project: str, database: str, collection: str) -> LedgerLookup:
    """The lookup for a deployment's ledger (FIRESTORE_EMULATOR_HOST points it at the emulator)."""
    from shared.deliveries import firestore_client

    return LedgerLookup(firestore_client(project, database).collection(collection))


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
    in_flight: InFlight = never_in_flight,
    confirm: Confirm = refuse,
) -> list[DeadLetter]:
    """Republish matching dead letters to `topic` and acknowledge them; returns them.

    Letters whose attempt was in flight are gathered, shown to `confirm` once at the end and
    resent only if it answers True (a dry run lists them without asking). Messages that do not
    match, cannot be read as call events, were not confirmed, or belong to a dry run are handed
    back to the subscription untouched.
    """
    subscriber = pubsub_v1.SubscriberClient()
    publisher = pubsub_v1.PublisherClient()
    subscription = subscriber.subscription_path(project, hold_subscription)
    topic_path = publisher.topic_path(project, topic)
    replayed: list[DeadLetter] = []
    doubtful: list[DeadLetter] = []
    # Letters left alone stay leased until the end, so the next pull reaches new ones.
    held: list[str] = []
    try:
        while len(replayed) + len(doubtful) < limit:
            count = min(100, limit - len(replayed) - len(doubtful))
            letters = _pull(subscriber, subscription, count)
            if not letters:
                break
            chosen = [
                letter for letter in letters if wanted.matches(letter) and letter.replayable()
            ]
            held += [letter.ack_id for letter in letters if letter not in chosen]
            unsure = [letter for letter in chosen if in_flight(letter)]
            safe = [letter for letter in chosen if letter not in unsure]
            doubtful += unsure
            # The question comes at the end: keep these leased until it is answered.
            _extend(subscriber, subscription, [letter.ack_id for letter in unsure])
            if dry_run:
                held += [letter.ack_id for letter in safe]
            else:
                _republish(publisher, subscriber, subscription, topic_path, safe)
            replayed += safe
        if dry_run:
            # Listed like the others: the caller tells them apart with `in_flight`.
            replayed += doubtful
            held += [letter.ack_id for letter in doubtful]
        elif doubtful and confirm(doubtful):
            _republish(publisher, subscriber, subscription, topic_path, doubtful)
            replayed += doubtful
        else:
            held += [letter.ack_id for letter in doubtful]
    finally:
        _release(subscriber, subscription, held)
        subscriber.close()
    return replayed


def _republish(
    publisher: pubsub_v1.PublisherClient,
    subscriber: pubsub_v1.SubscriberClient,
    subscription: str,
    topic_path: str,
    letters: Sequence[DeadLetter],
) -> None:
    futures = [
        publisher.publish(topic_path, letter.data, **_original(letter.attributes))
        for letter in letters
    ]
    for future in futures:
        future.result(timeout=30)
    # Acknowledged only once the topic has it again: a crash here loses nothing.
    _ack(subscriber, subscription, [letter.ack_id for letter in letters])


def _extend(subscriber: pubsub_v1.SubscriberClient, subscription: str, ack_ids: list[str]) -> None:
    if ack_ids:
        subscriber.modify_ack_deadline(
            request={
                "subscription": subscription,
                "ack_ids": ack_ids,
                "ack_deadline_seconds": ANSWER_WITHIN_S,
            }
        )


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


def describe_in_flight(letters: Sequence[DeadLetter]) -> str:
    """What an operator is asked about letters whose attempt died mid-send."""
    lines = [
        f"{len(letters)} dead letter(s) were being sent when their attempt died: the ledger still",
        "holds them as `sending`, so the destination may already have counted the hit and a",
        "resend may count the call twice:",
        *(
            f"  in flight {letter.attributes.get('event_id', '?')}  "
            f"destination={letter.destination}  reason={letter.reason}"
            for letter in letters
        ),
    ]
    return "\n".join(lines)


def ask(answer: Callable[[str], str] = input) -> Confirm:
    """A confirm that prints the in-flight letters and asks on the terminal (default: no)."""

    def confirm(letters: Sequence[DeadLetter]) -> bool:
        print(describe_in_flight(letters))
        try:
            reply = answer("Resend them anyway? [y/N] ")
        except EOFError:
            reply = ""
        return reply.strip().lower() in {"y", "yes"}

    return confirm


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
    parser.add_argument(
        "--resend-in-flight",
        action="store_true",
        help="resend letters whose attempt died mid-send without asking (may count twice)",
    )
    parser.add_argument(
        "--firestore-database", default=os.environ.get("FIRESTORE_DATABASE", "call-bridge")
    )
    parser.add_argument(
        "--deliveries-collection", default=os.environ.get("DELIVERIES_COLLECTION", "deliveries")
    )
    parser.add_argument(
        "--no-ledger", action="store_true", help="do not read the ledger (DEDUP=off)"
    )
    args = parser.parse_args(argv)
    in_flight: InFlight = never_in_flight
    if not args.no_ledger:
        in_flight = ledger_lookup(args.project, args.firestore_database, args.deliveries_collection)
    confirm: Confirm = (lambda _: True) if args.resend_in_flight else ask()
    letters = replay(
        args.project,
        args.topic,
        args.subscription,
        Filter(frozenset(args.reason), frozenset(args.destination), frozenset(args.event_id)),
        limit=args.limit,
        dry_run=args.dry_run,
        in_flight=in_flight,
        confirm=confirm,
    )
    if args.dry_run:
        unsure = [letter for letter in letters if in_flight(letter)]
        _print([letter for letter in letters if letter not in unsure], "would be replayed")
        if unsure:
            print(describe_in_flight(unsure))
            print("(a replay asks before resending these; --resend-in-flight does not ask)")
        return 0
    _print(letters, "replayed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
