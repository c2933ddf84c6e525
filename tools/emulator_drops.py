"""Does the Pub/Sub emulator drop push messages answered 503 a few times? (issue 12, item 9)

A bounded experiment on loopback: one emulator of its own, one topic per trial with
`--subscriptions` push subscriptions (dead-letter policy as tools/topology.py makes it; with
and without Terraform's kind of exponential retry policy) to a local endpoint that answers 503
to the first `--fail-times` pushes of each message per subscription and 204 after. For each
max-delivery-attempts value it publishes `--messages` messages and waits until every
(subscription, message) was acknowledged (a 204) or dead-lettered, at most `--wait` seconds,
then prints what became of them:

- acked: the endpoint answered 204 to it;
- dead-lettered: it arrived on the dead-letter topic (Pub/Sub gave up after max attempts);
- dropped: neither, with how many pushes it had had.

`python -m tools.emulator_drops --attempts 5,10,15,20,40` (up to `--wait` seconds per trial).
Exit status 1 when a message was dropped without a retry policy (the local topology's
setting); drops with one are the emulator defect tools/topology.py describes. It stops the
emulator it started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.cloud import pubsub_v1

from tools.pubsub_pull import pull_and_ack
from tools.stack import Ports, Stack
from tools.topology import (
    TERRAFORM_LIKE_BACKOFF_S,
    create_topology,
    dead_letter_subscription,
    push_subscription,
)

DEAD_LETTER_SOURCE = "CloudPubSubDeadLetterSourceSubscription"


@dataclass
class Endpoint:
    """What the push endpoint saw: pushes per (subscription, message id), and which it acked."""

    fail_times: int
    pushes: Counter[tuple[str, str]] = field(default_factory=Counter)
    acked: set[tuple[str, str]] = field(default_factory=set)
    # Pushes of a message already acked (Pub/Sub's at-least-once; counted, not an error).
    pushed_after_ack: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, subscription: str, message_id: str) -> int:
        """503 to the first `fail_times` pushes of a message to a subscription, then 204."""
        key = (subscription, message_id)
        with self.lock:
            self.pushes[key] += 1
            if key in self.acked:
                self.pushed_after_ack += 1
            if self.pushes[key] <= self.fail_times:
                return 503
            self.acked.add(key)
            return 204


def serve(endpoint: Endpoint) -> ThreadingHTTPServer:
    """The push endpoint on a free loopback port, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            envelope = json.loads(body)
            # The subscription is the path's last part: one path per subscription.
            status = endpoint.answer(self.path.strip("/"), envelope["message"]["messageId"])
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass(frozen=True)
class Outcome:
    """What became of every (subscription, message) for one max-delivery-attempts value."""

    attempts: int
    retry_policy: bool
    expected: int
    acked: int
    dead_lettered: int
    dropped: int
    # For the dropped ones: how many pushes each had had (count of messages per push count).
    dropped_after_pushes: dict[int, int]
    pushed_after_ack: int
    seconds: float

    @property
    def policy(self) -> str:
        low, high = TERRAFORM_LIKE_BACKOFF_S
        return f"{low}-{high} s backoff" if self.retry_policy else "none"

    def row(self) -> str:
        cells = (
            self.attempts,
            self.policy,
            self.expected,
            self.acked,
            self.dead_lettered,
            self.dropped,
            self.dropped_after_pushes or "-",
            self.pushed_after_ack,
            f"{self.seconds:.0f}",
        )
        return "| " + " | ".join(map(str, cells)) + " |"


HEADER = (
    "| max attempts | retry policy | expected | acked | dead-lettered | dropped "
    "| dropped after N pushes | pushed after ack | seconds |\n|---|---|---|---|---|---|---|---|---|"
)


