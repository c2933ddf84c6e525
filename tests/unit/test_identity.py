"""Client ids for hits: the event's own, a synthesized stable one, or a skip."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.errors import MissingClientId
from shared.events import CallEvent, parse_event
from shared.hits.identity import client_id_for, synthesized_client_id

# GA's client id: a random 32-bit-ish number, a dot, the first-seen Unix seconds.
GA_CLIENT_ID = re.compile(r"^\d{1,10}\.\d{10}$")


def call(**overrides: Any) -> CallEvent:
    return parse_event(
        {
            "source": "generic",
            "call_id": "CA-1001",
            "status": "answered",
            "started_at": "2024-05-01T12:00:00Z",
            **overrides,
        },
        "US",
    )


def test_event_client_id_is_used_whatever_the_policy() -> None:
    event = call(client_id="GA1.2.1760224793.1424413995")
    assert client_id_for(event, "synthesize") == "1760224793.1424413995"
    assert client_id_for(event, "skip") == "1760224793.1424413995"


def test_synthesized_client_id_has_the_ga_shape() -> None:
    assert GA_CLIENT_ID.fullmatch(synthesized_client_id(call()))


def test_synthesized_client_id_ends_with_the_call_start_in_seconds() -> None:
    assert synthesized_client_id(call()).endswith(".1714564800")


def test_synthesized_client_id_is_stable_for_one_event_id() -> None:
    assert synthesized_client_id(call()) == synthesized_client_id(call())


def test_synthesized_client_id_differs_between_events() -> None:
    assert synthesized_client_id(call(call_id="CA-1")) != synthesized_client_id(
        call(call_id="CA-2")
    )


def test_synthesize_policy_gives_the_synthesized_id_when_none_was_sent() -> None:
    event = call()
    assert client_id_for(event, "synthesize") == synthesized_client_id(event)


def test_skip_policy_raises_missing_client_id_when_none_was_sent() -> None:
    with pytest.raises(MissingClientId) as raised:
        client_id_for(call(), "skip")
    assert raised.value.reason == "missing_client_id"
