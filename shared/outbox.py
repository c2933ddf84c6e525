"""Calls kept while Pub/Sub is unavailable: stored in Firestore, republished once it accepts.

Some platforms never resend a webhook answered with an error (Ringostat), others give up after a
few tries, so a 503 from ingest can lose a call. When a publish fails, ingest keeps the verified,
normalised events in the `kept_events` collection and answers 202; the sweeper (on a Cloud
Scheduler schedule) and ingest itself, after a later publish succeeds, publish them again and
delete what Pub/Sub took.

A publish that timed out may still land later (the client keeps retrying it), and a crash between
republishing and deleting publishes again: both make a second message for the same event, which
the delivery ledger acknowledges as a duplicate. Nothing here needs to be exactly-once.

Firestore is imported only when a call is kept or swept, never at ingest's cold start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.errors import RetryableError
from shared.events import CallEvent
from shared.logs import log_outcome
from shared.publish import Message, event_message, publish_messages
from shared.settings import Settings

if TYPE_CHECKING:
    from google.cloud import firestore

KEPT_COLLECTION = "kept_events"
# One sweep publishes at most this many: a backlog drains over several runs, each well inside
# the function's timeout (Firestore reads and Pub/Sub batches of 100 take well under a second).
SWEEP_LIMIT = 500
SWEEP_BATCH = 100
# After a publish succeeds, ingest republishes at most this many, at most this often, in the
# background: the sweeper is the guarantee, this only shortens the wait on a busy instance.
OPPORTUNISTIC_LIMIT = 100
OPPORTUNISTIC_EVERY_S = 10.0

Publish = Callable[[Sequence[Message], Settings], list[str]]


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: events republished, and events it read but could not publish."""

    republished: int
    left: int


def kept_document_id(event: CallEvent) -> str:
    """`{source}:{event_id}`: a vendor's retry of a kept call overwrites it instead of adding one;
    the source keeps a generic sender's chosen id from replacing another platform's call."""
    return f"{event.source}:{event.event_id}"


def keep_events(events: Sequence[CallEvent], settings: Settings, now: datetime) -> bool:
    """Store the events in one atomic batch; False when Firestore did not take them in time."""
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    try:
        client = _client(settings)
        collection = client.collection(KEPT_COLLECTION)
        batch = client.batch()
        for event in events:
            data, attributes = event_message(event)
            fields = {"data": data, "attributes": attributes, "kept_at": now}
            batch.set(collection.document(kept_document_id(event)), fields)
        batch.commit(**_bounded(settings.ledger_timeout_s))
    except (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError):
        # No store either (unreachable, or no credentials): the caller answers 503, so the
        # platform retries; that is still better than a 500 that some platforms never retry.
        return False
    _note_kept()
    return True


def sweep(
    settings: Settings, *, limit: int = SWEEP_LIMIT, publish: Publish = publish_messages
) -> SweepReport:
    """Republish up to `limit` kept events, deleting each once Pub/Sub acknowledged it.

    Stops at the first batch Pub/Sub does not take (it is still unavailable); raises nothing.
    """
    from google.api_core import exceptions as api_exceptions

    collection = _client(settings).collection(KEPT_COLLECTION)
    try:
        # No order: ordering by kept_at would need an index on an ever-growing field, the
        # write-rate hotspot the ledger avoids; document-id order is free and spread.
        snapshots = list(collection.limit(limit).stream(**_bounded(settings.ledger_timeout_s)))
    except api_exceptions.GoogleAPIError as error:
        log_outcome("ERROR", "kept calls not read", outcome="failed", reason=type(error).__name__)
        return SweepReport(0, 0)
    republished = 0
    for start in range(0, len(snapshots), SWEEP_BATCH):
        chunk = snapshots[start : start + SWEEP_BATCH]
        try:
            publish([_message(snapshot) for snapshot in chunk], settings)
        except RetryableError as error:
            log_outcome(
                "WARNING",
                "kept calls not republished yet; Pub/Sub still unavailable",
                outcome="failed",
                reason=error.reason,
                count=len(snapshots) - republished,
            )
            return SweepReport(republished, len(snapshots) - republished)
        for snapshot in chunk:
            _forget(snapshot, settings)
        republished += len(chunk)
    return SweepReport(republished, 0)


def after_publish(settings: Settings) -> None:
    """Once a publish succeeded, republish what this instance kept, in the background.

    Only an instance that kept something looks (so a healthy ingest never loads Firestore);
    at most one sweep at a time, at most every OPPORTUNISTIC_EVERY_S.
    """
    global _last_started
    if not _kept_here.is_set():
        return
    with _guard:
        if _running.is_set() or time.monotonic() - _last_started < OPPORTUNISTIC_EVERY_S:
            return
        _running.set()
        _last_started = time.monotonic()
    threading.Thread(target=_sweep_in_background, args=(settings,), daemon=True).start()


_kept_here = threading.Event()
_running = threading.Event()
_guard = threading.Lock()
_last_started = float("-inf")


def _note_kept() -> None:
    _kept_here.set()


def _sweep_in_background(settings: Settings) -> None:
    try:
        report = sweep(settings, limit=OPPORTUNISTIC_LIMIT)
        # Everything read was published and fewer than the limit were read: nothing left here.
        if report.left == 0 and report.republished < OPPORTUNISTIC_LIMIT:
            _kept_here.clear()
    finally:
        _running.clear()


def _message(snapshot: Any) -> Message:
    fields = snapshot.to_dict() or {}
    attributes = {str(k): str(v) for k, v in dict(fields.get("attributes") or {}).items()}
    return bytes(fields["data"]), attributes


def _forget(snapshot: Any, settings: Settings) -> None:
    """Delete a republished event, unless a vendor's retry kept it again since it was read."""
    from google.api_core import exceptions as api_exceptions

    client = _client(settings)
    option = client.write_option(last_update_time=snapshot.update_time)
    attributes = (snapshot.to_dict() or {}).get("attributes") or {}
    try:
        snapshot.reference.delete(option=option, **_bounded(settings.ledger_timeout_s))
    except api_exceptions.FailedPrecondition:
        pass  # kept again after we read it: the next sweep publishes that copy (a duplicate)
    except api_exceptions.GoogleAPIError:
        pass  # still there: published again next time, and the ledger absorbs the duplicate
    log_outcome(
        "INFO",
        "kept call republished",
        outcome="republished",
        event_id=str(attributes.get("event_id") or "") or None,
        source=str(attributes.get("source") or "") or None,
    )


def _client(settings: Settings) -> firestore.Client:
    from shared.deliveries import firestore_client

    return firestore_client(settings.project_id, settings.firestore_database)


def _bounded(timeout_s: float) -> dict[str, Any]:
    # The client's default retry goes on for 60 s whatever `timeout` says: bound all of it.
    from google.api_core import retry as api_retry

    retry = api_retry.Retry(
        api_retry.if_transient_error, initial=0.05, maximum=1.0, timeout=timeout_s
    )
    return {"retry": retry, "timeout": timeout_s}
