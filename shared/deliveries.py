"""The delivery ledger: one Firestore document per (destination, source, event id) sent.

A hit is not idempotent, and the same event reaches dispatch more than once (vendor retries,
Pub/Sub redeliveries). Before sending, dispatch claims the pair with an atomic create; a pair
already sent is acknowledged without sending again. Only sends are remembered: a claim whose
attempt failed is released, so Pub/Sub's redelivery or an operator's replay can still send it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

# Loaded by google.api_core already, so no cost to a cold start (no stubs: mypy sees Any).
from google.protobuf.timestamp_pb2 import Timestamp  # type: ignore[import-untyped]

from shared.errors import DeliveryInFlight, LedgerUnavailable
from shared.settings import Settings

if TYPE_CHECKING:
    # Imported when the first client is made: importing this module (as every entry point does
    # through dispatch) must not load Firestore's client, ~0.1-0.3 s of a cold start.
    from google.cloud import firestore
    from google.cloud.firestore_v1.services.firestore import FirestoreClient

# Longer than anything can bring an event back: the dead-letter hold keeps it 31 days for replay.
KEEP_FOR = timedelta(days=35)
SENDING, SENT = "sending", "sent"

EMULATOR_HOST_VARIABLE = "FIRESTORE_EMULATOR_HOST"
# What google-cloud-firestore's base_client.py asks for: its SCOPE, and its channel options.
_SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/datastore",
)
_MESSAGE_SIZE_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
    _commits: _Commits | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.client is not None:
            # A frozen dataclass sets a derived field this way (the dataclasses docs' own advice).
            object.__setattr__(self, "_commits", _commits_for(self.client))

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


class _Commits:
    """The ledger's common-path writes as one-write Commit requests on the generated client.

    The same requests the library builds for `document.create(fields)` and
    `document.set(fields, merge=True)` (`_helpers.pbs_for_create`, `pbs_for_set_with_merge`),
    built from the protobuf messages directly: the library's DocumentReference, WriteBatch and
    proto-plus layers cost more client CPU than the rest of the call (issue 13).
    """

    def __init__(self, api: FirestoreClient, database: str, metadata: tuple[tuple[str, str], ...]):
        from google.cloud.firestore_v1.types import common, document, firestore, write

        self._api = api
        self._documents = f"{database}/documents"
        self._database = database
        self._metadata = metadata
        # proto-plus's `pb()` is the plain protobuf class (proto/message.py): building those
        # skips proto-plus's per-field marshalling.
        self._commit_request = firestore.CommitRequest
        self._commit_response = firestore.CommitResponse
        self._write = write.Write.pb()
        self._document = document.Document.pb()
        self._value = document.Value.pb()
        self._must_not_exist = common.Precondition.pb()(exists=False)
        self._mask = common.DocumentMask.pb()
        # What proto-plus gives the library's WriteResult.update_time: nanoseconds kept, so a
        # precondition on it matches the document exactly.
        self._datetime_of: Callable[[Any], datetime] = DatetimeWithNanoseconds.from_timestamp_pb

    def document_name(self, collection: str, document_id: str) -> str:
        """The document's resource name: `projects/{p}/databases/{d}/documents/{c}/{id}`."""
        return f"{self._documents}/{collection}/{document_id}"

    def create(self, name: str, fields: Mapping[str, object], call: dict[str, Any]) -> datetime:
        """Create the document, failing with AlreadyExists if it exists; its update time."""
        update = self._document(name=name, fields=self._encode(fields))
        return self._commit(self._write(update=update, current_document=self._must_not_exist), call)

    def merge(self, name: str, fields: Mapping[str, object], call: dict[str, Any]) -> datetime:
        """Write these fields, keeping the document's others, creating it if missing.

        Each name is one plain field (no dots): the mask takes it as a field path unquoted.
        """
        update = self._document(name=name, fields=self._encode(fields))
        # What set(merge=True) sends: every field written is in the mask, sorted.
        mask = self._mask(field_paths=sorted(fields))
        return self._commit(self._write(update=update, update_mask=mask), call)

    def _commit(self, write: Any, call: dict[str, Any]) -> datetime:
        request_pb = self._commit_request.pb()(database=self._database, writes=[write])
        # `wrap` shares the protobuf instead of copying it; the generated `commit` adds the
        # routing header (`x-goog-request-params: database=...`) itself.
        request = self._commit_request.wrap(request_pb)
        response = self._api.commit(request=request, metadata=self._metadata, **call)
        return self._datetime_of(self._commit_response.pb(response).write_results[0].update_time)

    def _encode(self, fields: Mapping[str, object]) -> dict[str, Any]:
        return {key: self._encode_value(value) for key, value in fields.items()}

    def _encode_value(self, value: object) -> Any:
        if isinstance(value, str):
            return self._value(string_value=value)
        if isinstance(value, datetime):
            return self._value(timestamp_value=self._timestamp_of(value))
        raise TypeError(f"the ledger writes strings and datetimes, not {type(value).__name__}")

    def _timestamp_of(self, when: datetime) -> Any:
        # As google-cloud-core's _datetime_to_pb_timestamp, which the library uses: a naive
        # datetime is UTC, and seconds round down (so nanos are never negative).
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds, micros = divmod((when - _EPOCH) // _MICROSECOND, 1_000_000)
        return Timestamp(seconds=seconds, nanos=micros * 1000)


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


def _commits_for(client: firestore.Client) -> _Commits:
    """The common-path writer for the library client's database and Firestore (or emulator)."""
    # The library keeps its `database` argument in `_database` (base_client.py) and has no
    # public accessor; the emulator switch is read from the environment, as the library does.
    return _commits(client.project, client._database, os.environ.get(EMULATOR_HOST_VARIABLE))


@functools.cache
def _commits(project: str, database: str, emulator_host: str | None) -> _Commits:
    """One generated client per (project, database, emulator), made as base_client.py does.

    Its own client rather than the library client's (`_firestore_api`, private): the library's
    channel then opens only if a rare path runs.
    """
    from google.cloud.firestore_v1.services.firestore import FirestoreClient
    from google.cloud.firestore_v1.services.firestore.transports import FirestoreGrpcTransport

    database_name = f"projects/{project}/databases/{database}"
    # base_client.py's `_rpc_metadata`: every call names its database in this header.
    metadata: tuple[tuple[str, str], ...] = (("google-cloud-resource-prefix", database_name),)
    if emulator_host is None:
        host = FirestoreClient.DEFAULT_ENDPOINT
        # Application default credentials, a 30 s keepalive (base_client.py's channel options).
        channel = FirestoreGrpcTransport.create_channel(
            host,
            scopes=_SCOPES,
            options=[("grpc.keepalive_time_ms", 30000), *_MESSAGE_SIZE_OPTIONS],
        )
    else:
        import grpc  # type: ignore[import-untyped]

        host = emulator_host
        # base_client.py's `_emulator_channel`: insecure, and the emulator wants an owner token.
        token = ("Authorization", "Bearer owner")
        channel = grpc.insecure_channel(host, options=[token, *_MESSAGE_SIZE_OPTIONS])
        metadata += (("authorization", "Bearer owner"),)
    api = FirestoreClient(transport=FirestoreGrpcTransport(host=host, channel=channel))
    return _Commits(api, database_name, metadata)


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