def trial(
    stack: Stack,
    attempts: int,
    retry_policy: bool,
    subscriptions: int,
    messages: int,
    fail_times: int,
    wait_s: float,
) -> Outcome:
    """One topic with its own subscriptions and endpoint; publish, wait, count."""
    endpoint = Endpoint(fail_times)
    server = serve(endpoint)
    topic = f"drops-{attempts}-{'retry' if retry_policy else 'plain'}"
    dead_letter_topic = f"{topic}-dead-letter"
    names = [f"s{index}" for index in range(subscriptions)]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    create_topology(
        emulator_host=stack.emulator_host,
        project=stack.project,
        topic=topic,
        dead_letter_topic=dead_letter_topic,
        push_endpoints={name: f"{base}/{push_subscription(topic, name)}" for name in names},
        max_delivery_attempts=attempts,
        retry_backoff_s=TERRAFORM_LIKE_BACKOFF_S if retry_policy else None,
    )
    began = time.monotonic()
    publisher = pubsub_v1.PublisherClient()
    futures = [
        publisher.publish(publisher.topic_path(stack.project, topic), f"m{i}".encode())
        for i in range(messages)
    ]
    message_ids = [future.result(timeout=30) for future in futures]
    _remember_ids([f"m{i}".encode() for i in range(messages)], message_ids)
    expected = {(push_subscription(topic, n), m) for n in names for m in message_ids}
    dead: set[tuple[str, str]] = set()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        dead |= _pull_dead_letters(stack.project, dead_letter_subscription(dead_letter_topic))
        with endpoint.lock:
            open_ = expected - endpoint.acked - dead
        if not open_:
            break
        time.sleep(2)
    seconds = time.monotonic() - began
    server.shutdown()
    with endpoint.lock:
        acked = expected & endpoint.acked
        dropped = expected - endpoint.acked - dead
        after = Counter(endpoint.pushes[key] for key in dropped)
    return Outcome(
        attempts=attempts,
        retry_policy=retry_policy,
        expected=len(expected),
        acked=len(acked),
        dead_lettered=len(expected & dead),
        dropped=len(dropped),
        dropped_after_pushes=dict(sorted(after.items())),
        pushed_after_ack=endpoint.pushed_after_ack,
        seconds=seconds,
    )


def _pull_dead_letters(project: str, subscription: str) -> set[tuple[str, str]]:
    """(source subscription, original message id) of the dead letters waiting, acknowledged.

    The emulator republishes a dead letter with a new message id; the original is in the data
    (this experiment publishes `m<i>`), so the message id is matched through the payload.
    """
    found: set[tuple[str, str]] = set()
    with pubsub_v1.SubscriberClient() as subscriber:
        path = subscriber.subscription_path(project, subscription)
        for received in pull_and_ack(subscriber, path, 1000, timeout_s=5):
            source = received.message.attributes.get(DEAD_LETTER_SOURCE, "")
            found.add((source.rsplit("/", 1)[-1], _DATA_TO_ID.get(received.message.data, "?")))
    return found


# Filled as messages are published: the data `m<i>` → the message id the emulator gave it.
_DATA_TO_ID: dict[bytes, str] = {}


def _remember_ids(data: Sequence[bytes], message_ids: Sequence[str]) -> None:
    _DATA_TO_ID.update(zip(data, message_ids, strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one trial per attempts value and print the table; 1 if anything was dropped."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--attempts", default="5,10,15,20,40", help="max delivery attempts")
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--fail-times", type=int, default=3, help="503s per message")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds per trial, at most")
    parser.add_argument(
        "--retry-policy",
        choices=("both", "with", "without"),
        default="both",
        help="trials with Terraform's kind of retry policy, without one (local), or both",
    )
    args = parser.parse_args(argv)
    values = [int(part) for part in args.attempts.split(",")]
    outcomes: list[Outcome] = []
    with Stack(ports=Ports.free(), services=("emulator",)) as stack:
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        print(
            f"{args.subscriptions} push subscriptions on one topic, {args.messages} messages, "
            f"each answered 503 {args.fail_times} times per subscription, then 204",
            flush=True,
        )
        print(HEADER, flush=True)
        policies = {"both": (False, True), "with": (True,), "without": (False,)}
        for retry_policy in policies[args.retry_policy]:
            for attempts in values:
                outcome = trial(
                    stack,
                    attempts,
                    retry_policy,
                    args.subscriptions,
                    args.messages,
                    args.fail_times,
                    args.wait,
                )
                outcomes.append(outcome)
                print(outcome.row(), flush=True)
    return 1 if any(o.dropped for o in outcomes if not o.retry_policy) else 0


if __name__ == "__main__":
    sys.exit(main())
