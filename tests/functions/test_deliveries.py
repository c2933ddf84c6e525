"""The delivery ledger's states against the real Firestore emulator: claim, sent, release, lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.deliveries import KEEP_FOR, Claim, Ledger, delivery_ledger
from shared.errors import DeliveryInFlight, LedgerUnavailable
from shared.events import derive_event_id
from shared.settings import Settings
from tools.stack import Stack, free_port

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=Settings().delivery_lease_s)
EVENT = "ev_0123456789abcdef0123456789abcdef"


@pytest.fixture
def ledger(empty_ledger: Stack) -> Ledger:
    return delivery_ledger(Settings())


def stored(ledger: Ledger, document_id: str) -> dict[str, Any] | None:
    """The ledger document as Firestore holds it."""
    assert ledger.client is not None
    snapshot = ledger.client.collection(ledger.collection).document(document_id).get()
    return snapshot.to_dict()


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """A ledger whose Firestore refuses every connection, with a short timeout."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    client = firestore.Client(project="local-project", database="call-bridge")
    return Ledger(client, "deliveries", LEASE, timeout_s=0.5)


def test_first_claim_of_a_delivery_is_ours_to_send(ledger: Ledger) -> None:
    claim = ledger.claim("owox", EVENT, NOW)
    assert (claim.document_id, claim.already_sent) == (f"owox:{EVENT}", False)


def test_claim_is_stored_as_sending_and_expires_after_35_days(ledger: Ledger) -> None:
    ledger.claim("owox", EVENT, NOW)
    assert stored(ledger, f"owox:{EVENT}") == {
        "state": "sending",
        "claimed_at": NOW,
        "expire_at": NOW + timedelta(days=35),
    }


def test_claim_after_the_hit_was_sent_says_already_sent(ledger: Ledger) -> None:
    ledger.mark_sent(ledger.claim("owox", EVENT, NOW), NOW)
    later = NOW + timedelta(days=3)
    assert ledger.claim("owox", EVENT, later) == Claim(f"owox:{EVENT}", already_sent=True)


def test_sent_delivery_is_kept_for_35_days_from_the_send(ledger: Ledger) -> None:
    sent_at = NOW + timedelta(seconds=2)
    assert ledger.mark_sent(ledger.claim("owox", EVENT, NOW), sent_at) is True
    assert stored(ledger, f"owox:{EVENT}") == {
        "state": "sent",
        "claimed_at": NOW,
        "sent_at": sent_at,
        "expire_at": sent_at + timedelta(days=35),
    }


def test_claim_while_another_attempt_holds_a_live_claim_is_in_flight(ledger: Ledger) -> None:
    ledger.claim("owox", EVENT, NOW)
    with pytest.raises(DeliveryInFlight):
        ledger.claim("owox", EVENT, NOW + LEASE - timedelta(seconds=1))


