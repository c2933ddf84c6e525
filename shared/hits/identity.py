"""Which client id a hit carries when the caller's web visitor is unknown."""

from __future__ import annotations

import hashlib

from shared.errors import MissingClientId
from shared.events import CallEvent
from shared.setting_parsers import MissingClientIdPolicy


def client_id_for(event: CallEvent, policy: MissingClientIdPolicy) -> str:
    """The event's client id, or one derived from its event id under `synthesize`.

    Raises MissingClientId under `skip` when the event has none.
    """
    if event.client_id:
        return event.client_id
    if policy == "skip":
        raise MissingClientId("event has no client_id and this destination skips such calls")
    return synthesized_client_id(event)


def synthesized_client_id(event: CallEvent) -> str:
    """A client id in GA's `<random>.<first seen seconds>` shape, stable for one event id.

    Derived from the event id, so a redelivery yields the same id and GA counts one user.
    """
    random_part = int(hashlib.sha256(event.event_id.encode()).hexdigest()[:8], 16) % 10**10
    return f"{random_part}.{int(event.started_at.timestamp())}"
