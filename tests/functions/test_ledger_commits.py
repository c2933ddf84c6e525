"""The ledger's common-path writes (raw Commit requests) against what the library itself writes.

Claim and mark_sent build their Commit from protobuf messages instead of going through the
library's document layer; each test here holds them to the library's own result on the real
Firestore emulator, so the two ways of writing cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from shared.deliveries import KEEP_FOR, Ledger, delivery_ledger
from shared.firestore_writes import _commits
from shared.settings import Settings
from tools.stack import Stack

NOW = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)
EVENT = "ev_0123456789abcdef0123456789abcdef"
# Times whose encoding could differ from the library's: a zone other than UTC, a naive time
# (the library takes it as UTC), and microseconds before 1970 (seconds must round down).
NOWS = [
    NOW,
    NOW.astimezone(timezone(timedelta(hours=-5, minutes=-30))),
    NOW.replace(tzinfo=None),
    datetime(1969, 7, 20, 20, 17, 40, 999999, tzinfo=UTC),
]


@pytest.fixture
def ledger(empty_ledger: Stack) -> Ledger:
    return delivery_ledger(Settings())


def reference(ledger: Ledger, name: str) -> Any:
    """A document of the ledger's collection that the tests write through the library."""
    assert ledger.client is not None
    return ledger.client.collection(ledger.collection).document(name)


def as_stored(ledger: Ledger, document_id: str) -> dict[str, tuple[type, Any]]:
    """Each field's value and the type the library reads it as (a timestamp, not a string)."""
    fields = reference(ledger, document_id).get().to_dict() or {}
    return {key: (type(value), value) for key, value in fields.items()}


@pytest.mark.parametrize("now", NOWS, ids=["utc", "other-zone", "naive", "before-1970"])
def test_claim_stores_what_the_librarys_create_stores(ledger: Ledger, now: datetime) -> None:
    reference(ledger, "by-library").create(
        {"state": "sending", "claimed_at": now, "expire_at": now + KEEP_FOR}
    )
    claim = ledger.claim("owox", EVENT, now)
    assert as_stored(ledger, claim.document_id) == as_stored(ledger, "by-library")


@pytest.mark.parametrize("now", NOWS, ids=["utc", "other-zone", "naive", "before-1970"])
def test_mark_sent_stores_what_the_librarys_merge_stores(ledger: Ledger, now: datetime) -> None:
    claimed_at = NOW - timedelta(seconds=3)
    by_library = reference(ledger, "by-library")
    by_library.create({"state": "sending", "claimed_at": claimed_at, "expire_at": NOW + KEEP_FOR})
    by_library.set({"state": "sent", "sent_at": now, "expire_at": now + KEEP_FOR}, merge=True)
    claim = ledger.claim("owox", EVENT, claimed_at)
    assert ledger.mark_sent(claim, now) is True
    assert as_stored(ledger, claim.document_id) == as_stored(ledger, "by-library")


def test_claims_update_time_is_the_documents_to_the_nanosecond(ledger: Ledger) -> None:
    claim = ledger.claim("owox", EVENT, NOW)
    written = reference(ledger, claim.document_id).get().update_time
    assert isinstance(claim.update_time, DatetimeWithNanoseconds)
    assert (claim.update_time, claim.update_time.nanosecond) == (written, written.nanosecond)


def test_release_after_the_hit_was_recorded_keeps_the_record(ledger: Ledger) -> None:
    claim = ledger.claim("owox", EVENT, NOW)
    ledger.mark_sent(claim, NOW)
    ledger.release(claim)
    assert ledger.claim("owox", EVENT, NOW + timedelta(days=1)).already_sent is True


def test_mark_sent_after_the_claim_was_released_still_records_the_send(ledger: Ledger) -> None:
    claim = ledger.claim("owox", EVENT, NOW)
    ledger.release(claim)
    assert ledger.mark_sent(claim, NOW) is True
    assert reference(ledger, claim.document_id).get().to_dict() == {
        "state": "sent",
        "sent_at": NOW,
        "expire_at": NOW + KEEP_FOR,
    }


def test_writes_to_the_emulator_carry_the_librarys_metadata(firestore_emulator: Stack) -> None:
    client = firestore.Client(project="local-project", database="call-bridge")
    writes = _commits.__wrapped__("local-project", "call-bridge", firestore_emulator.firestore_host)
    # Private on both sides, read on purpose: the raw path must send what the library sends.
    assert writes._metadata == tuple(client._rpc_metadata)


def test_writes_to_firestore_carry_the_librarys_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    # No application default credentials here: the channel is made, never connected.
    monkeypatch.setattr("google.auth.default", lambda **_: (anonymous, "a-project"))
    client = firestore.Client(project="a-project", database="a-db", credentials=anonymous)
    writes = _commits.__wrapped__("a-project", "a-db", None)
    assert writes._metadata == tuple(client._rpc_metadata)