def test_claim_after_the_lease_ran_out_takes_the_delivery_over(ledger: Ledger) -> None:
    ledger.claim("owox", EVENT, NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    claim = ledger.claim("owox", EVENT, later)
    assert claim.already_sent is False
    assert stored(ledger, f"owox:{EVENT}") == {
        "state": "sending",
        "claimed_at": later,
        "expire_at": later + timedelta(days=35),
    }


def test_taken_over_claim_holds_off_the_next_attempt_for_a_new_lease(ledger: Ledger) -> None:
    ledger.claim("owox", EVENT, NOW)
    ledger.claim("owox", EVENT, NOW + LEASE + timedelta(seconds=1))
    with pytest.raises(DeliveryInFlight):
        ledger.claim("owox", EVENT, NOW + LEASE + timedelta(seconds=2))


def test_released_claim_lets_the_next_attempt_claim(ledger: Ledger) -> None:
    ledger.release(ledger.claim("owox", EVENT, NOW))
    assert stored(ledger, f"owox:{EVENT}") is None
    assert ledger.claim("owox", EVENT, NOW + timedelta(seconds=1)).already_sent is False


def test_release_of_a_claim_taken_over_leaves_the_new_claim_alone(ledger: Ledger) -> None:
    crashed = ledger.claim("owox", EVENT, NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    ledger.claim("owox", EVENT, later)
    ledger.release(crashed)
    assert stored(ledger, f"owox:{EVENT}") == {
        "state": "sending",
        "claimed_at": later,
        "expire_at": later + timedelta(days=35),
    }


def test_sent_hit_is_recorded_even_when_its_claim_was_taken_over(ledger: Ledger) -> None:
    slow = ledger.claim("owox", EVENT, NOW)
    ledger.claim("owox", EVENT, NOW + LEASE + timedelta(seconds=1))
    ledger.mark_sent(slow, NOW + LEASE + timedelta(seconds=2))
    later = NOW + LEASE + timedelta(seconds=3)
    assert ledger.claim("owox", EVENT, later).already_sent is True


def test_each_destination_has_its_own_delivery_of_an_event(ledger: Ledger) -> None:
    ledger.mark_sent(ledger.claim("owox", EVENT, NOW), NOW)
    assert ledger.claim("ga4", EVENT, NOW).already_sent is False


def test_deliveries_go_to_the_configured_collection(empty_ledger: Stack) -> None:
    ledger = delivery_ledger(Settings(deliveries_collection="dedup-test"))
    ledger.claim("ua", EVENT, NOW)
    assert ledger.client is not None
    assert ledger.client.collection("dedup-test").document(f"ua:{EVENT}").get().exists


def test_ledger_with_dedup_off_lets_every_copy_be_sent(empty_ledger: Stack) -> None:
    ledger = delivery_ledger(Settings(dedup="off"))
    first = ledger.claim("owox", EVENT, NOW)
    assert ledger.mark_sent(first, NOW) is True
    assert ledger.claim("owox", EVENT, NOW).already_sent is False
    assert ledger.client is None


def test_claim_without_firestore_is_unavailable(unreachable: Ledger) -> None:
    with pytest.raises(LedgerUnavailable):
        unreachable.claim("owox", EVENT, NOW)


def test_mark_sent_without_firestore_reports_it_was_not_recorded(unreachable: Ledger) -> None:
    claim = Claim(f"owox:{EVENT}", update_time=NOW)
    assert unreachable.mark_sent(claim, NOW) is False


def test_release_without_firestore_does_not_raise(unreachable: Ledger) -> None:
    unreachable.release(Claim(f"owox:{EVENT}", update_time=NOW))


def test_claim_of_a_sources_event_is_stored_under_destination_source_and_id(
    ledger: Ledger,
) -> None:
    claim = ledger.claim("owox", EVENT, NOW, source="twilio")
    assert claim.document_id == f"owox:twilio:{EVENT}"
    assert stored(ledger, f"owox:twilio:{EVENT}") == {
        "state": "sending",
        "claimed_at": NOW,
        "expire_at": NOW + KEEP_FOR,
    }


def test_generic_sender_reusing_another_platforms_event_id_does_not_squat_it(
    ledger: Ledger,
) -> None:
    # The generic source accepts any event_id, including the one Twilio's call derives.
    squatted = derive_event_id("twilio", "CA3b1f2d9a8c7e6f5d4c3b2a1908f7e6d5")
    ledger.mark_sent(ledger.claim("ga4", squatted, NOW, source="generic"), NOW)
    assert ledger.claim("ga4", squatted, NOW, source="twilio").already_sent is False


def test_platforms_own_retry_of_a_sent_event_is_still_a_duplicate(ledger: Ledger) -> None:
    ledger.mark_sent(ledger.claim("ga4", EVENT, NOW, source="twilio"), NOW)
    later = NOW + timedelta(days=2)
    assert ledger.claim("ga4", EVENT, later, source="twilio") == Claim(
        f"ga4:twilio:{EVENT}", already_sent=True
    )
