"""Firestore writes of one document in one Commit, built from protobuf messages.

The delivery ledger's common path (shared/deliveries.py) makes two writes per message: a create
that fails if the document exists, and a merge of a few fields. These are the requests
google-cloud-firestore builds for `document.create(fields)` and `document.set(fields,
merge=True)`, sent through a generated Firestore client made as the library makes its own: the
library's DocumentReference, WriteBatch and proto-plus layers cost about 40 % of the call's
client CPU (issue 13).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core.datetime_helpers import DatetimeWithNanoseconds

# Loaded by google.api_core already, so no cost to a cold start (no stubs: mypy sees Any).
from google.protobuf.timestamp_pb2 import Timestamp  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from google.cloud import firestore
    from google.cloud.firestore_v1.services.firestore import FirestoreClient

# google-cloud-firestore's channel options (base_client.py `_GRPC_MSG_SIZE_OPTIONS`, private).
_MESSAGE_SIZE_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class OneWriteCommits:
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
        self._commit_request_pb = firestore.CommitRequest.pb()
        self._commit_response = firestore.CommitResponse
        self._write = write.Write.pb()
        self._document = document.Document.pb()
        self._value = document.Value.pb()
        self._must_not_exist = common.Precondition.pb()(exists=False)
        self._mask = common.DocumentMask.pb()

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
        request_pb = self._commit_request_pb(database=self._database, writes=[write])
        # `wrap` shares the protobuf instead of copying it; the generated `commit` adds the
        # routing header (`x-goog-request-params: database=...`) itself.
        request = self._commit_request.wrap(request_pb)
        response = self._api.commit(request=request, metadata=self._metadata, **call)
        update_time = self._commit_response.pb(response).write_results[0].update_time
        # What proto-plus gives the library's WriteResult.update_time: nanoseconds kept, so a
        # precondition on it matches the document exactly.
        kept: datetime = DatetimeWithNanoseconds.from_timestamp_pb(update_time)  # type: ignore[no-untyped-call]
        return kept

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


def commits_for(client: firestore.Client) -> OneWriteCommits:
    """The common-path writer for the library client's database and Firestore (or emulator)."""
    # The library keeps its `database` argument and FIRESTORE_EMULATOR_HOST, read when the
    # client was made, in `_database` and `_emulator_host` (base_client.py), with no public
    # accessor: read here, the rare paths and the common one always reach the same Firestore.
    return _commits(client.project, client._database, client._emulator_host)


@functools.cache
def _commits(project: str, database: str, emulator_host: str | None) -> OneWriteCommits:
    """One generated client per (project, database, emulator), made as base_client.py does.

    Its own client rather than the library client's (`_firestore_api`, private): the library's
    channel then opens only if a rare path runs.
    """
    from google.cloud.firestore_v1.base_client import BaseClient
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
            scopes=BaseClient.SCOPE,
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
    return OneWriteCommits(api, database_name, metadata)
