"""What a sequence of a platform's requests publishes, as the destinations see it."""

from __future__ import annotations

from collections.abc import Iterable

from shared.events import CallEvent


def first_per_event_id(batches: Iterable[Iterable[CallEvent]]) -> list[CallEvent]:
    """The first event per event id, in order: the delivery ledger drops every later copy, so
    this is the outcome a call's requests publish, whatever else they report."""
    first: dict[str, CallEvent] = {}
    for events in batches:
        for event in events:
            first.setdefault(event.event_id, event)
    return list(first.values())
