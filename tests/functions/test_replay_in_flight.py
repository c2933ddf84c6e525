"""tools/replay.py and a dispatch attempt that died mid-send: told apart, shown, asked about.

Real Pub/Sub and Firestore emulators: the ledger record is written by the ledger itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import pubsub_v1

from shared.deliveries import Ledger, firestore_client
from shared.events import CallEvent, parse_event
from shared.publish import event_message
from shared.settings import Settings
from tests.functions.pubsub import Spy, ensure_topic, spy_on
from tools.replay import DeadLetter, Filter, ask, describe_in_flight, ledger_lookup, replay
from tools.stack import Stack

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Hold:
    """A call topic, a dead-letter topic with its hold subscription, and a spy on the call topic."""

    project: str
    topic: str
    dead_letter_topic: str
    subscription: str
    calls: Spy


@pytest.fixture
def hold(pubsub_emulator: Stack, empty_ledger: Stack) -> Iterator[Hold]:
    project = pubsub_emulator.project
    suffix = uuid.uuid4().hex[:8]
    topic = ensure_topic(project, f"replay-calls-{suffix}")
    dead = ensure_topic(project, f"replay-dead-{suffix}")
    with pubsub_v1.SubscriberClient() as subscriber:
        path = subscriber.subscription_path(project, f"replay-hold-{suffix}")
        subscriber.create_subscription(name=path, topic=dead, ack_deadline_seconds=30)
        with spy_on(project, topic) as calls:
            yield Hold(project, topic.rsplit("/", 1)[-1], dead, path.rsplit("/", 1)[-1], calls)
        subscriber.delete_subscription(subscription=path)


@pytest.fixture
def ledger(empty_ledger: Stack) -> Ledger:
    settings = Settings(project_id=empty_ledger.project)
    client = firestore_client(settings.project_id, settings.firestore_database)
    return Ledger(client, settings.deliveries_collection, timedelta(seconds=90), 5)


def event(call_id: str) -> CallEvent:
    return parse_event(
        {"source": "generic", "call_id": call_id, "status": "answered", "started_at": NOW},
        "US",
    )


def dead_letter(hold: Hold, call: CallEvent, destination: str, reason: str) -> None:
    data, attributes = event_message(call)
    publisher = pubsub_v1.PublisherClient()
    publisher.publish(
        hold.dead_letter_topic, data, **attributes, destination=destination, reason=reason
    ).result(timeout=10)


@pytest.fixture
def crashed_and_clean(hold: Hold, ledger: Ledger) -> tuple[CallEvent, CallEvent]:
    """One letter whose attempt died mid-send (ledger `sending`), one that was never sent."""
    crashed, clean = event("replay-crashed"), event("replay-clean")
    # dispatch's claim, never followed by mark_sent or release: the worker was killed.
    ledger.claim("owox", crashed.event_id, NOW - timedelta(hours=1))
    dead_letter(hold, crashed, "owox", "delivery_attempts_exhausted")
    dead_letter(hold, clean, "owox", "destination_rejected")
    return crashed, clean


def run(hold: Hold, answer: bool, asked: list[Sequence[DeadLetter]]) -> list[DeadLetter]:
    def confirm(letters: Sequence[DeadLetter]) -> bool:
        asked.append(letters)
        return answer

    settings = Settings()
    return replay(
        hold.project,
        hold.topic,
        hold.subscription,
        Filter(),
        in_flight=ledger_lookup(
            hold.project, settings.firestore_database, settings.deliveries_collection
        ),
        confirm=confirm,
    )


def ids(letters: Sequence[DeadLetter]) -> list[str]:
    return sorted(letter.attributes["event_id"] for letter in letters)


def test_letter_whose_attempt_died_mid_send_is_asked_about_and_kept_when_refused(
    hold: Hold, crashed_and_clean: tuple[CallEvent, CallEvent]
) -> None:
    crashed, clean = crashed_and_clean
    asked: list[Sequence[DeadLetter]] = []
    replayed = run(hold, False, asked)
    assert (ids(replayed), [ids(letters) for letters in asked]) == (
        [clean.event_id],
        [[crashed.event_id]],
    )
    assert [m.attributes["event_id"] for m in hold.calls.pull(expected=2, timeout_s=3)] == [
        clean.event_id
    ]
    # Still on the hold: the next replay finds it, and only it, again.
    again: list[Sequence[DeadLetter]] = []
    assert (ids(run(hold, False, again)), [ids(x) for x in again]) == ([], [[crashed.event_id]])


def test_letter_whose_attempt_died_mid_send_is_resent_when_confirmed(
    hold: Hold, crashed_and_clean: tuple[CallEvent, CallEvent]
) -> None:
    crashed, clean = crashed_and_clean
    asked: list[Sequence[DeadLetter]] = []
    replayed = run(hold, True, asked)
    assert ids(replayed) == sorted([crashed.event_id, clean.event_id])
    assert sorted(m.attributes["event_id"] for m in hold.calls.pull(expected=2)) == ids(replayed)
    assert run(hold, True, []) == []


def test_sent_and_never_claimed_deliveries_are_not_in_flight(hold: Hold, ledger: Ledger) -> None:
    sent, unclaimed = event("replay-sent"), event("replay-unclaimed")
    ledger.mark_sent(ledger.claim("ua", sent.event_id, NOW), NOW)
    dead_letter(hold, sent, "ua", "destination_rejected")
    dead_letter(hold, unclaimed, "ua", "destination_rejected")
    asked: list[Sequence[DeadLetter]] = []
    assert (ids(run(hold, False, asked)), asked) == (
        sorted([sent.event_id, unclaimed.event_id]),
        [],
    )


def test_terminal_question_shows_each_in_flight_letter_and_defaults_to_no(
    capsys: pytest.CaptureFixture[str],
) -> None:
    letter = DeadLetter(
        "ack-1", b"{}", {"event_id": "ev_1", "destination": "owox", "reason": "x_reason"}
    )
    prompts: list[str] = []
    answers = iter(["", "y", "YES ", "n"])

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    confirm = ask(answer)
    assert [confirm([letter]) for _ in range(4)] == [False, True, True, False]
    assert prompts == ["Resend them anyway? [y/N] "] * 4
    assert capsys.readouterr().out == (describe_in_flight([letter]) + "\n") * 4
    assert "  in flight ev_1  destination=owox  reason=x_reason" in describe_in_flight([letter])
