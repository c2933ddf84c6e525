"""What every webhook source module provides, and the request it is given."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.events import CallEvent
from shared.settings import Settings


@dataclass(frozen=True)
class WebhookRequest:
    """One vendor request as ingest received it, before anything was parsed."""

    method: str
    subpath: str  # the path after /{source}: "" or e.g. "/status"
    query: str  # the raw query string, undecoded
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    public_url: str  # the URL the vendor called, as it signed it
    received_at: datetime

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Parsed:
    """What a webhook amounts to: events to publish, or a note saying why there are none."""

    events: Sequence[CallEvent]
    note: str | None = None
    # Extra response headers a handshake needs (RingCentral echoes its Validation-Token).
    headers: Mapping[str, str] = field(default_factory=dict)


class Source(Protocol):
    """A vendor module: a name, the content types it accepts, `verify` and `parse`."""

    NAME: str
    CONTENT_TYPES: frozenset[str]

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        """Raise BadSignature unless the raw request is authentic and fresh."""

    def parse(self, request: WebhookRequest, settings: Settings) -> Parsed:
        """Turn a verified request into call events; raise BadPayload if it can't be read."""


def constant_time_in(candidate: str, accepted: Sequence[str]) -> bool:
    """True when `candidate` equals any accepted value, compared in constant time each."""
    candidate_bytes = candidate.encode()
    return any(hmac.compare_digest(candidate_bytes, value.encode()) for value in accepted)
