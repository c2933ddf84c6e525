"""The delivery ledger: one Firestore document per (destination, source, event id) sent.

A hit is not idempotent, and the same event reaches dispatch more than once (vendor retries,
Pub/Sub redeliveries). Before sending, dispatch claims the pair with an atomic create; a pair
already sent is acknowledged without sending again. Only sends are remembered: a claim whose
attempt failed is released, so Pub/Sub's redelivery or an operator's replay can still send it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry

from shared.errors import DeliveryInFlight, LedgerUnavailable
from shared.firestore_writes import OneWriteCommits, commits_for
from shared.settings import Settings

if TYPE_CHECKING:
    # Imported when the first client is made: importing this module (as every entry point does
    # through dispatch) must not load Firestore's client, ~0.1-0.3 s of a cold start.
    from google.cloud import firestore

# Longer than anything can bring an event back: the dead-letter hold keeps it 31 days for replay.
KEEP_FOR = timedelta(days=35)
SENDING, SENT = "sending", "sent"


@dataclass(frozen=True)
class Claim:
    """The right to send one event to one destination, or word that it was already sent."""

    document_id: str
    already_sent: bool = False
    # When our claim was written: a release deletes the document only if it is still ours.
    update_time: datetime | None = None


@dataclass(frozen=True)
class Ledger:
    """Claims, records and releases deliveries; without a client (DEDUP=off) it keeps nothing."""

    client: firestore.Client | None
    collection: str
    lease: timedelta
    timeout_s: float
    # The common path's two writes; the rare paths (read, takeover, release) use `client`.
    _commits: OneWriteCommits | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.client is not None:
            # A frozen dataclass sets a derived field this way (the dataclasses docs' own advice).
            object.__setattr__(self, "_commits", commits_for(self.client))

    def claim(
        self, destination: str, event_id: str, now: datetime, source: str | None = None
    ) -> Claim:
        """Claim the delivery of `source`'s event, or learn that it was already sent.

        Pass the event's source: without it the key is the legacy `{destination}:{event_id}`,
        which a generic sender choosing another platform's event id can squat. Raises
        DeliveryInFlight while another attempt's claim is younger than the lease, and
        LedgerUnavailable when Firestore does not answer in time.
        """
        document_id = delivery_key(destination, event_id, source)
        if self._commits is None:
            return Claim(document_id)
        name = self._commits.document_name(self.collection, document_id)
        fields = {"state": SENDING, "claimed_at": now, "expire_at": now + KEEP_FOR}
        try:
            with _ledger_errors():
                update_time = self._commits.create(name, fields, self._call())
        except api_exceptions.AlreadyExists:
            return self._claim_existing(document_id, fields, now)
        return Claim(document_id, update_time=update_time)

    def mark_sent(self, claim: Claim, now: datetime) -> bool:
        """Record the hit as sent, so that no later copy of the event sends it again.

        Returns False when Firestore did not answer (the claim then lapses with its lease).
        """
        if self._commits is None:
            return True
        name = self._commits.document_name(self.collection, claim.document_id)
        fields = {"state": SENT, "sent_at": now, "expire_at": now + KEEP_FOR}
        try:
            with _ledger_errors():
                # Unconditional: the hit is out, whoever holds the claim by now.
                self._commits.merge(name, fields, self._call())
        except LedgerUnavailable:
            return False
        return True

    def release(self, claim: Claim) -> None:
        """Give up the claim of a failed attempt, so that the next copy of the event may send.

        Never raises: a claim it cannot delete only holds that copy back until the lease ends.
        """
        if self.client is None or claim.update_time is None:
            return
        document = self.client.collection(self.collection).document(claim.document_id)
        option = self.client.write_option(last_update_time=claim.update_time)
        # FailedPrecondition: another attempt took the claim over, so it is not ours to delete.
        # Unavailable: the next claim fails the same way and dispatch logs that.
        ours_no_more = (api_exceptions.FailedPrecondition, LedgerUnavailable)
        with contextlib.suppress(*ours_no_more), _ledger_errors():
            document.delete(option=option, **self._call())

    def _claim_existing(self, document_id: str, fields: dict[str, Any], now: datetime) -> Claim:
        """The claim's create found the document: the delivery was sent, or is or was in flight."""
        assert self.client is not None
        document = self.client.collection(self.collection).document(document_id)
        with _ledger_errors():
            snapshot = document.get(**self._call())
            if not snapshot.exists:
                raise DeliveryInFlight("another attempt released its claim just now")
            existing = snapshot.to_dict() or {}
            if existing.get("state") == SENT:
                return Claim(document_id, already_sent=True)
            claimed_at = existing.get("claimed_at")
            if isinstance(claimed_at, datetime) and now - claimed_at < self.lease:
                raise DeliveryInFlight(f"claimed at {claimed_at.isoformat()}; lease not over")
            # The claim outlived the lease, so its attempt died: take it over, unless another
            # attempt just did (the document then changed since we read it).
            option = self.client.write_option(last_update_time=snapshot.update_time)
            try:
                result = document.update(fields, option=option, **self._call())
            except api_exceptions.FailedPrecondition:
                raise DeliveryInFlight("another attempt took the expired claim over") from None
            return Claim(document_id, update_time=result.update_time)

    def _call(self) -> dict[str, Any]:
        return _bounded_call(self.timeout_s)


def delivery_key(destination: str, event_id: str, source: str | None = None) -> str:
    """The ledger document id: `{destination}:{source}:{event_id}`.

    The source is part of it because the generic source takes any `event_id` its sender
    chooses: keyed by id alone, a generic call carrying the id Twilio's call derives would make
    the real Twilio call a duplicate. A platform's own retries keep their key, so still dedup.
    """
    return f"{destination}:{source}:{event_id}" if source else f"{destination}:{event_id}"


def delivery_ledger(settings: Settings) -> Ledger:
    """The ledger the settings describe: Firestore's, or one that keeps nothing (DEDUP=off)."""
    client = None
    if settings.dedup == "firestore":
        client = firestore_client(settings.project_id, settings.firestore_database)
    lease = timedelta(seconds=settings.delivery_lease_s)
    return Ledger(client, settings.deliveries_collection, lease, settings.ledger_timeout_s)


@functools.cache
def firestore_client(project: str, database: str) -> firestore.Client:
    """One client per database, made on first use (honours FIRESTORE_EMULATOR_HOST)."""
    from google.cloud import firestore

    return firestore.Client(project=project, database=database)


@functools.cache
def _bounded_call(timeout_s: float) -> dict[str, Any]:
    """Retry and timeout for every ledger call, built once per timeout (they hold no state)."""
    # The client's default retry goes on for 60 s whatever `timeout` says: bound all of it.
    retry = api_retry.Retry(
        api_retry.if_transient_error, initial=0.05, maximum=1.0, timeout=timeout_s
    )
    return {"retry": retry, "timeout": timeout_s}


@contextlib.contextmanager
def _ledger_errors() -> Iterator[None]:
    try:
        yield
    except (api_exceptions.AlreadyExists, api_exceptions.FailedPrecondition):
        raise
    except api_exceptions.GoogleAPIError as error:
        raise LedgerUnavailable(f"Firestore did not answer: {type(error).__name__}") from None
