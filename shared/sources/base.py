"""What every webhook source module provides, and the request it is given."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.errors import BadSignature
from shared.events import CallEvent
from shared.settings import Settings

POST_ONLY = frozenset({"POST"})


@dataclass(frozen=True)
class WebhookRequest:
    """One vendor request as ingest received it, before anything was parsed."""

    method: str
    subpath: str  # the path after /{source}: "" or e.g. "/status"
    query: str  # the raw query string, undecoded
    headers: Mapping[str, str]  # lower-case names; a repeated header's values comma-joined
    body: bytes
    public_url: str  # the URL the vendor called, as it signed it
    received_at: datetime

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def auth_header(self, name: str, *, list_valued: bool = False) -> str:
        """The single value of an authentication header ("" when absent).

        WSGI servers join a repeated header's values with commas, and no signature or token
        we read contains one unless the scheme defines a list (`list_valued`). Raises
        BadSignature for a header sent twice: which copy was signed is anybody's guess.
        """
        key = name.lower()
        value = self.headers.get(key, "")
        if "," in value and not list_valued:
            raise BadSignature(f"the {key} header was sent more than once")
        return value


@dataclass(frozen=True)
class Parsed:
    """What a webhook amounts to: events to publish, or a note saying why there are none."""

    events: Sequence[CallEvent]
    note: str | None = None
    # Extra response headers a handshake needs (RingCentral echoes its Validation-Token).
    headers: Mapping[str, str] = field(default_factory=dict)
    # Some vendors count only 200 as delivered (Ringostat, RingCentral's handshake).
    status: int = 202


class Source(Protocol):
    """A vendor module: a name, its HTTP methods, content types and credentials' places, `verify`
    and `parse`. The OpenAPI document (shared/openapi.py) is built from these declarations."""

    NAME: str
    METHODS: frozenset[str]
    CONTENT_TYPES: frozenset[str]
    # Headers `verify` (or a handshake) reads, spelt as the vendor documents them.
    AUTH_HEADERS: tuple[str, ...]
    # Query parameters `verify` reads.
    AUTH_QUERY: tuple[str, ...]

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        """Raise BadSignature unless the raw request is authentic and fresh."""

    def parse(self, request: WebhookRequest, settings: Settings) -> Parsed:
        """Turn a verified request into call events; raise BadPayload if it can't be read."""


def constant_time_in(candidate: str, accepted: Sequence[str]) -> bool:
    """True when `candidate` equals any accepted value, compared in constant time each."""
    candidate_bytes = candidate.encode()
    return any(hmac.compare_digest(candidate_bytes, value.encode()) for value in accepted)
