"""What ingest accepts, dispatch can read; what it refuses, it names without echoing PII."""

from __future__ import annotations

import json
from math import isfinite
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import BadPayload
from shared.events import event_from_json, event_to_json, parse_event

CALL = {
    "source": "generic",
    "call_id": "c-1",
    "status": "answered",
    "started_at": "2026-11-27T09:30:00Z",
}
custom_values = (
    st.text(max_size=20)
    | st.integers(-(10**30), 10**30)
    | st.floats()  # NaN and both infinities included: ingest must refuse them
    | st.booleans()
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    custom=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True), custom_values
    ),
    value=st.none() | st.floats(),
    duration=st.none() | st.integers(-5, 10**20),
)
def test_any_event_ingest_accepts_round_trips_through_pubsub(
    custom: dict[str, Any], value: float | None, duration: int | None
) -> None:
    data = {**CALL, "custom": custom, "value": value, "duration_s": duration}
    non_finite = [v for v in (*custom.values(), value) if isinstance(v, float) and not isfinite(v)]
    try:
        event = parse_event(data, "US")
    except BadPayload:
        return  # refused at ingest: never published
    assert non_finite == []
    assert event_from_json(event_to_json(event)) == event


def test_infinite_custom_number_is_refused_naming_the_field() -> None:
    data = json.loads('{"custom": {"n": 1e400}}')
    with pytest.raises(BadPayload) as refused:
        parse_event({**CALL, **data}, "US")
    assert (refused.value.field, refused.value.detail) == (
        "custom.n",
        "custom.n: Input should be a finite number",
    )


def test_custom_key_that_could_be_a_phone_is_named_by_its_position() -> None:
    with pytest.raises(BadPayload) as refused:
        parse_event({**CALL, "custom": {"keyword": "x", "+12015550123": "x"}}, "US")
    assert refused.value.field == "custom.#1"
    assert "2015550123" not in refused.value.detail


def test_unknown_key_that_could_be_a_phone_is_named_by_its_position() -> None:
    with pytest.raises(BadPayload) as refused:
        parse_event({**CALL, "tel_2015550123": "x"}, "US")
    assert (refused.value.field, refused.value.detail) == (
        "(unknown field #4)",
        "(unknown field #4): Extra inputs are not permitted",
    )


def test_unknown_key_that_reads_as_a_field_name_is_named() -> None:
    with pytest.raises(BadPayload) as refused:
        parse_event({**CALL, "colour": "x"}, "US")
    assert refused.value.field == "colour"
